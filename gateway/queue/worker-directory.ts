import type { Redis } from 'ioredis';
import { workerInfoSchema, type WorkerInfo } from '../../core/job/contract.ts';
import { keys } from '../../core/job/keys.ts';

/** The workers that registered themselves and have not expired. */
export interface WorkerDirectory {
  list(): Promise<WorkerInfo[]>;
}

export function createRedisWorkerDirectory(options: {
  redis: Redis;
  queue: string;
}): WorkerDirectory {
  const { redis, queue } = options;
  return {
    async list() {
      // SCAN, not KEYS: KEYS blocks a busy shared Redis for as long as it walks every key.
      const found = new Set<string>();
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(
          cursor,
          'MATCH',
          keys.workerPattern(queue),
          'COUNT',
          500,
        );
        cursor = next;
        for (const k of batch) found.add(k);
      } while (cursor !== '0');
      if (found.size === 0) return [];

      const texts = await redis.mget([...found]);
      const workers: WorkerInfo[] = [];
      for (const text of texts) {
        if (text === null) continue; // expired between SCAN and MGET
        try {
          const parsed = workerInfoSchema.safeParse(JSON.parse(text));
          if (parsed.success) workers.push(parsed.data);
        } catch {
          // a registration written by something else; not ours to show
        }
      }
      return workers.sort((a, b) => a.host.localeCompare(b.host) || a.id.localeCompare(b.id));
    },
  };
}
