import type { Redis } from 'ioredis';
import type { WorkerInfo } from '../core/job/contract.ts';
import { keys, WORKER_HEARTBEAT_SECONDS, WORKER_TTL_SECONDS } from '../core/job/keys.ts';
import type { Logger } from '../core/log.ts';
import type { JobTracker } from './processor.ts';

export interface Registration extends JobTracker {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps this worker's WorkerInfo in Redis for `proxima status`: refreshed on a heartbeat and on
 * every job start and end; it expires by itself when the worker dies.
 */
export function createRegistration(
  redis: Redis,
  queue: string,
  info: Omit<WorkerInfo, 'current' | 'seenAt'>,
  logger: Logger,
  onAlive?: () => void,
): Registration {
  const current = new Map<string, string>();
  const key = keys.worker(queue, info.id);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const write = async () => {
    if (stopped) return;
    const value: WorkerInfo = {
      ...info,
      current: [...current].map(([jobId, source]) => ({ jobId, source })),
      seenAt: Date.now(),
    };
    try {
      await redis.set(key, JSON.stringify(value), 'EX', WORKER_TTL_SECONDS);
      onAlive?.();
    } catch (err) {
      logger.debug({ err }, 'worker registration not refreshed');
    }
  };

  return {
    async start() {
      await write();
      timer = setInterval(() => void write(), WORKER_HEARTBEAT_SECONDS * 1000);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await redis.del(key).catch(() => undefined);
    },
    started(jobId, source) {
      current.set(jobId, source);
      void write();
    },
    ended(jobId) {
      current.delete(jobId);
      void write();
    },
  };
}
