/**
 * Why a running job's AbortSignal fired. The processor hands a job back to the queue only when
 * its worker is stopping; a job whose lock is lost belongs to someone else now, so it is neither
 * handed back nor completed: its ffmpeg is stopped and nothing is written.
 */
export type AbortReason =
  { kind: 'stopping' } | { kind: 'lock-lost' } | { kind: 'stalled'; seconds: number };

export function abortReasonOf(signal: AbortSignal | undefined): AbortReason | undefined {
  if (!signal?.aborted) return undefined;
  const r = signal.reason as Partial<AbortReason> | undefined;
  if (r && (r.kind === 'stopping' || r.kind === 'lock-lost' || r.kind === 'stalled')) {
    return r as AbortReason;
  }
  // BullMQ's own cancel (cancelAllJobs with a string) means the worker is stopping.
  return { kind: 'stopping' };
}
