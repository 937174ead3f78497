/**
 * When a job's lock counts as lost, and how often the queue looks for jobs of dead workers.
 * Pure; worker.ts owns the timers.
 */

/**
 * BullMQ moves a dead worker's job back to the queue at the first stalled check after its
 * lock expired, so the check interval adds to lock_seconds: at its default (the lock
 * duration) a job came back after up to twice lock_seconds. A few seconds at most keeps it
 * within lock_seconds + 5 s; one check per interval runs for the whole queue (BullMQ takes a
 * key for it), so checking often costs a farm one cheap script every few seconds.
 */
export function stalledIntervalFor(lockMs: number): number {
  return Math.max(500, Math.min(4000, Math.floor(lockMs / 4)));
}

/**
 * A lock renewed at `renewedAt` (when Redis answered) expired by `renewedAt + lockMs` at the
 * latest: Redis set it before answering. Without a later renewal it is gone, whether Redis was
 * away or this process was paused, and another worker may already hold the job.
 */
export function lockLost(renewedAt: number, now: number, lockMs: number): boolean {
  return now - renewedAt >= lockMs;
}

/** How often to compare: a loss is noticed within a second (or a quarter lock). */
export function lockCheckMsFor(lockMs: number): number {
  return Math.max(100, Math.min(1000, Math.floor(lockMs / 4)));
}
