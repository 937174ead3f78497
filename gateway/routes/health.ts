import { Hono } from 'hono';
import { healthResponseSchema } from '../../core/job/contract.ts';
import { PROTOCOL_VERSION, PROXIMA_VERSION } from '../../core/version.ts';
import type { AppDeps } from '../deps.ts';
import { respond } from '../respond.ts';

/** Open without a token, for load balancers and `proxima up`; a 503 when Redis is away. */
export function healthRoutes(deps: AppDeps): Hono {
  return new Hono().get('/health', async (c) => {
    await deps.queue.ping();
    return respond(c, healthResponseSchema, {
      ok: true,
      version: PROXIMA_VERSION,
      protocol: PROTOCOL_VERSION,
    });
  });
}
