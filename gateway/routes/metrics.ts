import { Hono } from 'hono';
import type { AppDeps } from '../deps.ts';
import { createMetrics } from '../metrics.ts';

/** GET /metrics in Prometheus's text format; the app puts it behind the API's token rules. */
export function metricsRoutes(deps: AppDeps): Hono {
  const metrics = createMetrics(deps);
  return new Hono().get('/metrics', async (c) =>
    c.body(await metrics.render(), 200, { 'content-type': metrics.contentType }),
  );
}
