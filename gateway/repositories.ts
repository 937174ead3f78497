import { Redis } from 'ioredis';
import type { Config } from '../core/config/schema.ts';
import { redactUrl } from '../core/broker/connection.ts';
import { createFarmStats, type FarmStats } from '../core/broker/farm-stats.ts';
import { createRedisDecisionLog, type DecisionLog } from './autoscale/decision-log.ts';
import { DependencyError } from '../core/errors.ts';
import { jobQueueName } from '../core/job/keys.ts';
import type { Logger } from '../core/log.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { createProbeQueue, type ProbeQueue } from './probe-queue.ts';
import { createFfprobeInspector, type ProxyInspector } from './proxy-inspector.ts';
import { createRedisBatchStore, type BatchStore } from './queue/batch-store.ts';
import { createBullJobQueue, type JobQueue } from './queue/job-queue.ts';
import { createRedisWorkerDirectory, type WorkerDirectory } from './queue/worker-directory.ts';

export interface Repositories {
  queue: JobQueue;
  batches: BatchStore;
  workers: WorkerDirectory;
  /** Whether a finished job's proxy is still on disk, as the current config places it. */
  proxies: ProxyInspector;
  probes: ProbeQueue;
  stats: FarmStats;
  /** The autoscaler's recent decisions, kept across gateway restarts. */
  decisions: DecisionLog;
  /** Ends event subscriptions, then closes every Redis connection. */
  close(): Promise<void>;
}

export interface OpenOptions {
  config: Config;
  logger: Logger;
  brokerUrl: string;
  /** PATH to find ffprobe on when no bundled binary is usable. */
  searchPath?: string;
}

/**
 * The gateway's Redis connections: commands go through one that fails them at once while Redis
 * is away, so a request gets a 503 instead of hanging, and that reconnects within a second;
 * BullMQ opens its own for the blocking event reads, which wait through outages.
 */
export async function openRepositories(options: OpenOptions): Promise<Repositories> {
  const { config, logger, brokerUrl } = options;
  const log = logger.child({ broker: redactUrl(brokerUrl) });
  const commands = new Redis(brokerUrl, {
    lazyConnect: true,
    // While disconnected a command fails at once instead of waiting for a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 10_000,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
  });
  let lastWarned = 0;
  commands.on('error', (err: Error) => {
    // ioredis repeats the error on every reconnect attempt; once in a while is enough.
    if (Date.now() - lastWarned > 10_000) {
      lastWarned = Date.now();
      log.warn({ err: err.message }, 'broker connection error');
    }
  });

  try {
    await commands.connect();
    await commands.ping();
  } catch (err) {
    commands.disconnect();
    throw Object.assign(
      new DependencyError(
        'BROKER_UNREACHABLE',
        `broker not reachable at ${redactUrl(brokerUrl)} (${(err as Error).message})`,
        'start redis-server, or set broker.url (PROXIMA_BROKER__URL) to a reachable redis:// URL',
      ),
      { cause: err },
    );
  }

  // This gateway's jobs go to its protocol's queue; workers of other versions never see them.
  const queue = await createBullJobQueue({
    name: jobQueueName(config.broker.queue, PROTOCOL_VERSION),
    connection: commands,
    brokerUrl,
    attempts: config.worker.attempts,
    keepSeconds: config.broker.result_expires,
    clipQueue: config.broker.queue,
    logger: log,
  });
  const probes = createProbeQueue({ connection: commands, events: queue });
  return {
    queue,
    probes,
    batches: createRedisBatchStore({
      redis: commands,
      queue: config.broker.queue,
      keepSeconds: config.broker.result_expires,
    }),
    workers: createRedisWorkerDirectory({ redis: commands, queue: config.broker.queue }),
    stats: createFarmStats(commands, config.broker.queue),
    decisions: createRedisDecisionLog({ redis: commands, queue: config.broker.queue, keep: 50 }),
    proxies: createFfprobeInspector({
      ffprobePath: config.ffprobe.path,
      searchPath: options.searchPath ?? '',
      logger,
    }),
    async close() {
      await probes.close();
      await queue.close();
      await commands.quit().catch(() => commands.disconnect());
    },
  };
}
