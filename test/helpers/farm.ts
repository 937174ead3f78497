import { spawn, type ChildProcess } from 'node:child_process';
import { jobQueueName } from '../../core/job/keys.ts';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort } from '../../cli/stack/embedded-redis.ts';
import { makeClip } from './cli-media.ts';
import { BIN, cliSandbox, startCli, type CliSandbox, type RunningCli } from './cli-run.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every child a farm started, so a test that dies half-way leaves no process behind. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export interface PersistentRedis {
  url: string;
  port: number;
  /** Its append-only file lives here, across restarts. */
  dir: string;
  pid(): number | undefined;
  /** A crash: SIGKILL, nothing flushed beyond what redis already wrote. */
  kill(): Promise<void>;
  /** A clean stop: SIGTERM, redis writes its append-only file and exits. */
  term(): Promise<void>;
  /** Starts again on the same port with the same --dir, reloading the append-only file. */
  start(): Promise<void>;
}

/**
 * A private redis-server with append-only persistence, as a farm's broker runs (compose.yaml
 * starts redis with --appendonly yes): a restart keeps every job, lock and event written so far.
 */
export async function startPersistentRedis(dir: string): Promise<PersistentRedis> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  let child: ChildProcess | undefined;
  const stopWith = async (signal: NodeJS.Signals) => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill(signal);
    await exited(c);
  };
  const redis: PersistentRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    pid: () => child?.pid,
    kill: () => stopWith('SIGKILL'),
    term: () => stopWith('SIGTERM'),
    async start() {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
      args.push('--appendonly', 'yes', '--save', '', '--logfile', 'redis.log');
      child = track(spawn('redis-server', args, { stdio: 'ignore' }));
      await waitForPing(port, child);
    },
  };
  await redis.start();
  return redis;
}

async function waitForPing(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode})`);
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: null });
    client.on('error', () => {});
    try {
      await client.connect();
      // LOADING is an error reply: the append-only file is still being read.
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not answer on port ${port}`);
}

/** One line of a process's pino JSON log. */
export interface LogLine {
  msg?: string;
  job?: string;
  level?: number;
  time?: number;
  [key: string]: unknown;
}

export interface FarmProcess {
  child: ChildProcess;
  name: string;
  logFile: string;
}

export interface FarmOptions {
  workers: number;
  /** Merged per section over the farm's config file, e.g. `{ worker: { lock_seconds: 3 } }`. */
  config?: Record<string, Record<string, unknown>>;
}

export interface Farm {
  sandbox: CliSandbox;
  redis: PersistentRedis;
  queueName: string;
  gatewayUrl: string;
  /** Worker processes running now. */
  workers(): FarmProcess[];
  /** Workers started so far, including the ones killed since. */
  workersStarted(): number;
  startWorker(): Promise<FarmProcess>;
  /** SIGKILL, like a machine losing power or the OOM killer. */
  killWorker(w: FarmProcess): Promise<void>;
  /** `proxima queue PATHS --wait --json`, as a script would run it. */
  queue(paths: string[]): RunningCli;
  /** A plain BullMQ Queue on the farm's queue, to read the job records. */
  inspect: Queue;
  /** A Redis client of the test's own, to read the queue's event stream. */
  client: Redis;
  /** Every JSON log line the workers wrote, killed ones included. */
  workerLog(): LogLine[];
  gatewayLog(): LogLine[];
  /** SIGTERM to every worker, which finishes its running job; resolves once all exited. */
  stopWorkers(): Promise<void>;
  /** Graceful: SIGTERM to every worker and the gateway, then redis stops. */
  stop(): Promise<void>;
}

/**
 * A farm of real processes on this machine: a persistent redis-server, the gateway service
 * (gateway/main.ts, as compose runs it), N `proxima work` processes, all reading one config
 * file a user could have written. Logs of each process go to a file in the sandbox.
 */
