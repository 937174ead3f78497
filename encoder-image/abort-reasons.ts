/**
 * Why a running job's AbortSignal fired. The processor hands a job back to the queue only when
 * its worker is stopping; a job whose lock is lost belongs to someone else now, so it is neither
 * handed back nor completed: its ffmpeg is stopped and nothing is written.
 */
export type AbortReason =
  | { kind: 'stopping' }
  | { kind: 'lock-lost' }
  | { kind: 'stalled'; seconds: number }
  /** Its batch was cancelled (from the monitor): it ends failed, nothing of it kept. */
  | { kind: 'cancelled' };

export function abortReasonOf(signal: AbortSignal | undefined): AbortReason | undefined {
  if (!signal?.aborted) return undefined;
  const r = signal.reason as Partial<AbortReason> | undefined;
  const kinds = ['stopping', 'lock-lost', 'stalled', 'cancelled'];
  if (r && kinds.includes(r.kind as string)) {
    return r as AbortReason;
  }
  // BullMQ's own cancel (cancelAllJobs with a string) means the worker is stopping.
  return { kind: 'stopping' };
}
