import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PROBE_JOB_NAME, type ProbeJob } from '../core/job/probe-contract.ts';
import type { JobQueue } from './queue/job-queue.ts';

export type ProbeOutcome =
  { kind: 'answered'; result: unknown } | { kind: 'failed'; reason: string } | { kind: 'timeout' };

/** Probe jobs on the encode queue, as the gateway sends them and waits for their answer. */
export interface ProbeQueue {
  /** Adds a probe job and waits up to timeoutMs for a worker's answer. */
  run(data: ProbeJob, timeoutMs: number): Promise<ProbeOutcome>;
  close(): Promise<void>;
}

export function createProbeQueue(options: {
  connection: Redis;
  /**
   * The encode queue: probes go where its jobs go, so the workers that would encode answer;
   * its event stream carries the probe's completion (the job itself is removed at once).
   */
  events: JobQueue;
}): ProbeQueue {
  const queue = new Queue(options.events.name, { connection: options.connection });
  // Its connection is the caller's, which reports its own errors.
  queue.on('error', () => {});
  return {
    async run(data, timeoutMs) {
      const id = `probe-${randomBytes(8).toString('hex')}`;
      let settle: (o: ProbeOutcome) => void = () => {};
      const answer = new Promise<ProbeOutcome>((resolve) => (settle = resolve));
      // Subscribed before the job exists: a worker may answer within a millisecond.
      const unsubscribe = options.events.subscribe((e) => {
        if (e.type === 'completed' && e.jobId === id) {
          settle({ kind: 'answered', result: parsed(e.returnvalue) });
        } else if (e.type === 'failed' && e.jobId === id) {
          settle({ kind: 'failed', reason: e.failedReason });
        } else if (e.type === 'closed') {
          settle({ kind: 'timeout' });
        }
      });
      const timer = setTimeout(() => settle({ kind: 'timeout' }), timeoutMs);
      try {
        await queue.add(PROBE_JOB_NAME, data, {
          jobId: id,
          attempts: 1,
          // In front of every waiting encode: the editor is waiting for this answer.
          lifo: true,
          // A probe is an answer to one request, not a record: gone as soon as it is read.
          removeOnComplete: true,
          removeOnFail: true,
        });
        const outcome = await answer;
        // Nobody waits any more: a job still waiting must not be taken later (remove() leaves
        // one a worker holds, which then finds its deadline passed, or answers to nobody).
        if (outcome.kind === 'timeout') await queue.remove(id).catch(() => 0);
        return outcome;
      } finally {
        clearTimeout(timer);
        unsubscribe();
      }
    },
    async close() {
      await queue.close().catch(() => {});
    },
  };
}

function parsed(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
