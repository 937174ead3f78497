import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import {
  batchJobFilterStateSchema,
  batchListResponseSchema,
  batchViewSchema,
  enqueueResponseSchema,
} from '../../core/job/contract.ts';
import type { AppDeps } from '../deps.ts';
import { enqueueBatch } from '../enqueue.ts';
import { bodyTooLarge, HttpError, notFound } from '../errors.ts';
import { batchIdParam } from '../ids.ts';
import { readJson } from '../request-body.ts';
import { respond } from '../respond.ts';
import { readBatchPage, readBatchSummary, readBatchView } from '../views.ts';

/** 10000 sources with paths of a few hundred characters fit with room to spare. */
export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** Without any of these, the whole batch as before; with one, a page (default 100 jobs). */
const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  offset: z.coerce.number().int().min(0).optional(),
  state: batchJobFilterStateSchema.optional(),
  q: z.string().max(1000).optional(),
});

export function batchNotFound(id: string): HttpError {
  return notFound(
    `no batch ${id}`,
    'batches are kept for broker.result_expires after they were queued; `proxima status` lists recent ones',
  );
}

export function batchRoutes(deps: AppDeps): Hono {
  const maxSize = deps.options?.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const app = new Hono();

  app.post(
    '/batches',
    bodyLimit({
      maxSize,
      onError: () => {
        throw bodyTooLarge(maxSize);
      },
    }),
    async (c) => {
      const response = await enqueueBatch(deps, await readJson(c));
      deps.logger.info(
        {
          batch: response.batch.id,
          jobs: response.batch.jobs.length,
          deduplicated: response.deduplicated,
        },
        'batch queued',
      );
      return respond(c, enqueueResponseSchema, response, 201);
    },
  );

  app.get('/batches', async (c) => {
    const { limit } = listQuerySchema.parse(c.req.query(), { reportInput: true });
    const records = await deps.batches.recent(limit);
    const batches = await Promise.all(records.map((r) => readBatchSummary(deps.queue, r)));
    return respond(c, batchListResponseSchema, { batches });
  });

  app.get('/batches/:id', async (c) => {
    const id = batchIdParam(c.req.param('id'));
    const query = pageQuerySchema.parse(c.req.query(), { reportInput: true });
    const record = await deps.batches.get(id);
    if (!record) throw batchNotFound(id);
    const paged = Object.values(query).some((v) => v !== undefined);
    const view = paged
      ? await readBatchPage(deps.queue, record, {
          offset: query.offset ?? 0,
          limit: query.limit ?? 100,
          state: query.state,
          text: query.q || undefined,
        })
      : await readBatchView(deps.queue, record);
    return respond(c, batchViewSchema, view);
  });

  return app;
}
