import type { FrameRange } from '../job/contract.ts';
import type { MediaInfo } from './media-info.ts';
import { proxyAudio, proxyDimensions, type Preset } from '../presets/presets.ts';

/**
 * Compares a finished proxy's probe with its source's: codec, size, frame count (within one
 * frame), audio stream count, timecode, rotation. Returns the problems found; empty means
 * verified. Pure.
 */
export function verifyProxy(source: MediaInfo, proxy: MediaInfo, preset: Preset): string[] {
  const problems: string[] = [];
  const sv = source.video;
  const pv = proxy.video;
  if (!sv) return ['the source has no video stream'];
  if (!pv) return ['the proxy has no video stream'];

  if (pv.codec !== preset.codec) {
    problems.push(`codec is ${pv.codec}, expected ${preset.codec} (${preset.label})`);
  }
  // Two presets of one codec (ProRes Proxy and LT, DNxHR LB and SQ) differ only here.
  if (pv.profile !== undefined && pv.profile !== preset.profile) {
    problems.push(`profile is ${pv.profile}, expected ${preset.profile} (${preset.label})`);
  }
  const want = proxyDimensions(source, preset);
  if (pv.width !== want.width || pv.height !== want.height) {
    problems.push(`size is ${pv.width}x${pv.height}, expected ${want.width}x${want.height}`);
  }
  if (pv.rotation !== 0) problems.push(`the proxy still carries a ${pv.rotation}° rotation`);

  const expected = expectedFrames(source);
  if (expected !== null) {
    if (pv.frameCount === null) problems.push(`frame count unknown, expected ${expected}`);
    else if (Math.abs(pv.frameCount - expected) > 1) {
      problems.push(`${pv.frameCount} frames, expected ${expected}`);
    }
  }
  const audio = proxyAudio(source, preset.audio).length;
  if (proxy.audio.length !== audio) {
    problems.push(`${proxy.audio.length} audio streams, expected ${audio}`);
  }
  if (source.timecode && proxy.timecode !== source.timecode) {
    problems.push(`timecode is ${proxy.timecode ?? 'missing'}, expected ${source.timecode}`);
  }
  return problems;
}

/** Frames the proxy should have: the source's, or for VFR its duration at the nominal rate. */
export function expectedFrames(source: MediaInfo): number | null {
  const v = source.video;
  if (!v) return null;
  if (v.vfr) {
    if (!(source.durationSec > 0)) return null;
    return Math.round((source.durationSec * v.frameRate[0]) / v.frameRate[1]);
  }
  return v.frameCount;
}

/**
 * Compares an encoded chunk's probe with what it should be: the preset's codec and size, video
 * only, exactly the frames of its range (a join must not gain or lose one). Pure.
 */
export function verifyChunk(
  source: MediaInfo,
  chunk: MediaInfo,
  preset: Preset,
  range: FrameRange,
  totalFrames: number,
): string[] {
  const frames = range.frames;
  const tolerance = chunkTolerance(range, totalFrames);
  const pv = chunk.video;
  if (!pv) return ['the chunk has no video stream'];
  const problems: string[] = [];
  if (pv.codec !== preset.codec) problems.push(`codec is ${pv.codec}, expected ${preset.codec}`);
  const want = proxyDimensions(source, preset);
  if (pv.width !== want.width || pv.height !== want.height) {
    problems.push(`size is ${pv.width}x${pv.height}, expected ${want.width}x${want.height}`);
  }
  if (pv.frameCount === null || Math.abs(pv.frameCount - frames) > tolerance) {
    problems.push(`${pv.frameCount ?? 'unknown'} frames, expected ${frames}`);
  }
  if (chunk.audio.length > 0) problems.push(`${chunk.audio.length} audio streams, expected none`);
  return problems;
}

/**
 * Frames a chunk may be off by: none, but the last one ends where the source ends, as a single
 * pass does, and a container's frame count (or a VFR clip's duration) is only an estimate.
 */
export function chunkTolerance(range: FrameRange, totalFrames: number): number {
  return range.start + range.frames >= totalFrames ? 1 : 0;
}
