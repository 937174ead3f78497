import type { Job } from 'bullmq';
import type { FarmStats, JobEnd, JobKind, JobOutcome } from '../core/broker/farm-stats.ts';
import { chunkResultSchema, encodeResultSchema } from '../core/job/contract.ts';
import { decodeJobError } from '../core/job/job-error.ts';
import type { Logger } from '../core/log.ts';
import { CHUNK_JOB } from './chunk-queue.ts';
import { ENCODE_JOB, type AnyProcessor } from './job-dispatch.ts';

/**
 * Counts this worker's job ends in the farm's statistics (core/broker/farm-stats.ts). The final
 * outcome comes from BullMQ's own `completed` and `failed` events, because only BullMQ knows
 * whether a failure is retried (then `finishedOn` stays unset); the time each run took is
 * measured around the processor. A record never fails or delays a job: it is sent after the job
 * moved on, and its errors are logged.
 */
export interface JobStatsRecorder {
  /** Measures each run of `processor` (clip and chunk jobs; other kinds pass through). */
  wrap(processor: AnyProcessor): AnyProcessor;
  /** The worker's `completed` event. */
  completed(job: Job, result: unknown): void;
  /** The worker's `failed` event: counted as failed once BullMQ gave up on the job. */
  failed(job: Job | undefined, err: Error): void;
}

export interface JobStatsOptions {
  stats: FarmStats;
  workerId: string;
  logger: Logger;
  now?: () => number;
}

/** A run's time waits this long for its job's event before it is counted without one. */
const PARKED_MS = 60_000;

/** What a job's end is decided from: the BullMQ job's own fields. */
export interface JobFacts {
  name: string;
  /** When it was queued. */
  timestamp: number;
  /** When the run that ended it was taken. */
  processedOn?: number;
  /** Set once it ended for good. */
  finishedOn?: number;
}

export function kindOf(name: string): JobKind | undefined {
  if (name === CHUNK_JOB) return 'chunk';
  return name === ENCODE_JOB || name === '' ? 'clip' : undefined;
}

/** Errors by which a run hands its job on instead of ending it: BullMQ emits no event then. */
export function handsOn(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'DelayedError' || name === 'WaitingError' || name === 'WaitingChildrenError';
}

const seconds = (ms: number) => Math.max(0, ms) / 1000;

/**
 * A completed job's outcome. A clip's proxy counts unless it was reused; its frames count
 * unless its chunks encoded them (they count their own). A chunked clip was taken again to be
 * joined, so its wait ends where its encode began (its result counts from the split). Pure.
 */
export function completedOutcome(job: JobFacts, result: unknown): JobOutcome | undefined {
  const kind = kindOf(job.name);
  if (!kind) return undefined;
  const ended = job.finishedOn ?? job.processedOn ?? job.timestamp;
  const taken = job.processedOn ?? ended;
  if (kind === 'chunk') {
    const r = chunkResultSchema.safeParse(result).data;
    return {
      kind,
      status: 'completed',
      waitSec: seconds(taken - job.timestamp),
      runSec: r ? r.encodeSeconds : seconds(ended - taken),
      proxies: 0,
      frames: r && !r.reused ? r.frames : 0,
    };
  }
  const r = encodeResultSchema.safeParse(result).data;
  const began = r?.chunks !== undefined ? ended - r.encodeSeconds * 1000 : taken;
  return {
    kind,
    status: 'completed',
    waitSec: seconds(began - job.timestamp),
    runSec: r ? r.encodeSeconds : seconds(ended - taken),
    proxies: r && !r.reused ? 1 : 0,
    frames: r && !r.reused && r.chunks === undefined ? r.frames : 0,
  };
}

/** A failed job's outcome, or undefined while BullMQ still retries it. Pure. */
export function failedOutcome(job: JobFacts, err: Error): JobOutcome | undefined {
  const kind = kindOf(job.name);
  if (!kind || !job.finishedOn) return undefined;
  const taken = job.processedOn ?? job.finishedOn;
  return {
    kind,
    status: 'failed',
    code: decodeJobError(err.message).code,
    waitSec: seconds(taken - job.timestamp),
    runSec: seconds(job.finishedOn - taken),
    proxies: 0,
    frames: 0,
  };
}

export function createJobStats(opts: JobStatsOptions): JobStatsRecorder {
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  /** Runs that ended, by job id, until their job's event says how. */
  const parked = new Map<string, { busyMs: number; at: number }>();

  /** This job's run time, and that of runs whose event never came (their job moved on). */
  const takeBusy = (jobId: string | undefined): number => {
    let busy = 0;
    const t = now();
    for (const [id, p] of parked) {
      if (id === jobId || t - p.at > PARKED_MS) {
        busy += p.busyMs;
        parked.delete(id);
      }
    }
    return busy;
  };
  const send = (end: JobEnd, jobId: string | undefined) => {
    opts.stats.record(end).catch((err: unknown) => {
      log.warn({ err, job: jobId }, 'job end not counted in the farm statistics');
    });
  };
  const ended = (job: Job, outcome: JobOutcome | undefined) => {
    const jobId = String(job.id);
    const busyMs = takeBusy(jobId);
    const jobsDone = outcome ? 1 : 0;
    send(
      {
        at: job.finishedOn ?? now(),
        worker: { id: opts.workerId, busyMs, jobsDone },
        ...(outcome && { outcome }),
      },
      jobId,
    );
  };

  return {
    wrap(processor) {
      return async (job, token, signal) => {
        if (!kindOf(job.name)) return processor(job, token, signal);
        const jobId = String(job.id);
        const started = now();
        const park = () => parked.set(jobId, { busyMs: now() - started, at: now() });
        try {
          const result: unknown = await processor(job, token, signal);
          park();
          return result;
        } catch (err) {
          park();
          if (handsOn(err)) {
            // No event follows: this run is counted now, as busy time alone.
            send(
              { at: now(), worker: { id: opts.workerId, busyMs: takeBusy(jobId), jobsDone: 0 } },
              jobId,
            );
          }
          throw err;
        }
      };
    },
    completed(job, result) {
      if (!kindOf(job.name)) return;
      ended(job, completedOutcome(job, result));
    },
    failed(job, err) {
      if (!job || !kindOf(job.name)) return;
      ended(job, failedOutcome(job, err));
    },
  };
}
