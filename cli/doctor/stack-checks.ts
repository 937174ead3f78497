import type { LoadedConfig } from '../../core/config/load.ts';
import { redactUrl } from '../../core/secrets/redact.ts';
import { isProximaError } from '../../core/errors.ts';
import type { HealthResponse, StatusResponse } from '../../core/job/contract.ts';
import { PROTOCOL_VERSION, PROXIMA_VERSION } from '../../core/version.ts';
import { gatewayClientFor } from '../gateway-client.ts';
import { readBrokerRecord, resolveBrokerUrl } from '../stack/broker-url.ts';
import { fail, ok, warn, type CheckLine } from './check-line.ts';

export interface StackFindings {
  lines: CheckLine[];
  /** Whether worker-side checks can be asked for at all. */
  gatewayUp: boolean;
  status: StatusResponse | null;
}

/** The broker as this machine reaches it, when it knows where it is. */
async function brokerLine(loaded: LoadedConfig, health: HealthResponse | null): Promise<CheckLine> {
  let url: string | null = null;
  try {
    url = resolveBrokerUrl(loaded.config, readBrokerRecord(loaded.stateDir));
  } catch {
    // broker.url empty and no local stack: only the gateway knows the broker.
  }
  if (url) {
    // Loaded on use: ioredis is needed by this check only.
    const { Redis } = await import('ioredis');
    const redis = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      connectTimeout: 3000,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    try {
      await redis.connect();
      await redis.ping();
      return ok('broker', `reachable at ${redactUrl(url)}`);
    } catch (err) {
      return fail(
        'broker',
        `not reachable at ${redactUrl(url)} (${(err as Error).message})`,
        'start redis-server (or `proxima up`), or set broker.url to a reachable redis:// URL',
      );
    } finally {
      redis.disconnect();
    }
  }
  if (health) return ok('broker', 'the gateway reaches it (broker.url is not set on this machine)');
  return fail(
    'broker',
    'broker.url is empty and no `proxima up` runs on this machine',
    'run `proxima up`, or set broker.url to the shared redis:// URL',
  );
}

/** Gateway reachable, the same protocol, its broker up; then the workers it knows of. */
export async function stackChecks(loaded: LoadedConfig): Promise<StackFindings> {
  const lines: CheckLine[] = [];
  const client = gatewayClientFor(loaded.config);
  let health: HealthResponse | null = null;
  let gatewayLine: CheckLine;
  try {
    health = await client.health();
    gatewayLine = gatewayVersionLine(client.url, health);
  } catch (err) {
    const e = isProximaError(err) ? err : null;
    if (e && (e.code === 'BROKER_UNREACHABLE' || e.code === 'HTTP_503')) {
      gatewayLine = ok('gateway', `reachable at ${client.url}`);
      lines.push(
        fail('broker', `the gateway cannot reach it: ${e.message}`, e.hint || 'start redis-server'),
      );
      lines.push(gatewayLine);
      return { lines, gatewayUp: false, status: null };
    }
    gatewayLine = fail(
      'gateway',
      e ? e.message : `not reachable at ${client.url}`,
      e?.hint ?? 'start the local stack with `proxima up`, or set gateway.url',
    );
  }
  lines.push(await brokerLine(loaded, health));
  lines.push(gatewayLine);
  if (!health || gatewayLine.status === 'FAIL') return { lines, gatewayUp: false, status: null };

  let status: StatusResponse | null = null;
  try {
    status = await client.status();
  } catch (err) {
    lines.push(
      fail(
        'workers',
        `the gateway did not list them: ${(err as Error).message}`,
        isProximaError(err) && err.hint ? err.hint : 'see the gateway log',
      ),
    );
    return { lines, gatewayUp: true, status: null };
  }
  lines.push(...workerLines(status));
  return { lines, gatewayUp: true, status };
}

/** Same protocol or nothing works; another version of the same protocol is only noted. Pure. */
export function gatewayVersionLine(url: string, health: HealthResponse): CheckLine {
  if (health.protocol !== PROTOCOL_VERSION) {
    return fail(
      'gateway',
      `${url} runs Proxima ${health.version} speaking protocol ${health.protocol}; this CLI (${PROXIMA_VERSION}) speaks ${PROTOCOL_VERSION}`,
      'run the same Proxima version on the gateway and this machine',
    );
  }
  if (health.version !== PROXIMA_VERSION) {
    return warn(
      'gateway',
      `${url} runs Proxima ${health.version}, this CLI ${PROXIMA_VERSION} (both protocol ${PROTOCOL_VERSION})`,
      'update both to the same version when convenient',
    );
  }
  return ok('gateway', `${url}, Proxima ${health.version}, protocol ${health.protocol}`);
}

/** The registered workers: none (or an autoscaler to start one), and any of another protocol. Pure. */
export function workerLines(status: StatusResponse): CheckLine[] {
  const lines: CheckLine[] = [];
  const workers = status.workers;
  const a = status.autoscale;
  if (workers.length === 0) {
    if (!a) {
      lines.push(
        fail(
          'workers',
          `no worker is registered on queue ${status.queue}`,
          'start one with `proxima work` (or `proxima up --workers N`), or set autoscale.backend',
        ),
      );
    } else if (a.last?.error) {
      lines.push(
        fail(
          'workers',
          `none running, and the ${a.backend} autoscaler fails: ${a.last.error.code}: ${a.last.error.message}`,
          a.last.error.hint,
        ),
      );
    } else {
      lines.push(
        ok(
          'workers',
          `none running; the ${a.backend} autoscaler (${a.target}) starts them for work`,
        ),
      );
    }
    return lines;
  }
  const other = workers.filter((w) => w.protocol !== status.protocol);
  const good = workers.filter((w) => w.protocol === status.protocol);
  // Beside workers of this version it only idles; alone it leaves the queue without any.
  const flag = good.length > 0 ? warn : fail;
  for (const w of other) {
    lines.push(
      flag(
        'workers',
        `worker ${w.instance && w.instance !== w.host ? `${w.instance} on ${w.host}` : w.host} (pid ${w.pid}) runs Proxima ${w.version} speaking protocol ${w.protocol}; the gateway speaks ${status.protocol}, so it encodes none of its jobs`,
        `update Proxima on ${w.host} to ${status.version}, or stop that worker`,
      ),
    );
  }
  if (good.length > 0) {
    const slots = good.reduce((n, w) => n + w.concurrency, 0);
    const hosts = [...new Set(good.map((w) => w.host))];
    lines.push(
      ok(
        'workers',
        `${good.length} registered on queue ${status.queue} (${slots} slot${slots === 1 ? '' : 's'} on ${hosts.join(', ')})`,
      ),
    );
  }
  return lines;
}
