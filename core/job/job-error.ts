import { isProximaError } from '../errors.ts';
import { jobErrorSchema, type JobError } from './contract.ts';

/**
 * BullMQ keeps only a failed job's message (`failedReason`), so a worker throws errors whose
 * message is this JSON, and the gateway decodes it back into { code, message, hint }.
 */
export function encodeJobError(err: unknown): string {
  const e: JobError = isProximaError(err)
    ? { code: err.code, message: err.message, hint: err.hint }
    : {
        code: 'INTERNAL',
        message: err instanceof Error ? err.message : String(err),
        hint: 'see the worker log for details',
      };
  return JSON.stringify(e);
}

export function decodeJobError(failedReason: string | undefined): JobError {
  if (failedReason) {
    try {
      const parsed = jobErrorSchema.safeParse(JSON.parse(failedReason));
      if (parsed.success) return parsed.data;
    } catch {
      // a reason BullMQ wrote itself, e.g. "job stalled more than allowable limit"
    }
  }
  return {
    code: 'JOB_FAILED',
    message: failedReason || 'the job failed without a reason',
    hint: 'queue the file again; if it keeps failing, check the worker log',
  };
}

/**
 * What happens next to a job that failed in a way worth retrying, for the end of its message:
 * BullMQ counts attemptsMade before this attempt, so this is attempt attemptsMade + 1. Pure.
 */
export function retryNote(attemptsMade: number, attempts: number | undefined): string {
  const total = Math.max(1, attempts ?? 1);
  const n = attemptsMade + 1;
  return n < total
    ? `it is retried (attempt ${n} of ${total})`
    : `retries are over (attempt ${Math.min(n, total)} of ${total})`;
}
