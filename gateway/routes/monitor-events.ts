import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { batchJobFilterStateSchema } from '../../core/job/contract.ts';
import { monitorBatchEventSchema, monitorOverviewSchema } from '../../core/job/monitor-contract.ts';
import type { AppDeps } from '../deps.ts';
import { errorReply } from '../errors.ts';
import { batchIdParam } from '../ids.ts';
import { readOverview, sharedReader } from '../monitor-overview.ts';
import { readBatchPage } from '../views.ts';
import { batchNotFound } from './batches.ts';

/** How often an open monitor is sent the farm and its open batch. */
export const MONITOR_TICK_MS = 1000;

const querySchema = z.object({
  batch: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  state: batchJobFilterStateSchema.optional(),
  q: z.string().max(1000).optional(),
});

/** The monitor's live view: the overview every tick, and a page of the batch it has open. */
export function monitorEventRoutes(deps: AppDeps): Hono {
  const tick = deps.options?.monitorTickMs ?? MONITOR_TICK_MS;
  const overview = sharedReader(() => readOverview(deps), tick - 50);

  return new Hono().get('/monitor/events', async (c) => {
    const query = querySchema.parse(c.req.query(), { reportInput: true });
    const batchId = query.batch ? batchIdParam(query.batch) : undefined;
    const log = deps.logger.child({ stream: 'monitor' });
    const signal = c.req.raw.signal;
    return streamSSE(c, async (stream) => {
      let wake: (() => void) | undefined;
      const stop = () => wake?.();
      stream.onAbort(stop);
      signal.addEventListener('abort', stop, { once: true });
      try {
        while (!stream.aborted && !stream.closed) {
          try {
            const view = monitorOverviewSchema.parse(await overview());
            await stream.writeSSE({ event: 'overview', data: JSON.stringify(view) });
            if (batchId) {
              const record = await deps.batches.get(batchId);
              if (!record) {
                const reply = errorReply(batchNotFound(batchId));
                await stream.writeSSE({ event: 'error', data: JSON.stringify(reply.body) });
              } else {
                const page = await readBatchPage(deps.queue, record, {
                  offset: query.offset,
                  limit: query.limit,
                  state: query.state,
                  text: query.q || undefined,
                });
                const checked = monitorBatchEventSchema.parse(page);
                await stream.writeSSE({ event: 'batch', data: JSON.stringify(checked) });
              }
            }
          } catch (err) {
            // Redis away for a moment: the page keeps what it shows and says so; the stream
            // stays open and tries again next tick.
            const reply = errorReply(err);
            if (reply.internal) log.warn({ err }, 'monitor view not read');
            await stream.writeSSE({ event: 'error', data: JSON.stringify(reply.body) });
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, tick).unref();
          });
        }
      } finally {
        signal.removeEventListener('abort', stop);
      }
    });
  });
}
