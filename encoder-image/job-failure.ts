import type { Job } from 'bullmq';
import type { z } from 'zod';
import { UnrecoverableError } from 'bullmq';
import { InputError, MediaError, ProximaError } from '../core/errors.ts';
import { encodeJobError, retryNote } from '../core/job/job-error.ts';
import { StorageError } from '../core/paths/storage-errors.ts';
import { abortReasonOf, type AbortReason } from './abort-reasons.ts';
import { FfmpegFailed } from './ffmpeg-runner.ts';

/**
 * How an attempt's failure is reported to the queue, for every job kind that encodes: what is
 * retried, what fails for good, and what an interrupted attempt means.
 */

/**
 * An outcome already decided (handed on, waiting for chunks, failed for good farm-wide): carried
 * through a processor's catch untouched.
 */
export class Settled extends Error {
  constructor(readonly settled: Error) {
    super(settled.message);
  }
}

/** ffmpeg reasons that mean the source itself is broken: retrying cannot help. */
const CORRUPT_SOURCE =
  /invalid data found|error while decoding|moov atom not found|truncat|corrupt|end of file|invalid nal|no frame/i;

/**
 * This attempt no longer holds the job's lock: another worker has it now. Whatever this attempt
 * throws is refused by the queue, so the other attempt's result is the one counted.
 */
export class LockLostError extends ProximaError {
  constructor(jobId: string) {
    super(
      'LOCK_LOST',
      `job ${jobId} lost its lock to another worker; this attempt stopped without writing the proxy`,
      'nothing to do: the worker that holds the job now finishes it',
    );
  }
}

/** Why the job was interrupted, if it was: its signal's reason, or ffmpeg killed by a stop. */
export function abortOf(signal: AbortSignal | undefined, err: unknown): AbortReason | undefined {
  const reason = abortReasonOf(signal);
  if (reason) return reason;
  if (err instanceof FfmpegFailed && err.aborted && !err.stalled) return { kind: 'stopping' };
  return undefined;
}

/** A retried failure says which attempt this was, and on the last one that retries are over. */
export function retried(err: ProximaError, job: Job): Error {
  const note = retryNote(job.attemptsMade, job.opts.attempts);
  return new Error(encodeJobError(new ProximaError(err.code, `${err.message}; ${note}`, err.hint)));
}

/** Why a clip of a cancelled batch failed: never retried by the queue, only by a person. */
export function cancelled(file: string): ProximaError {
  return new ProximaError(
    'CANCELLED',
    `${file} was cancelled with its batch; nothing of it was kept`,
    'retry it (monitor, or queue it again) to encode it',
  );
}

/** How often a running clip looks whether its batch was cancelled (one Redis read). */
export const CANCEL_CHECK_MS = 2000;

export function classify(
  err: unknown,
  file: string,
  job: Job,
  abort: AbortReason | undefined,
): Error {
  if (abort?.kind === 'cancelled') return new UnrecoverableError(encodeJobError(cancelled(file)));
  if (err instanceof MediaError || err instanceof InputError) {
    return new UnrecoverableError(encodeJobError(err));
  }
  if (err instanceof StorageError) return retried(err, job);
  if (abort?.kind === 'stalled' || (err instanceof FfmpegFailed && err.stalled)) {
    const why =
      abort?.kind === 'stalled'
        ? `ffmpeg made no progress for ${abort.seconds} s`
        : (err as FfmpegFailed).reason;
    return retried(
      new ProximaError(
        'ENCODE_STALLED',
        `encoding ${file} stopped: ${why}`,
        'check the source is readable at full speed (a slow or lost network mount?); worker.stall_seconds sets the limit',
      ),
      job,
    );
  }
  if (err instanceof FfmpegFailed && CORRUPT_SOURCE.test(err.reason)) {
    return new UnrecoverableError(
      encodeJobError(
        new MediaError(
          'MEDIA_CORRUPT',
          `${file} cannot be decoded: ${err.reason}`,
          'the file is corrupt or incomplete; replace it and queue again',
        ),
      ),
    );
  }
  if (err instanceof FfmpegFailed) {
    return retried(
      new ProximaError(
        'ENCODE_FAILED',
        `encoding ${file} failed: ${err.reason}`,
        'check the worker log if it keeps failing',
      ),
      job,
    );
  }
  if (err instanceof ProximaError) return retried(err, job);
  return retried(
    new ProximaError(
      'INTERNAL',
      err instanceof Error ? err.message : String(err),
      'see the worker log for details',
    ),
    job,
  );
}

/**
 * A job's payload as its processor's schema reads it; one it cannot read (another version's)
 * fails for good, naming the job and what did not fit.
 */
export function readPayload<S extends z.ZodType>(
  schema: S,
  job: Job,
  what: 'job' | 'chunk',
  hint: string,
): z.output<S> {
  const parsed = schema.safeParse(job.data);
  if (parsed.success) return parsed.data;
  throw new UnrecoverableError(
    encodeJobError(
      new InputError(
        'BAD_JOB',
        `${what} ${String(job.id)} has a payload this worker cannot read: ${parsed.error.issues[0]?.message ?? ''}`,
        hint,
      ),
    ),
  );
}
