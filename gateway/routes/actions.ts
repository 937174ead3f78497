import { Hono } from 'hono';
import {
  cancelBatchResponseSchema,
  retryBatchResponseSchema,
  retryJobResponseSchema,
} from '../../core/job/monitor-contract.ts';
import type { AppDeps } from '../deps.ts';
import { HttpError, notFound } from '../errors.ts';
import { batchIdParam, jobIdParam } from '../ids.ts';
import { retryFailedJobs } from '../job-actions.ts';
import { respond } from '../respond.ts';
import { jobViewFrom } from '../views.ts';
import { batchNotFound } from './batches.ts';

/** What the monitor does to clips: retry failed ones, cancel a batch. */
export function actionRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  const preset = deps.config.encoding.preset;

  app.post('/jobs/:id/retry', async (c) => {
    const id = jobIdParam(c.req.param('id'));
    const [outcome] = await retryFailedJobs(deps.queue, [id]);
    const [job] = await deps.queue.getJobs([id]);
    if (outcome === 'gone' || !job) {
      throw notFound(`no job ${id}`, 'finished jobs are kept for broker.result_expires');
    }
    if (outcome === 'other-version') {
      throw new HttpError(
        409,
        'OTHER_VERSION',
        `job ${id} was queued by another Proxima version and cannot be retried as it is`,
        'queue its source again with `proxima queue`',
      );
    }
    if (outcome === 'not-failed') {
      throw new HttpError(
        409,
        'NOT_FAILED',
        `job ${id} is ${job.state}, not failed: only a failed clip is retried`,
        'a clip still waiting or encoding needs nothing; use --reencode to replace a finished proxy',
      );
    }
    deps.logger.info({ job: id }, 'failed job queued again');
    return respond(c, retryJobResponseSchema, { job: jobViewFrom(job, preset) });
  });

  app.post('/batches/:id/retry', async (c) => {
    const id = batchIdParam(c.req.param('id'));
    const record = await deps.batches.get(id);
    if (!record) throw batchNotFound(id);
    const outcomes = await retryFailedJobs(deps.queue, record.jobIds);
    const retried = outcomes.filter((o) => o === 'retried').length;
    deps.logger.info({ batch: id, retried }, 'failed jobs of the batch queued again');
    return respond(c, retryBatchResponseSchema, { retried });
  });

  app.post('/batches/:id/cancel', async (c) => {
    const id = batchIdParam(c.req.param('id'));
    const record = await deps.batches.get(id);
    if (!record) throw batchNotFound(id);
    const result = await deps.queue.cancel(record.jobIds);
    deps.logger.info({ batch: id, ...result }, 'batch cancelled');
    return respond(c, cancelBatchResponseSchema, result);
  });

  return app;
}