export async function startFarm(options: FarmOptions): Promise<Farm> {
  const redis = await startPersistentRedis(mkdtempSync(path.join(tmpdir(), 'proxima-farm-redis-')));
  const gatewayPort = await freePort();
  const queueName = `farm${Date.now().toString(36)}`;
  const given = options.config ?? {};
  const section = (name: string, defaults: Record<string, unknown>) => ({
    ...defaults,
    ...given[name],
  });
  const config: Record<string, unknown> = {
    ...given,
    broker: section('broker', { url: redis.url, queue: queueName }),
    gateway: section('gateway', {
      listen: `127.0.0.1:${gatewayPort}`,
      url: `http://127.0.0.1:${gatewayPort}`,
    }),
    worker: section('worker', { concurrency: 1 }),
    log: section('log', { level: 'info' }),
  };
  const sandbox = cliSandbox(config);
  const logDir = path.join(sandbox.root, 'logs');
  mkdirSync(logDir, { recursive: true });

  let started = 0;
  const running = new Set<FarmProcess>();
  const logFiles: string[] = [];
  const spawnLogged = (name: string, args: string[]): FarmProcess => {
    const logFile = path.join(logDir, `${name}.log`);
    const child = track(
      spawn(process.execPath, args, {
        cwd: ROOT,
        env: sandbox.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const out = createWriteStream(logFile);
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    child.once('close', () => out.end());
    return { child, name, logFile };
  };
  const waitForLog = async (p: FarmProcess, msg: string) => {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) {
        throw new Error(`${p.name} exited before "${msg}":\n${readText(p.logFile)}`);
      }
      if (readLog(p.logFile).some((l) => l.msg === msg)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${p.name} did not log "${msg}":\n${readText(p.logFile)}`);
  };

  const gateway = spawnLogged('gateway', ['--import', 'tsx', 'gateway/main.ts']);
  await waitForLog(gateway, 'gateway listening');

  const startWorker = async () => {
    const w = spawnLogged(`worker-${++started}`, [BIN, 'work']);
    logFiles.push(w.logFile);
    running.add(w);
    w.child.once('exit', () => running.delete(w));
    await waitForLog(w, 'worker started');
    return w;
  };
  await Promise.all(Array.from({ length: options.workers }, () => startWorker()));

  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  client.on('error', () => {});
  const inspectConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
  inspectConnection.on('error', () => {});
  const inspect = new Queue(jobQueueName(queueName), { connection: inspectConnection });
  inspect.on('error', () => {});

  const terminate = async (all: FarmProcess[]) => {
    for (const p of all) p.child.kill('SIGTERM');
    const grace = setTimeout(() => {
      for (const p of all) p.child.kill('SIGKILL');
    }, 60_000);
    await Promise.all(all.map((p) => exited(p.child)));
    clearTimeout(grace);
  };

  return {
    sandbox,
    redis,
    queueName,
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    workers: () => [...running],
    workersStarted: () => started,
    startWorker,
    async killWorker(w) {
      w.child.kill('SIGKILL');
      await exited(w.child);
    },
    queue: (paths) =>
      startCli(['queue', ...paths, '--wait', '--json'], { env: sandbox.env, cwd: ROOT }),
    inspect,
    client,
    workerLog: () => logFiles.flatMap(readLog),
    gatewayLog: () => readLog(gateway.logFile),
    stopWorkers: () => terminate([...running]),
    async stop() {
      await terminate([...running, gateway]);
      await inspect.close().catch(() => {});
      inspectConnection.disconnect();
      client.disconnect();
      await redis.term();
    },
  };
}

function readText(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

function readLog(file: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of readText(file).split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut off by a kill -9
    }
  }
  return lines;
}

/** Temp files of unfinished encodes below a proxy root. */
export function partialFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) =>
    path.basename(f).endsWith('.partial'),
  );
}

/** The queue's event stream (BullMQ's `bull:<queue>:events`), as {event, jobId} records. */
export async function queueEvents(
  client: Redis,
  queueName: string,
): Promise<{ event: string; jobId?: string; name?: string }[]> {
  const entries = await client.xrange(`bull:${jobQueueName(queueName)}:events`, '-', '+');
  return entries.map(([, fields]) => {
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
    return { event: record.event ?? '', jobId: record.jobId, name: record.name };
  });
}

/** How often each job id appears in the lines that match. */
export function countByJob(lines: LogLine[], msg: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const l of lines) {
    if (l.msg === msg && typeof l.job === 'string') counts.set(l.job, (counts.get(l.job) ?? 0) + 1);
  }
  return counts;
}

/** n jobs at a time over items, in order of the items. */
export async function mapPool<T, R>(
  items: readonly T[],
  size: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

/**
 * `count` clips in `dir` for a batch: copies of a few generated templates (testsrc2 + sine) of
 * different lengths, so a proxy checked against the wrong source shows a wrong frame count.
 * Returns each clip with the template it is a copy of.
 */
export async function makeBatchMedia(
  dir: string,
  count: number,
  size: { width: number; height: number },
  frameCounts: readonly number[],
): Promise<{ clips: { file: string; template: string }[]; templates: string[] }> {
  const templateDir = path.join(path.dirname(dir), `${path.basename(dir)}-templates`);
  // h264-stereo is 25 fps.
  const templates = await mapPool(frameCounts, 2, (frames) =>
    makeClip(templateDir, `t${frames}`, 'h264-stereo', { ...size, seconds: frames / 25 }),
  );
  mkdirSync(dir, { recursive: true });
  const clips = Array.from({ length: count }, (_, i) => {
    const template = templates[i % templates.length]!;
    const file = path.join(dir, `C${String(i + 1).padStart(4, '0')}.mov`);
    copyFileSync(template, file);
    return { file, template };
  });
  return { clips, templates };
}

export interface ProbedVideo {
  video?: { codec: string; width: number; height: number; frameCount: number | null } | null;
}

/** What is wrong with a proxy next to its source: codec prores, the same size and frame count. */
export function proxyProblems(source: ProbedVideo, proxy: ProbedVideo): string[] {
  const s = source.video;
  const p = proxy.video;
  if (!s || !p) return [p ? 'the source has no video' : 'the proxy has no video'];
  const problems: string[] = [];
  if (p.codec !== 'prores') problems.push(`codec ${p.codec}`);
  if (p.width !== s.width || p.height !== s.height) {
    problems.push(`size ${p.width}x${p.height}, source ${s.width}x${s.height}`);
  }
  if (p.frameCount !== s.frameCount) {
    problems.push(`${String(p.frameCount)} frames, source ${String(s.frameCount)}`);
  }
  return problems;
}
