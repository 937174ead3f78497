import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { checkBrokerLogin } from '../../core/broker/connection.ts';
import { childEnv, type LoadedConfig } from '../../core/config/load.ts';
import { DependencyError } from '../../core/errors.ts';
import { PACKAGE_ROOT } from '../../core/package-root.ts';
import type { Logger } from '../../core/log.ts';
import { startGateway } from '../../gateway/server.ts';
import { isAlive, readBrokerRecord, removeBrokerRecord, writeBrokerRecord } from './broker-url.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.ts';

export interface LocalStack {
  /** Where the gateway listens, as a URL. */
  gatewayUrl: string;
  brokerUrl: string;
  /** Null when the broker is config.broker.url, not started here. */
  redisPid: number | null;
  /** Resolves when a part of the stack stops on its own (the worker process, redis-server). */
  failed: Promise<Error>;
  /**
   * Workers first (they finish running jobs, for at most worker.stop_seconds), then the gateway,
   * the private redis-server last, so the others can still hand jobs back through it.
   */
  stop(): Promise<void>;
  /** During stop: workers hand their running jobs back instead of finishing them. */
  hurry(): void;
  /**
   * During stop: workers are killed outright (with their ffmpeg). Their jobs are not lost: the
   * broker gives them to the next worker once their locks expire (worker.lock_seconds).
   */
  kill(): void;
}

export interface LocalStackOptions {
  loaded: LoadedConfig;
  logger: Logger;
  /** Jobs encoded at once by the worker process; 0: no local workers; undefined: worker.concurrency. */
  workers?: number;
  /** Log level of the worker process, e.g. 'warn' while progress bars are drawn. */
  workerLogLevel?: string;
  verbose?: boolean;
}

const BIN = path.join(PACKAGE_ROOT, 'bin', 'proxima.js');

/**
 * The single-machine stack `proxima up` and `proxima demo` run: a private redis-server (unless
 * broker.url is set), the gateway in this process and one worker process. Each part started is
 * stopped again if a later part fails to start.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { loaded, logger } = options;
  const { config, stateDir } = loaded;
  const undo: (() => Promise<void>)[] = [];
  const failures: Promise<Error>[] = [];
  const unwind = async () => {
    for (const step of undo.reverse()) await step().catch(() => {});
  };

  try {
    let brokerUrl = config.broker.url;
    let redis: EmbeddedRedis | null = null;
    if (!brokerUrl) {
      await stopOrphanedBroker(stateDir, logger);
      redis = await startEmbeddedRedis({
        dataDir: path.join(stateDir, 'redis'),
        searchPath: loaded.searchPath,
        logger: logger.child({ component: 'redis' }),
      });
      const r = redis;
      undo.push(() => r.stop());
      writeBrokerRecord(stateDir, { url: r.url, pid: r.pid, ownerPid: process.pid });
      undo.push(async () => removeBrokerRecord(stateDir, r.pid));
      brokerUrl = r.url;
      failures.push(r.exited.then(() => new Error('redis-server exited unexpectedly')));
    } else {
      // A wrong password in broker.url is the user's to fix; say that, not "not reachable".
      await checkBrokerLogin(brokerUrl);
    }

    let gateway: Awaited<ReturnType<typeof startGateway>>;
    try {
      gateway = await startGateway({
        config,
        logger: logger.child({ component: 'gateway' }),
        brokerUrl,
        searchPath: loaded.searchPath,
      });
    } catch (err) {
      throw portTaken(err) ? gatewayPortTaken(config.gateway.listen) : err;
    }
    const g = gateway;
    undo.push(() => g.close());

    let worker: WorkerProcess | null = null;
    if (options.workers !== 0) {
      worker = spawnWorkers(brokerUrl, options, config.worker.stop_seconds);
      const w = worker;
      undo.push(() => w.stop());
      failures.push(
        w.exited.then((code) => new Error(`the worker process exited (code ${String(code)})`)),
      );
    }

    let stopping: Promise<void> | null = null;
    return {
      gatewayUrl: gateway.url,
      brokerUrl,
      redisPid: redis?.pid ?? null,
      // A part exiting is only a failure while the stack is meant to be running.
      failed: Promise.race(failures).then((err) => (stopping ? new Promise<Error>(() => {}) : err)),
      stop() {
        stopping ??= unwind();
        return stopping;
      },
      hurry() {
        worker?.hurry();
      },
      kill() {
        worker?.kill();
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

interface WorkerProcess {
  exited: Promise<number | null>;
  stop(): Promise<void>;
  hurry(): void;
  kill(): void;
}

/**
 * How long after being told to stop a worker may take before it is killed: its own bound
 * (worker.stop_seconds) plus time to hand jobs back and close its connections.
 */
