import { Hono } from 'hono';
import { z } from 'zod';
import { minuteStarts, THROUGHPUT_MAX_MINUTES } from '../../core/broker/farm-stats.ts';
import { throughputResponseSchema } from '../../core/job/monitor-contract.ts';
import type { AppDeps } from '../deps.ts';
import { respond } from '../respond.ts';

const throughputQuerySchema = z.object({
  minutes: z.coerce.number().int().min(1).max(THROUGHPUT_MAX_MINUTES).default(60),
});

/**
 * GET /v1/throughput?minutes=60: the monitor's chart, one entry per minute, oldest first. From
 * Redis, so it is the same after a gateway restart; a gateway without statistics shows zeros.
 */
export function throughputRoutes(deps: AppDeps): Hono {
  return new Hono().get('/throughput', async (c) => {
    const { minutes } = throughputQuerySchema.parse(c.req.query(), { reportInput: true });
    const now = Date.now();
    const rows = deps.stats
      ? await deps.stats.throughput(minutes, now)
      : minuteStarts(minutes, now).map((at) => ({ at, proxies: 0, frames: 0 }));
    return respond(c, throughputResponseSchema, { minutes: rows });
  });
}
