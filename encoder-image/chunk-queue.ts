import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChunkJob } from '../core/job/contract.ts';

/** The job name of a chunk of a long clip. */
export const CHUNK_JOB = 'chunk';

/** Where a clip's job puts its chunks: BullMQ children of the clip's own job. */
export interface ChunkQueue {
  /** Adds chunk jobs as children of the clip's job; an id already there is left as it is. */
  add(clip: Job, chunks: readonly { id: string; data: ChunkJob }[]): Promise<void>;
  /** BullMQ's state of a job, 'unknown' when there is none. */
  state(id: string): Promise<string>;
  /** Removes a chunk job unless a worker holds it; true when it is gone. */
  remove(id: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface ChunkQueueOptions {
  connection: Redis;
  name: string;
  attempts: number;
  keepSeconds: number;
}

/** First retry of a chunk after a transient failure, doubled for each later one (as clips). */
const BACKOFF_MS = 5_000;

export function createChunkQueue(opts: ChunkQueueOptions): ChunkQueue {
  const queue = new Queue<ChunkJob>(opts.name, { connection: opts.connection });
  queue.on('error', () => {});
  return {
    async add(clip, chunks) {
      await queue.addBulk(
        chunks.map((c) => ({
          name: CHUNK_JOB,
          data: c.data,
          opts: {
            jobId: c.id,
            parent: { id: String(clip.id), queue: clip.queueQualifiedName },
            // The clip's job runs as soon as a chunk fails for good, and fails the clip with
            // the chunk's reason; it never waits on a child that will not finish.
            continueParentOnFailure: true,
            attempts: opts.attempts,
            backoff: { type: 'exponential', delay: BACKOFF_MS },
            removeOnComplete: { age: opts.keepSeconds },
            removeOnFail: { age: opts.keepSeconds },
            // Next in line rather than behind every short clip already waiting, so a long
            // clip's chunks spread over the workers as they free up.
            lifo: true,
          },
        })),
      );
    },
    async state(id) {
      return queue.getJobState(id);
    },
    async remove(id) {
      return (await queue.remove(id, { removeChildren: false }).catch(() => 0)) === 1;
    },
    async close() {
      await queue.close().catch(() => {});
    },
  };
}