export function workerKillDelayMs(stopSeconds: number): number {
  return (stopSeconds + 15) * 1000;
}

function spawnWorkers(
  brokerUrl: string,
  options: LocalStackOptions,
  stopSeconds: number,
): WorkerProcess {
  const args = [BIN, 'work', '--exit-with-parent'];
  if (options.workers !== undefined) args.push('-n', String(options.workers));
  if (options.verbose) args.push('--verbose');
  else if (options.workerLogLevel) args.push('--log-level', options.workerLogLevel);
  // Its own process group: a Ctrl-C at the terminal reaches only this process, which then
  // decides how the worker stops. stdin is a pipe it watches, so it also stops if we die.
  // The broker URL may hold a password: through the environment, which only this user can
  // read, not the command line, which every local user can (ps).
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['pipe', 2, 2],
    detached: true,
    env: childEnv({ PROXIMA_BROKER__URL: brokerUrl }),
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  let signals = 0;
  let lastSignalAt = 0;
  let hurried = false;
  const signal = () => {
    if (running()) {
      signals++;
      lastSignalAt = Date.now();
      child.kill('SIGTERM');
    }
  };
  const kill = () => {
    if (!running() || child.pid === undefined) return;
    try {
      // The whole group: the worker and the ffmpeg and ffprobe it started.
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  let killTimer: NodeJS.Timeout | undefined;
  void exited.then(() => clearTimeout(killTimer));
  return {
    exited,
    async stop() {
      if (signals === 0) signal();
      // A worker that cannot stop (a broker gone for good) must not hold the stack up for ever.
      killTimer ??= setTimeout(kill, workerKillDelayMs(stopSeconds));
      await exited;
    },
    hurry() {
      // The worker's second SIGTERM hands running jobs back to the queue. Sent at once, two
      // would merge into one, so the second follows the first after a moment.
      if (hurried) return;
      hurried = true;
      if (signals === 0) signal();
      setTimeout(signal, Math.max(0, lastSignalAt + 500 - Date.now()));
    },
    kill,
  };
}

/**
 * A redis-server left behind by a `proxima up` that was killed outright would hold the data
 * folder; stop it so the new one starts from the same append-only file.
 */
async function stopOrphanedBroker(stateDir: string, logger: Logger): Promise<void> {
  const record = readBrokerRecord(stateDir);
  if (!record || !isAlive(record.pid)) return;
  if (record.ownerPid && record.ownerPid !== process.pid && isAlive(record.ownerPid)) {
    throw new DependencyError(
      'STACK_RUNNING',
      `a local stack is already running on this machine (pid ${record.ownerPid}, broker ${record.url})`,
      'use it (queue, status and work find it), or stop it with Ctrl-C first',
    );
  }
  logger.info({ pid: record.pid }, 'stopping a redis-server left behind by an earlier run');
  try {
    process.kill(record.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (isAlive(record.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

function portTaken(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') return true;
  }
  return false;
}

function gatewayPortTaken(listen: string): DependencyError {
  return new DependencyError(
    'GATEWAY_PORT_TAKEN',
    `gateway.listen ${listen} is already in use`,
    'stop what listens there (another `proxima up`?), or set gateway.listen and gateway.url to a free port',
  );
}
