import { Hono } from 'hono';
import { autoscaleResponseSchema } from '../../core/job/contract.ts';
import type { AppDeps } from '../deps.ts';
import { respond } from '../respond.ts';

/** The autoscaler's recent decisions with their reasons and errors, newest first. */
export function autoscaleRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  app.get('/autoscale', (c) => {
    const a = deps.autoscaler;
    const { min, max } = deps.config.autoscale;
    return respond(c, autoscaleResponseSchema, {
      backend: a?.backend.kind ?? 'none',
      target: a?.backend.target ?? '',
      min,
      max,
      decisions: a?.reconciler.decisions() ?? [],
    });
  });
  return app;
}
