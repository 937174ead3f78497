import type { Redis } from 'ioredis';
import { z } from 'zod';
import { frameRangeSchema } from '../job/contract.ts';
import { keys } from '../job/keys.ts';

/** How a clip was split, as its encode job recorded it. */
export const storedSplitSchema = z.strictObject({
  generation: z.number(),
  /** Epoch ms the clip was split: its encode time counts from here. */
  startedAt: z.number(),
  totalFrames: z.number().int().min(1),
  rate: z.tuple([z.number(), z.number()]),
  chunks: z.array(frameRangeSchema).min(1),
});
export type StoredSplit = z.output<typeof storedSplitSchema>;

/** Frames of a clip done so far over all its chunks, and the encoders' speed together. */
export interface ClipFrames {
  frames: number;
  fps: number;
}

/**
 * A chunked clip's shared record in Redis, written by the workers that encode its chunks and
 * read by the gateway's views: which worker has which chunk, frames done, a cancel flag. One hash
 * per clip (keys.clip), expiring with the batch records (broker.result_expires).
 */
export interface ChunkStore {
  /**
   * Records a split unless one of the same generation is there; a split of another generation is
   * replaced with all its chunks' state. Returns the split in force.
   */
  saveSplit(clipId: string, split: StoredSplit): Promise<StoredSplit>;
  split(clipId: string): Promise<StoredSplit | null>;
  /** One round trip for many clips (views); null where a clip was never split. */
  splits(clipIds: readonly string[]): Promise<(StoredSplit | null)[]>;
  started(clipId: string, index: number, worker: string): Promise<void>;
  /** A chunk's frames so far; returns the clip's. */
  progress(clipId: string, index: number, frames: number, fps: number): Promise<ClipFrames>;
  /** A chunk done (encoded or reused); returns the clip's frames. */
  finished(clipId: string, index: number, frames: number): Promise<ClipFrames>;
  /** Workers by chunk index. */
  workers(clipId: string): Promise<Map<number, string>>;
  /** Counts a finished chunk queued again because its file was missing; returns the count. */
  requeued(clipId: string, index: number): Promise<number>;
  /** The clip failed: chunks of this generation still running stop. */
  cancel(clipId: string, generation: number): Promise<void>;
  cancelled(clipId: string, generation: number): Promise<boolean>;
}

/** A running chunk's speed counts while its last report is this recent. */
const FRESH_MS = 5000;

export function createChunkStore(
  redis: Redis,
  queue: string,
  keepSeconds: number,
  now: () => number = Date.now,
): ChunkStore {
  const key = (clipId: string) => keys.clip(queue, clipId);
  const parse = (raw: string | null | undefined): StoredSplit | null => {
    if (!raw) return null;
    try {
      const r = storedSplitSchema.safeParse(JSON.parse(raw));
      return r.success ? r.data : null;
    } catch {
      return null;
    }
  };
  const sum = async (clipId: string): Promise<ClipFrames> => {
    const all = await redis.hgetall(key(clipId));
    let frames = 0;
    let fps = 0;
    const t = now();
    for (const [field, value] of Object.entries(all)) {
      if (field.startsWith('d:')) frames += Number(value) || 0;
      else if (field.startsWith('p:') && all[`d:${field.slice(2)}`] === undefined) {
        const p = JSON.parse(value) as { frames: number; fps: number; at: number };
        frames += p.frames;
        if (t - p.at < FRESH_MS) fps += p.fps;
      }
    }
    return { frames, fps };
  };
  const write = async (clipId: string, fields: Record<string, string>) => {
    await redis.multi().hset(key(clipId), fields).expire(key(clipId), keepSeconds).exec();
  };
  return {
    async saveSplit(clipId, split) {
      const [plan, cancel] = await redis.hmget(key(clipId), 'plan', 'cancel');
      const existing = parse(plan);
      if (existing?.generation === split.generation) return existing;
      // A cancel of this generation may have come before the clip was first split.
      const kept = cancel === String(split.generation) ? { cancel } : {};
      await redis
        .multi()
        .del(key(clipId))
        .hset(key(clipId), { plan: JSON.stringify(split), ...kept })
        .expire(key(clipId), keepSeconds)
        .exec();
      return split;
    },
    async split(clipId) {
      return parse(await redis.hget(key(clipId), 'plan'));
    },
    async splits(clipIds) {
      if (clipIds.length === 0) return [];
      const pipe = redis.pipeline();
      for (const id of clipIds) pipe.hget(key(id), 'plan');
      const out = (await pipe.exec()) ?? [];
      return clipIds.map((_, i) => parse(out[i]?.[1] as string | null));
    },
    async started(clipId, index, worker) {
      await write(clipId, { [`w:${index}`]: worker });
    },
    async progress(clipId, index, frames, fps) {
      await write(clipId, { [`p:${index}`]: JSON.stringify({ frames, fps, at: now() }) });
      return sum(clipId);
    },
    async finished(clipId, index, frames) {
      await write(clipId, { [`d:${index}`]: String(frames) });
      return sum(clipId);
    },
    async workers(clipId) {
      const all = await redis.hgetall(key(clipId));
      const out = new Map<number, string>();
      for (const [field, value] of Object.entries(all)) {
        if (field.startsWith('w:')) out.set(Number(field.slice(2)), value);
      }
      return out;
    },
    async requeued(clipId, index) {
      const [[, n] = []] = (await redis
        .multi()
        .hincrby(key(clipId), `r:${index}`, 1)
        .expire(key(clipId), keepSeconds)
        .exec()) ?? [[]];
      return Number(n);
    },
    async cancel(clipId, generation) {
      await write(clipId, { cancel: String(generation) });
    },
    async cancelled(clipId, generation) {
      return (await redis.hget(key(clipId), 'cancel')) === String(generation);
    },
  };
}
