import { mkdtempSync } from 'node:fs';
import { jobQueueName } from '../../core/job/keys.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import { createRedis } from '../../core/broker/connection.ts';
import { configSchema, type Config } from '../../core/config/schema.ts';
import { createLogger } from '../../core/log.ts';
import { startWorker, type RunningWorker } from '../../encoder-image/worker.ts';
import { createApp } from '../../gateway/app.ts';
import type { AppDeps, AppOptions } from '../../gateway/deps.ts';
import { openRepositories, type Repositories } from '../../gateway/repositories.ts';

export const silentLogger = createLogger({ level: 'silent', pretty: false });

let counter = 0;

/** A queue name no other test uses, so tests never see each other's jobs. */
export function freshQueueName(): string {
  return `gw-test-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

export interface GatewayHarness {
  app: ReturnType<typeof createApp>;
  repos: Repositories;
  deps: AppDeps;
  config: Config;
  proxyRoot: string;
  /** A plain BullMQ Queue on the same queue, to look at what the gateway stored. */
  inspect: Queue;
  /** Closes the gateway's connections, then obliterates the queue (unless keepQueue). */
  close(opts?: { keepQueue?: boolean }): Promise<void>;
}

export interface HarnessOptions {
  config?: Record<string, unknown>;
  options?: AppOptions;
  /** Wraps the repositories before the app gets them, e.g. to count subscriptions. */
  wrap?: (repos: Repositories) => Pick<AppDeps, 'queue' | 'batches' | 'workers' | 'proxies'>;
}

export async function gatewayHarness(
  brokerUrl: string,
  opts: HarnessOptions = {},
): Promise<GatewayHarness> {
  const proxyRoot = mkdtempSync(path.join(tmpdir(), 'proxima-proxies-'));
  const extra = opts.config ?? {};
  const config = configSchema.parse({
    ...extra,
    paths: { ...(extra.paths as object | undefined), proxy_root: proxyRoot },
    broker: { url: brokerUrl, queue: freshQueueName(), ...(extra.broker as object | undefined) },
  });
  const repos = await openRepositories({ config, logger: silentLogger, brokerUrl });
  const parts = opts.wrap ? opts.wrap(repos) : repos;
  const deps: AppDeps = {
    queue: parts.queue,
    batches: parts.batches,
    workers: parts.workers,
    proxies: parts.proxies,
    config,
    logger: silentLogger,
    options: opts.options,
  };
  const app = createApp(deps);
  const client = createRedis(brokerUrl);
  const inspect = new Queue(jobQueueName(config.broker.queue), { connection: client });
  inspect.on('error', () => {});
  return {
    app,
    repos,
    deps,
    config,
    proxyRoot,
    inspect,
    async close({ keepQueue = false } = {}) {
      await repos.close();
      if (!keepQueue) {
        await inspect.obliterate({ force: true });
        const leftovers = await client.keys(`proxima:${config.broker.queue}:*`);
        if (leftovers.length) await client.del(...leftovers);
      }
      await inspect.close();
      await client.quit();
    },
  };
}

export interface TestWorker {
  worker: Worker;
  close(): Promise<void>;
}

/** Stands in for an encoder: a real BullMQ Worker on broker.queue `queue`'s job queue. */
export function startTestWorker(
  brokerUrl: string,
  queue: string,
  processor: (job: Job) => Promise<unknown>,
): TestWorker {
  const connection = createRedis(brokerUrl);
  const worker = new Worker(jobQueueName(queue), processor, { connection, concurrency: 1 });
  worker.on('error', () => {});
  return {
    worker,
    async close() {
      await worker.close(true);
      await connection.quit().catch(() => {});
    },
  };
}

export function sourceRef(p: string, extra: Record<string, unknown> = {}) {
  return { path: p, size: 1000, mtimeMs: 1_700_000_000_000, ...extra };
}

export function post(app: GatewayHarness['app'], route: string, body: unknown, headers = {}) {
  return app.request(route, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export async function until<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function encodeResult(proxyPath: string) {
  return {
    proxyPath,
    reused: false,
    codec: 'prores',
    width: 1280,
    height: 720,
    frames: 48,
    audioStreams: 1,
    timecode: '01:00:00:00',
    encodeSeconds: 0.5,
    worker: 'test-worker',
  };
}

/**
 * A real worker (probe, ffmpeg, verify) on the harness's queue and proxy root, whose own config
 * says nothing else: whatever the proxy looks like must come with the job from the gateway.
 */
export function startRealWorker(h: GatewayHarness, brokerUrl: string): Promise<RunningWorker> {
  const config = configSchema.parse({
    paths: { proxy_root: h.proxyRoot },
    broker: { url: brokerUrl, queue: h.config.broker.queue },
    worker: { lock_seconds: 5, nice: 0 },
  });
  return startWorker({
    brokerUrl,
    config,
    logger: silentLogger,
    concurrency: 1,
    searchPath: process.env.PATH ?? '',
  });
}
