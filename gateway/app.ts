import { hostname, networkInterfaces } from 'node:os';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { requireJsonWrites, requireOwnHost } from './access.ts';
import { requireToken } from './auth.ts';
import type { AppDeps } from './deps.ts';
import { errorReply, HttpError } from './errors.ts';
import { gatewayNames, parseListen } from './host-check.ts';
import { monitorPageRoutes } from './monitor/assets.ts';
import { actionRoutes } from './routes/actions.ts';
import { autoscaleRoutes } from './routes/autoscale.ts';
import { batchRoutes } from './routes/batches.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { jobRoutes } from './routes/jobs.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { monitorEventRoutes } from './routes/monitor-events.ts';
import { probeRoutes } from './routes/probes.ts';
import { searchRoutes } from './routes/search.ts';
import { sessionOpen, sessionRoutes } from './routes/session.ts';
import { statusRoutes } from './routes/status.ts';
import { throughputRoutes } from './routes/throughput.ts';

export type { AppDeps } from './deps.ts';

/** The HTTP API under /v1. No socket here: the server and the tests both call `app.fetch`. */
export function createApp(deps: AppDeps): Hono {
  const log = deps.logger;
  const app = new Hono();

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    log.debug(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
  });
  // Health stays open to orchestrator probes: Docker and Kubernetes send no token, and the
  // Host of a Kubernetes probe is the pod IP, which no config can list in advance.
  const open = new Set(['/v1/health']);
  app.use('*', requireOwnHost(ownNames(deps), open, deps.config.gateway.token !== ''));
  const guard = requireToken(
    deps.config.gateway.token,
    (method, path) => open.has(path) || sessionOpen(method, path),
  );
  app.use('/v1/*', guard);
  app.use('/metrics', guard);
  app.use('*', requireJsonWrites());

  app.route('/v1', healthRoutes(deps));
  app.route('/v1', batchRoutes(deps));
  app.route('/v1', eventRoutes(deps));
  app.route('/v1', jobRoutes(deps));
  app.route('/v1', statusRoutes(deps));
  app.route('/v1', autoscaleRoutes(deps));
  app.route('/v1', probeRoutes(deps));
  app.route('/v1', sessionRoutes(deps));
  app.route('/v1', throughputRoutes(deps));
  app.route('/', metricsRoutes(deps));
  app.route('/v1', actionRoutes(deps));
  app.route('/v1', searchRoutes(deps));
  app.route('/v1', monitorEventRoutes(deps));
  app.route('/', monitorPageRoutes(deps));

  app.notFound((c) =>
    c.json(
      {
        error: {
          code: 'NOT_FOUND',
          message: `no route ${c.req.method} ${c.req.path}`,
          hint: 'check gateway.url: it should point at a Proxima gateway (routes are under /v1)',
        },
      },
      404,
    ),
  );

  app.onError((err, c) => {
    const reply = errorReply(
      err instanceof HTTPException
        ? new HttpError(
            err.status as ContentfulStatusCode,
            `HTTP_${err.status}`,
            err.message || 'request refused',
            'check the request',
          )
        : err,
    );
    if (reply.internal) {
      log.error({ err, method: c.req.method, path: c.req.path }, 'request failed');
    } else if (reply.status === 503) {
      log.warn({ err: (err as Error).message, path: c.req.path }, reply.body.error.message);
    }
    return c.json(reply.body, reply.status);
  });

  return app;
}

/** The names in Host and Origin this gateway answers to (see gatewayNames). */
function ownNames(deps: AppDeps): Set<string> {
  const { listen, allowed_hosts } = deps.config.gateway;
  const addresses = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => i.address);
  return gatewayNames({
    listenHost: parseListen(listen).host,
    allowedHosts: allowed_hosts,
    hostName: hostname(),
    addresses,
  });
}
