import type { Redis } from 'ioredis';
import { z } from 'zod';
import {
  presetNameSchema,
  resolveLinksSchema,
  skippedFileSchema,
} from '../../core/job/contract.ts';
import { keys } from '../../core/job/keys.ts';

export const batchRecordSchema = z.strictObject({
  id: z.string(),
  createdAt: z.number(),
  label: z.string().nullable(),
  preset: presetNameSchema,
  jobIds: z.array(z.string()),
  /** Files the client did not queue, with reasons; records written before it have none. */
  skipped: z.array(skippedFileSchema).default([]),
  resolve: resolveLinksSchema.optional(),
  /** Per job (as jobIds): its source and proxy as this batch's editor names them. */
  editorPaths: z.array(z.strictObject({ source: z.string(), proxyPath: z.string() })).optional(),
});
export type BatchRecord = z.output<typeof batchRecordSchema>;

/** Which jobs were queued together; the jobs themselves live in BullMQ. */
export interface BatchStore {
  save(record: BatchRecord): Promise<void>;
  get(id: string): Promise<BatchRecord | null>;
  /** Newest first. */
  recent(limit: number): Promise<BatchRecord[]>;
}

export interface RedisBatchStoreOptions {
  redis: Redis;
  queue: string;
  /** broker.result_expires */
  keepSeconds: number;
}

export function createRedisBatchStore(options: RedisBatchStoreOptions): BatchStore {
  const { redis, queue, keepSeconds } = options;
  const indexKey = keys.batches(queue);
  const parse = (text: string | null): BatchRecord | null => {
    if (text === null) return null;
    try {
      const parsed = batchRecordSchema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  };

  return {
    async save(record) {
      await redis
        .multi()
        .set(keys.batch(queue, record.id), JSON.stringify(record), 'EX', keepSeconds)
        .zadd(indexKey, record.createdAt, record.id)
        // The index would otherwise keep the ids of long-expired records forever.
        .zremrangebyscore(indexKey, '-inf', `(${record.createdAt - keepSeconds * 1000}`)
        .expire(indexKey, keepSeconds)
        .exec();
    },
    async get(id) {
      return parse(await redis.get(keys.batch(queue, id)));
    },
    async recent(limit) {
      const ids = await redis.zrevrange(indexKey, 0, limit - 1);
      if (ids.length === 0) return [];
      const texts = await redis.mget(ids.map((id) => keys.batch(queue, id)));
      const records: BatchRecord[] = [];
      const gone: string[] = [];
      texts.forEach((text, i) => {
        const record = parse(text);
        if (record) records.push(record);
        else gone.push(ids[i]!);
      });
      if (gone.length > 0) await redis.zrem(indexKey, ...gone);
      return records;
    },
  };
}
