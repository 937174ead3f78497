import { WaitingError, type Job, type Processor } from 'bullmq';
import type { EncodeJob, EncodeResult } from '../core/job/contract.ts';
import type { Logger } from '../core/log.ts';
import type { AbortReason } from './abort-reasons.ts';
import { withDeadline } from '../core/deadline.ts';
import { lockCheckMsFor, lockLost } from './lock-watch.ts';

/** What became of a job this worker held while it was stopping. */
export type StopOutcomeKind = 'finished' | 'handedBack' | 'abandoned' | 'lost';

/**
 * The jobs a worker is running and what it knows about their locks. Each job gets an
 * AbortSignal of its own, so one job can be interrupted (its lock is lost) or all of them
 * (stopping) with a reason, whatever state BullMQ's own controller is in.
 */
export interface HeldJobs {
  /** The processor BullMQ runs: `inner` with a signal of this worker's per job. */
  wrap(inner: Processor<EncodeJob, EncodeResult>): Processor<EncodeJob, EncodeResult>;
  /** The job a signal given to the processor belongs to. */
  jobOf(signal: AbortSignal | undefined): string | undefined;
  ids(): string[];
  /** Stops one job's encode: its lock is gone, another worker may hold the job already. */
  markLost(jobId: string, why: string): void;
  /** BullMQ renewed these locks just now. */
  renewed(jobIds: readonly string[]): void;
  /** From now on jobs end as 'finished', 'handedBack', ... in outcomes(). */
  stopping(): void;
  /** Interrupts every job but the lost ones, for the processor to hand back. */
  handBackAll(): void;
  /** Resolves once no job is held, or after `ms`. */
  emptied(ms: number): Promise<void>;
  outcomes(): ReadonlyMap<string, StopOutcomeKind>;
  /** For the processor before its rename: does this attempt still hold the job's lock? */
  lockHeld(job: Job, token: string | undefined): Promise<boolean>;
  /** Starts comparing each lock's last renewal with lock_seconds; returns the stopper. */
  watch(): () => void;
}

interface Held {
  controller: AbortController;
  renewedAt: number;
  lost: boolean;
  handingBack: boolean;
}

export function createHeldJobs(lockSeconds: number, log: Logger): HeldJobs {
  const lockMs = lockSeconds * 1000;
  const held = new Map<string, Held>();
  const jobOfSignal = new WeakMap<AbortSignal, string>();
  const outcomes = new Map<string, StopOutcomeKind>();
  let whenEmpty: (() => void)[] = [];
  let isStopping = false;

  const handBack = (h: Held) => {
    if (h.lost || h.handingBack) return;
    h.handingBack = true;
    h.controller.abort({ kind: 'stopping' } satisfies AbortReason);
  };
  const self: HeldJobs = {
    wrap(inner) {
      return async (job, token, signal) => {
        const jobId = String(job.id);
        const controller = new AbortController();
        const jobSignal = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
        // processedOn is when this worker took the job, i.e. when its lock was set.
        const h: Held = {
          controller,
          renewedAt: job.processedOn ?? Date.now(),
          lost: false,
          handingBack: false,
        };
        held.set(jobId, h);
        jobOfSignal.set(jobSignal, jobId);
        // Fetched as the stop began: nothing done yet, so it goes straight back.
        if (isStopping) handBack(h);
        try {
          const result = await inner(job, token, jobSignal);
          // A WaitingError makes BullMQ leave the job alone: it is someone else's now.
          if (h.lost) throw new WaitingError();
          if (isStopping) outcomes.set(jobId, 'finished');
          return result;
        } catch (err) {
          if (h.lost) {
            if (isStopping) outcomes.set(jobId, 'lost');
            throw new WaitingError();
          }
          if (isStopping) {
            // Handing back failed (the broker refused or went away): the job stays where it
            // is until its lock expires and another worker's stalled check takes it.
            const waiting = err instanceof WaitingError || (err as Error).name === 'WaitingError';
            outcomes.set(jobId, !h.handingBack ? 'finished' : waiting ? 'handedBack' : 'abandoned');
          }
          throw err;
        } finally {
          held.delete(jobId);
          if (held.size === 0) {
            for (const resolve of whenEmpty) resolve();
            whenEmpty = [];
          }
        }
      };
    },
    jobOf: (signal) => (signal ? jobOfSignal.get(signal) : undefined),
    ids: () => [...held.keys()],
    markLost(jobId, why) {
      const h = held.get(jobId);
      if (!h || h.lost) return;
      h.lost = true;
      log.warn(
        { job: jobId, why },
        "lock lost: stopping its encode; the job is another worker's now, so it is neither handed back nor completed here",
      );
      h.controller.abort({ kind: 'lock-lost' } satisfies AbortReason);
    },
    renewed(jobIds) {
      const now = Date.now();
      for (const jobId of jobIds) {
        const h = held.get(jobId);
        if (h) h.renewedAt = now;
      }
    },
    stopping() {
      isStopping = true;
    },
    handBackAll() {
      for (const h of held.values()) handBack(h);
    },
    async emptied(ms) {
      if (held.size === 0) return;
      await withDeadline(new Promise<void>((resolve) => whenEmpty.push(resolve)), ms);
    },
    outcomes: () => outcomes,
    /**
     * Extending the lock answers it in one atomic step (Redis checks the token). No answer in
     * time counts as no: writing a proxy for a job someone else runs is worse than an attempt
     * retried.
     */
    async lockHeld(job, token) {
      const jobId = String(job.id);
      const h = held.get(jobId);
      if (!token || h?.lost) return false;
      try {
        const answer = await withDeadline(
          job.extendLock(token, lockMs),
          Math.min(5000, lockMs / 2),
        );
        if (answer === 1) {
          if (h) h.renewedAt = Date.now();
          return true;
        }
        if (answer === 0) self.markLost(jobId, 'the lock belongs to another worker');
        return false;
      } catch (err) {
        log.warn({ err, job: jobId }, 'could not confirm the job lock');
        return false;
      }
    },
    watch() {
      // BullMQ only reports a renewal Redis refused; one that never got an answer (Redis
      // away, this process paused) is noticed here, once the lock has run out whatever Redis
      // will say.
      const timer = setInterval(() => {
        const now = Date.now();
        for (const [jobId, h] of held) {
          if (!h.lost && lockLost(h.renewedAt, now, lockMs)) {
            self.markLost(jobId, `no lock renewal for worker.lock_seconds (${lockSeconds} s)`);
          }
        }
      }, lockCheckMsFor(lockMs));
      timer.unref();
      return () => clearInterval(timer);
    },
  };
  return self;
}
