import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Config } from '../core/config/schema.ts';
import type { Logger } from '../core/log.ts';
import { createApp } from './app.ts';
import { createBackend, scalePolicy } from './autoscale/create-backend.ts';
import { createReconciler } from './autoscale/reconciler.ts';
import { checkListenAccess, parseListen } from './host-check.ts';
import { openRepositories } from './repositories.ts';

export { parseListen };

export interface Gateway {
  /** Where clients reach it, with the real port when gateway.listen asked for port 0. */
  url: string;
  /** Ends event streams, stops listening and closes the broker connections. */
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  brokerUrl: string;
  /** PATH to find ffprobe on when no bundled binary is usable (LoadedConfig.searchPath). */
  searchPath?: string;
}

/** How long close() lets open requests finish before cutting their connections. */
const CLOSE_GRACE_MS = 3_000;

export async function startGateway(opts: StartOptions): Promise<Gateway> {
  const { listen, token } = opts.config.gateway;
  const { host, port } = parseListen(listen);
  // Before anything is opened: a gateway that must not start leaves nothing to clean up.
  checkListenAccess(listen, host, token);
  const repos = await openRepositories(opts);
  const backend = createBackend(opts.config, opts.brokerUrl, opts.logger);
  const autoscaler = backend
    ? {
        backend,
        reconciler: createReconciler({
          backend,
          queue: repos.queue,
          workers: repos.workers,
          policy: scalePolicy(opts.config),
          intervalMs: opts.config.autoscale.interval_seconds * 1000,
          logger: opts.logger,
          decisionLog: repos.decisions,
        }),
      }
    : undefined;
  const app = createApp({ ...repos, config: opts.config, logger: opts.logger, autoscaler });

  const server = serve({ fetch: app.fetch, hostname: host, port });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (err) {
    await repos.close();
    throw err;
  }
  autoscaler?.reconciler.start();
  const address = server.address() as AddressInfo;
  const url = `http://${clientHost(host)}:${address.port}`;
  // Where it really listens (a wildcard is every interface), and where a local client reaches it.
  const bound = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  opts.logger.info(
    {
      listen: `${bound}:${address.port}`,
      url,
      token: token !== '',
      queue: opts.config.broker.queue,
    },
    'gateway listening',
  );

  let closing: Promise<void> | null = null;
  return {
    url,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Encoders keep running: they finish their jobs and exit when idle, gateway or not.
        await autoscaler?.reconciler.stop();
        // Ends every event stream (their subscriptions see the queue close), so the server
        // is not kept open by clients that would wait for `done` for hours.
        await repos.close();
        if ('closeIdleConnections' in server) server.closeIdleConnections();
        const grace = setTimeout(() => {
          if ('closeAllConnections' in server) server.closeAllConnections();
        }, CLOSE_GRACE_MS);
        await stopped;
        clearTimeout(grace);
        opts.logger.info('gateway stopped');
      })();
      return closing;
    },
  };
}

/** A wildcard address is where the server listens, not somewhere a client can connect to. */
function clientHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
