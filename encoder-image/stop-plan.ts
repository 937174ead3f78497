/**
 * The timeline of a worker told to stop, and what it says when it has. Pure; worker.ts owns
 * the timers. A stop must end within worker.stop_seconds whatever the broker does: BullMQ's own
 * close waits for Redis, which may never answer again.
 */
export interface StopBudget {
  /** Until then running jobs may finish. */
  finishMs: number;
  /**
   * Until then jobs still running are handed back and the queue connection closes; then
   * whatever is still held is abandoned (its lock expires and another worker takes it).
   */
  hardMs: number;
}

export function stopBudget(stopSeconds: number): StopBudget {
  const stopMs = stopSeconds * 1000;
  // Handing back is one Redis call per job; five seconds is plenty when Redis answers at all.
  const reserve = Math.min(5000, Math.floor(stopMs / 2));
  const margin = Math.min(500, Math.floor(stopMs / 10));
  return { finishMs: stopMs - reserve, hardMs: stopMs - margin };
}

export interface StopOutcome {
  finished: string[];
  handedBack: string[];
  /** Held at the deadline: left for the stalled check of another worker. */
  abandoned: string[];
  /** Lost to another worker while running: neither handed back nor completed here. */
  lost: string[];
  seconds: number;
}

/** Pure: the one line a stopped worker logs, naming every job it held. */
export function stopSummary(o: StopOutcome): string {
  const parts = [`worker stopped after ${o.seconds.toFixed(1)} s`];
  if (o.finished.length) parts.push(`finished: ${o.finished.join(', ')}`);
  if (o.handedBack.length) parts.push(`handed back to the queue: ${o.handedBack.join(', ')}`);
  if (o.abandoned.length) {
    parts.push(
      `abandoned (another worker takes them once their lock expires): ${o.abandoned.join(', ')}`,
    );
  }
  if (o.lost.length) parts.push(`lost to another worker: ${o.lost.join(', ')}`);
  if (parts.length === 1) parts.push('no job was running');
  return parts.join('; ');
}
