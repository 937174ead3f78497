import { HttpError } from './errors.ts';

/** The shapes newBatchId and jobIdFor produce; nothing else reaches a Redis key. */
export const BATCH_ID = /^b-[a-z0-9]+-[0-9a-f]{8}$/;
export const JOB_ID = /^px-[0-9a-f]{24}$/;

export function batchIdParam(value: string): string {
  if (!BATCH_ID.test(value)) {
    throw new HttpError(
      400,
      'INVALID_ID',
      `batch id ${JSON.stringify(value.slice(0, 80))} is not a batch id (b-<time>-<8 hex digits>)`,
      'use the batch id printed by `proxima queue`',
    );
  }
  return value;
}

export function jobIdParam(value: string): string {
  if (!JOB_ID.test(value)) {
    throw new HttpError(
      400,
      'INVALID_ID',
      `job id ${JSON.stringify(value.slice(0, 80))} is not a job id (px-<24 hex digits>)`,
      'use a job id from a batch or from `proxima status`',
    );
  }
  return value;
}
