import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { jobQueueName } from '../../core/job/keys.ts';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { EncodeJob, EncodeResult } from '../../core/job/contract.ts';
import { createFfmpegRunner, type FfmpegRunner } from '../../encoder-image/ffmpeg-runner.ts';
import { createProber } from '../../encoder-image/probe-runner.ts';
import { createProcessor } from '../../encoder-image/processor.ts';
import { FFMPEG, FFPROBE } from './media.ts';

/**
 * The real processor driven by a real BullMQ Worker, with the hooks the write-safety tests
 * need: a wrapped ffmpeg runner (still the real ffmpeg), the lock check done with extendLock,
 * and every error the processor threw.
 */
export interface ProxyWorker {
  id: string;
  worker: Worker<EncodeJob, EncodeResult>;
  /** What the processor threw, in order. */
  thrown: unknown[];
  close(): Promise<void>;
}

export interface ProxyWorkerOptions {
  id: string;
  lockMs?: number;
  stalledIntervalMs?: number;
  /** Wraps the real runner, e.g. to pause after ffmpeg finished. */
  ffmpeg?: (real: FfmpegRunner) => FfmpegRunner;
  /** No stalled-job checks from this worker (another one does them). */
  skipStalledCheck?: boolean;
}

export const realFfmpeg = (): FfmpegRunner => createFfmpegRunner(FFMPEG);

export async function startProxyWorker(
  redisUrl: string,
  queue: string,
  opts: ProxyWorkerOptions,
): Promise<ProxyWorker> {
  const lockMs = opts.lockMs ?? 3000;
  const thrown: unknown[] = [];
  let worker: Worker<EncodeJob, EncodeResult> | undefined;
  const processor = createProcessor({
    ffmpeg: opts.ffmpeg ? opts.ffmpeg(realFfmpeg()) : realFfmpeg(),
    prober: createProber(FFPROBE),
    logger: pino({ level: 'silent' }),
    workerId: opts.id,
    jobExpiresSec: 3600,
    lockHeld: async (job, token) =>
      token !== undefined && (await job.extendLock(token, lockMs)) === 1,
    jobActive: async (jobId) => (await Job.fromId(worker!, jobId))?.isActive() ?? false,
  });
  worker = new Worker<EncodeJob, EncodeResult>(
    jobQueueName(queue),
    async (job, token, signal) => {
      try {
        return await processor(job, token, signal);
      } catch (err) {
        thrown.push(err);
        throw err;
      }
    },
    {
      connection: { url: redisUrl },
      concurrency: 1,
      lockDuration: lockMs,
      stalledInterval: opts.stalledIntervalMs ?? lockMs,
      maxStalledCount: 3,
      skipStalledCheck: opts.skipStalledCheck ?? false,
    },
  );
  worker.on('error', () => {}); // lock errors of a stale attempt are expected here
  await worker.waitUntilReady();
  return { id: opts.id, worker, thrown, close: () => worker!.close() };
}

/** A queue, its events and a plain Redis client, on a fresh queue name. */
export async function openQueue(redisUrl: string) {
  const name = `w${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const connection = { url: redisUrl };
  const queue = new Queue<EncodeJob, EncodeResult>(jobQueueName(name), { connection });
  const events = new QueueEvents(jobQueueName(name), { connection });
  await events.waitUntilReady();
  const redis = new Redis(redisUrl);
  return {
    name,
    queue,
    events,
    redis,
    /** What a lock expiring looks like: the job's lock key is gone. */
    dropLock: (jobId: string) => redis.del(`bull:${jobQueueName(name)}:${jobId}:lock`),
    async close() {
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
      redis.disconnect();
    },
  };
}

/** Polls until `fn` is true, failing after a generous deadline. */
export async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A gate a test opens by hand. */
export function gate(): { wait: Promise<void>; open: () => void; reached: boolean } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open, reached: false };
}
