import type { FrameRange, Progress } from '../job/contract.ts';
import type { MediaInfo, Rational } from '../media/media-info.ts';
import { expectedFrames } from '../media/verify-proxy.ts';

export interface ChunkSettings {
  chunkSeconds: number;
  minSeconds: number;
}

export interface ChunkPlan {
  /** Output frames of the whole clip (the source's, or its duration at the nominal rate). */
  totalFrames: number;
  rate: Rational;
  chunks: FrameRange[];
}

/**
 * Pure: how a clip is split, or null when it stays one job (chunking off, short, unknown frame
 * count, a still). Chunks are whole frames of output, about chunkSeconds each; a last piece
 * shorter than half a chunk joins the one before, so no chunk costs a worker more in fixed
 * cost than it encodes.
 */
export function planChunks(media: MediaInfo, settings: ChunkSettings | null): ChunkPlan | null {
  const v = media.video;
  if (!settings || !v || media.isStill) return null;
  const total = expectedFrames(media);
  const [num, den] = v.frameRate;
  if (total === null || !(total > 0) || !(num > 0) || !(den > 0)) return null;
  const seconds = (total * den) / num;
  if (!(seconds > settings.minSeconds)) return null;
  const per = Math.max(1, Math.round((settings.chunkSeconds * num) / den));
  const count = Math.max(1, Math.round(total / per));
  if (count < 2) return null;
  const chunks: FrameRange[] = [];
  for (let index = 0; index < count; index++) {
    const start = index * per;
    const end = index === count - 1 ? total : start + per;
    chunks.push({ index, start, frames: end - start });
  }
  return { totalFrames: total, rate: v.frameRate, chunks };
}

/** Pure: a chunked clip's progress as one bar, from the frames done over all its chunks. */
export function clipProgress(frames: number, fps: number, total: number, rate: Rational): Progress {
  const done = Math.min(frames, total);
  const perSec = rate[0] / rate[1];
  return {
    pct: total > 0 ? Math.min(100, (done / total) * 100) : 0,
    frame: done,
    fps,
    speed: perSec > 0 ? fps / perSec : 0,
    outSec: perSec > 0 ? done / perSec : 0,
  };
}
