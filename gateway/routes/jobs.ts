import { Hono } from 'hono';
import { jobViewSchema } from '../../core/job/contract.ts';
import type { AppDeps } from '../deps.ts';
import { notFound } from '../errors.ts';
import { jobIdParam } from '../ids.ts';
import { respond } from '../respond.ts';
import { jobViewFrom } from '../views.ts';

export function jobRoutes(deps: AppDeps): Hono {
  return new Hono().get('/jobs/:id', async (c) => {
    const id = jobIdParam(c.req.param('id'));
    const [job] = await deps.queue.getJobs([id]);
    if (!job) {
      throw notFound(
        `no job ${id}`,
        'finished jobs are kept for broker.result_expires; a purged job is gone',
      );
    }
    return respond(c, jobViewSchema, jobViewFrom(job, deps.config.encoding.preset));
  });
}
