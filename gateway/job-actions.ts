import { encodeJobSchema } from '../core/job/contract.ts';
import type { JobQueue, StoredJob } from './queue/job-queue.ts';

/** What became of a retry of one clip. */
export type RetryOutcome = 'retried' | 'not-failed' | 'gone' | 'other-version';

/**
 * Queues failed clips again as they were queued, with a fresh queuedAt: a payload older than
 * broker.job_expires would be dropped by the workers, and a long clip's new generation leaves
 * its earlier chunks and its cancel behind.
 */
export async function retryFailedJobs(
  queue: JobQueue,
  ids: readonly string[],
  now = Date.now(),
): Promise<RetryOutcome[]> {
  const jobs = await queue.getJobs(ids);
  const out: RetryOutcome[] = [];
  for (const job of jobs) out.push(await retryOne(queue, job, now));
  return out;
}

async function retryOne(queue: JobQueue, job: StoredJob | null, now: number) {
  if (!job) return 'gone';
  if (job.state !== 'failed') return 'not-failed';
  const data = encodeJobSchema.safeParse(job.data);
  if (!data.success) return 'other-version';
  const retried = await queue.retryFailed({ id: job.id, data: { ...data.data, queuedAt: now } });
  return retried ? 'retried' : 'not-failed';
}
