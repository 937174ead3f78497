import { Hono } from 'hono';
import {
  purgeResponseSchema,
  statusResponseSchema,
  workerListResponseSchema,
} from '../../core/job/contract.ts';
import { PROTOCOL_VERSION, PROXIMA_VERSION } from '../../core/version.ts';
import type { AppDeps } from '../deps.ts';
import { respond } from '../respond.ts';

export function statusRoutes(deps: AppDeps): Hono {
  const app = new Hono();

  app.get('/status', async (c) => {
    const [counts, workers] = await Promise.all([deps.queue.counts(), deps.workers.list()]);
    const a = deps.autoscaler;
    return respond(c, statusResponseSchema, {
      version: PROXIMA_VERSION,
      protocol: PROTOCOL_VERSION,
      // The configured name; the jobs of this protocol are in its `-p<N>` queue.
      queue: deps.config.broker.queue,
      counts,
      workers,
      ...(a && {
        autoscale: {
          backend: a.backend.kind,
          target: a.backend.target,
          last: a.reconciler.decisions()[0] ?? null,
        },
      }),
    });
  });

  app.get('/workers', async (c) => {
    return respond(c, workerListResponseSchema, { workers: await deps.workers.list() });
  });

  app.post('/purge', async (c) => {
    const removed = await deps.queue.purgeWaiting();
    deps.logger.info({ removed }, 'purged waiting jobs');
    return respond(c, purgeResponseSchema, { removed });
  });

  return app;
}
