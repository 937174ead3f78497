/**
 * Chunking: what splitting a long clip into chunks buys and costs, through the product as users
 * run it: a private redis-server, the gateway service (gateway/main.ts), `proxima work`
 * processes each pinned to its own core with `taskset`, and `proxima queue --wait --json`, all
 * reading one config file per run.
 *
 *   1. one long 1080p25 long-GOP H.264 clip unchunked on 1 worker vs chunked on 2 workers
 *      (speedup, target >= 1.85);
 *   2. the same clip chunked vs unchunked on 1 worker (chunking overhead, target <= 3%);
 *   3. a batch of short clips with chunking on and off on 2 workers (must be equal: short
 *      clips are never chunked).
 *
 * From the workers' JSON logs it takes each chunk's encode seconds and frames, the hand-over
 * between chunks and the join, and projects the speedup for 4, 8 and 16 encoders.
 *
 *   npm run bench:chunking -- [--minutes 10] [--short-clips 20] [--short-seconds 8]
 *     [--rounds 2] [--chunk-seconds 30] [--min-seconds 120] [--gop 250]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../cli/stack/embedded-redis.ts';
import { locateFfmpeg, locateFfprobe } from '../core/ffmpeg/locate.ts';
import { userEnv } from './user-env.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'proxima.js');
const ffmpeg = locateFfmpeg('', process.env.PATH).path;
const ffprobe = locateFfprobe('', process.env.PATH).path;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}
const MINUTES = option('minutes', 10);
const SHORT_CLIPS = Math.round(option('short-clips', 20));
const SHORT_SECONDS = option('short-seconds', 8);
const ROUNDS = Math.round(option('rounds', 2));
const CHUNK_SECONDS = option('chunk-seconds', 30);
// The product's default is 120 s; a shortened run lowers it so its long clip is still chunked.
const MIN_SECONDS = option('min-seconds', Math.min(120, Math.floor((MINUTES * 60) / 2)));
const GOP = Math.round(option('gop', 250));
const RATE = 25;
const LONG_SECONDS = Math.round(MINUTES * 60);
const LONG_FRAMES = LONG_SECONDS * RATE;
// A hung chunked clip must end the run with its logs, not hang it.
const TIMEOUT_SECONDS = option('timeout', Math.max(600, LONG_SECONDS * 4));

if (LONG_SECONDS <= MIN_SECONDS) {
  throw new Error(`the long clip (${LONG_SECONDS} s) is not longer than --min-seconds`);
}
if (SHORT_SECONDS >= MIN_SECONDS) {
  throw new Error(`short clips (${SHORT_SECONDS} s) must stay below --min-seconds`);
}

const dir = mkdtempSync(path.join(tmpdir(), 'proxima-chunking-'));
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One line of a process's pino JSON log. */
interface LogLine {
  msg?: string;
  time?: number;
  [key: string]: unknown;
}

function readLog(file: string): LogLine[] {
  if (!existsSync(file)) return [];
  const lines: LogLine[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut off when the process was stopped
    }
  }
  return lines;
}

function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

async function makeMedia(): Promise<{ long: string; short: string[] }> {
  const longDir = path.join(dir, 'long');
  const shortDir = path.join(dir, 'short');
  mkdirSync(longDir);
  mkdirSync(shortDir);
  const clip = async (file: string, secs: number) => {
    // Long-GOP like camera H.264: a chunk's seek decodes from the keyframe before its start,
    // which is part of the per-chunk cost measured here.
    await run(ffmpeg, [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=${RATE}:duration=${secs}`],
      ...['-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${secs}`],
      ...['-map', '0:v', '-map', '1:a', '-vf', 'format=yuv420p'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(GOP)],
      ...['-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000'],
      ...['-timecode', '01:00:00:00', '-f', 'mov', file],
    ]);
    return file;
  };
  const long = path.join(longDir, 'A001C001.mov');
  const piece = 120;
  if (LONG_SECONDS > piece && LONG_SECONDS % piece === 0 && piece % (GOP / RATE) === 0) {
    // Generating the test pattern is slower than encoding it: a 2-minute piece of video alone
    // (whole GOPs, exact length, so the joins leave no gap), joined by stream copy, with the
    // tone generated for the whole clip beside it.
    const part = path.join(dir, 'long-piece.mov');
    await run(ffmpeg, [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=${RATE}:duration=${piece}`],
      ...['-vf', 'format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(GOP)],
      ...['-f', 'mov', part],
    ]);
    const list = path.join(dir, 'long-pieces.txt');
    writeFileSync(
      list,
      `${Array(LONG_SECONDS / piece)
        .fill(`file '${part}'`)
        .join('\n')}\n`,
    );
    await run(ffmpeg, [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'concat', '-safe', '0'],
      ...['-i', list],
      ...['-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${LONG_SECONDS}`],
      ...['-map', '0:v', '-map', '1:a', '-c:v', 'copy'],
      ...['-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000'],
      ...['-timecode', '01:00:00:00', '-f', 'mov', long],
    ]);
  } else {
    await clip(long, LONG_SECONDS);
  }
  const frames = await frameCount(long);
  if (frames !== LONG_FRAMES)
    throw new Error(`the long clip has ${frames} frames, not ${LONG_FRAMES}`);
  const template = await clip(path.join(dir, 'short-template.mov'), SHORT_SECONDS);
  const short = Array.from({ length: SHORT_CLIPS }, (_, i) => {
    const file = path.join(shortDir, `B001C${String(i + 1).padStart(3, '0')}.mov`);
    copyFileSync(template, file);
    return file;
  });
  return { long, short };
}

async function frameCount(file: string): Promise<number> {
  const { stdout } = await run(ffprobe, [
    ...['-v', 'error', '-select_streams', 'v:0', '-count_packets'],
    ...['-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file],
  ]);
  return Number(stdout.trim());
}

interface Proc {
  child: ChildProcess;
  name: string;
  logFile: string;
}

/** What the encoders' ffmpeg children ran with, seen in /proc while they ran. */
interface Seen {
  kind: string;
  threads: string;
  cpus: string;
}

/** CPU seconds and seconds alive of one ffmpeg child, as last sampled. */
interface CpuSample {
  cpu: number;
  first: number;
  last: number;
}

interface Farm {
  root: string;
  env: NodeJS.ProcessEnv;
  workers: Proc[];
  seen: Map<string, Seen>;
  cpu: Map<string, CpuSample>;
  stop(): Promise<void>;
}

/**
 * A farm of real processes: redis-server, the gateway as compose runs it, and one `proxima work`
 * per entry of `cores`, started under `taskset -c <core>` so it and its ffmpeg children use that
 * core alone. The worker derives its encoder threads from the cores it may run on.
 */
async function startFarm(name: string, cores: number[], chunking: boolean): Promise<Farm> {
  const root = path.join(dir, name);
  const logs = path.join(root, 'logs');
  mkdirSync(logs, { recursive: true });
  const redisPort = await freePort();
  const gatewayPort = await freePort();
  const env = userEnv(root, {
    paths: { proxy_root: path.join(root, 'proxies') },
    broker: { url: `redis://127.0.0.1:${redisPort}`, queue: 'bench' },
    gateway: { listen: `127.0.0.1:${gatewayPort}`, url: `http://127.0.0.1:${gatewayPort}` },
    // One job per worker: each worker is one core. nice 0, so both sides of a comparison
    // compete for the CPU the same way with whatever else runs on the machine.
    worker: { concurrency: 1, nice: 0 },
    chunking: { enabled: chunking, min_seconds: MIN_SECONDS, chunk_seconds: CHUNK_SECONDS },
    log: { level: 'info' },
  });

  const procs: Proc[] = [];
  const spawnLogged = (procName: string, cmd: string, args: string[]): Proc => {
    const logFile = path.join(logs, `${procName}.log`);
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    const out = createWriteStream(logFile);
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    child.once('close', () => out.end());
    const p = { child, name: procName, logFile };
    procs.push(p);
    return p;
  };
  const waitFor = async (p: Proc, ready: (text: string) => boolean) => {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (p.child.exitCode !== null) throw new Error(`${p.name} exited:\n${tail(p.logFile)}`);
      if (existsSync(p.logFile) && ready(readFileSync(p.logFile, 'utf8'))) return;
      await sleep(50);
    }
    throw new Error(`${p.name} did not start:\n${tail(p.logFile)}`);
  };

  const redis = spawnLogged('redis', 'redis-server', [
    ...['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', root],
    ...['--save', '', '--appendonly', 'no'],
  ]);
  await waitFor(redis, (t) => t.includes('Ready to accept connections'));
  const gateway = spawnLogged('gateway', process.execPath, ['--import', 'tsx', 'gateway/main.ts']);
  await waitFor(gateway, (t) => t.includes('"gateway listening"'));
  const workers = cores.map((core, i) =>
    spawnLogged(`worker-${i + 1}`, 'taskset', ['-c', String(core), process.execPath, BIN, 'work']),
  );
  await Promise.all(workers.map((w) => waitFor(w, (t) => t.includes('"worker started"'))));

  const seen = new Map<string, Seen>();
  const cpu = new Map<string, CpuSample>();
  const sampler = setInterval(() => sampleChildren(workers, seen, cpu), 250);

  return {
    root,
    env,
    workers,
    seen,
    cpu,
    async stop() {
      clearInterval(sampler);
      for (const p of [...workers, gateway]) p.child.kill('SIGTERM');
      await Promise.all([...workers, gateway].map((p) => exited(p.child)));
      redis.child.kill('SIGTERM');
      await exited(redis.child);
    },
  };
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/**
 * Records the -threads argument and CPU affinity of every ffmpeg a worker is running, and its
 * CPU time: on a shared machine, CPU seconds over seconds alive shows how much of its core an
 * encoder really had.
 */
function sampleChildren(
  workers: Proc[],
  seen: Map<string, Seen>,
  cpu: Map<string, CpuSample>,
): void {
  const parents = new Set(workers.map((w) => w.child.pid));
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      if (!parents.has(ppid)) continue;
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!path.basename(argv[0] ?? '').includes('ffmpeg')) continue;
      const t = argv.indexOf('-threads');
      const kind = argv.includes('concat') ? 'join' : argv.includes('-frames:v') ? 'chunk' : 'clip';
      const entry: Seen = {
        kind,
        threads: t >= 0 ? (argv[t + 1] ?? '?') : 'not set',
        cpus: /^Cpus_allowed_list:\s+(\S+)/m.exec(status)?.[1] ?? '?',
      };
      seen.set(`${entry.kind} ${entry.threads} ${entry.cpus}`, entry);
      // Fields after the command name, which is in parentheses and may hold spaces.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const used = (Number(fields[11]) + Number(fields[12])) / TICKS;
      const now = Date.now() / 1000;
      const prev = cpu.get(pid);
      cpu.set(pid, { cpu: used, first: prev?.first ?? now, last: now });
    } catch {
      // it ended between the listing and the read
    }
  }
}

interface QueueRun {
  wall: number;
  chunks: number | undefined;
  proxies: string[];
}

/** `proxima queue FILES --wait --json`, timed from start to exit: what the editor waits for. */
async function queue(farm: Farm, files: string[]): Promise<QueueRun> {
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, [BIN, 'queue', '--json', '--wait', ...files], {
    cwd: ROOT,
    env: farm.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGTERM'), TIMEOUT_SECONDS * 1000);
  const code = await exited(child);
  clearTimeout(timer);
  children.delete(child);
  const wall = seconds(start);
  const logs = () => farm.workers.map((w) => `--- ${w.name}\n${tail(w.logFile)}`).join('\n');
  if (code !== 0) {
    throw new Error(`proxima queue exited ${String(code)}: ${out}${err}\n${logs()}`);
  }
  const summary = JSON.parse(out) as {
    counts: { completed: number; failed: number };
    jobs: { proxyPath: string; chunks?: unknown[] }[];
  };
  if (summary.counts.completed !== files.length) {
    throw new Error(
      `${summary.counts.completed} of ${files.length} proxies made: ${out}\n${logs()}`,
    );
  }
  const c = summary.jobs[0]?.chunks;
  return {
    wall,
    chunks: Array.isArray(c) ? c.length : undefined,
    proxies: summary.jobs.map((j) => j.proxyPath),
  };
}

interface ChunkLine {
  worker: number;
  chunk: number;
  frames: number;
  seconds: number;
  /** Of those, the chunk's ffmpeg alone; the rest is the job around it (probe, verify, Redis). */
  ffmpegSeconds: number;
  start: number;
  end: number;
}

interface LongRun {
  wall: number;
  /** The unchunked job's own seconds ('proxy written'). */
  jobSeconds?: number;
  chunks: ChunkLine[];
  /** Clip job start until the first chunk starts: probe, split, chunk jobs queued. */
  head?: number;
  /** Last chunk done until the proxy is written: the clip job taken again, join, verify. */
  tailSeconds?: number;
  joinSeconds?: number;
  /** Clip job start until the proxy is written. */
  clipSeconds?: number;
  seen: Seen[];
  proxyBytes: number;
  /** CPU seconds of the encoders' ffmpeg children over the seconds they ran, 1 = a whole core. */
  cpuShare: number;
}

async function runLong(
  name: string,
  file: string,
  cores: number[],
  chunking: boolean,
): Promise<LongRun> {
  const farm = await startFarm(name, cores, chunking);
  let q: QueueRun;
  try {
    q = await queue(farm, [file]);
  } finally {
    await farm.stop();
  }
  const proxy = q.proxies[0];
  if (proxy) {
    const frames = await frameCount(proxy);
    if (frames !== LONG_FRAMES) throw new Error(`${name}: proxy has ${frames} frames`);
  }
  const result: LongRun = {
    wall: q.wall,
    chunks: [],
    seen: [...farm.seen.values()],
    proxyBytes: proxy ? statSync(proxy).size : 0,
    cpuShare: cpuShare(farm.cpu),
  };
  let clipStart: number | undefined;
  let clipEnd: number | undefined;
  farm.workers.forEach((w, i) => {
    for (const l of readLog(w.logFile)) {
      const time = l.time ?? 0;
      if (l.msg === 'proxy written' && typeof l.seconds === 'number') result.jobSeconds = l.seconds;
      if (l.msg === 'chunk encoded' && typeof l.seconds === 'number') {
        const frames = Number(l.frames);
        result.chunks.push({
          worker: i + 1,
          chunk: Number(l.chunk),
          frames,
          seconds: l.seconds,
          ffmpegSeconds: Number(l.ffmpegSeconds ?? l.seconds),
          start: time - l.seconds * 1000,
          end: time,
        });
      }
      if (l.msg === 'proxy joined from its chunks and written' && typeof l.seconds === 'number') {
        result.joinSeconds = Number(l.joinSeconds);
        result.clipSeconds = l.seconds;
        clipStart = time - l.seconds * 1000;
        clipEnd = time;
      }
    }
  });
  // The workers' log says whether it was chunked; the --json summary's chunk list may be absent.
  if (chunking && result.chunks.length === 0) {
    throw new Error(`${name}: the long clip was not chunked (min_seconds ${MIN_SECONDS})`);
  }
  if (q.chunks !== undefined && q.chunks !== result.chunks.length) {
    throw new Error(`${name}: ${q.chunks} chunks in the summary, ${result.chunks.length} logged`);
  }
  result.chunks.sort((a, b) => a.start - b.start);
  if (clipStart !== undefined && clipEnd !== undefined && result.chunks.length > 0) {
    result.head = (Math.min(...result.chunks.map((c) => c.start)) - clipStart) / 1000;
    result.tailSeconds = (clipEnd - Math.max(...result.chunks.map((c) => c.end))) / 1000;
  }
  return result;
}

function cpuShare(samples: Map<string, CpuSample>): number {
  let used = 0;
  let alive = 0;
  for (const s of samples.values()) {
    used += s.cpu;
    alive += s.last - s.first;
  }
  return alive > 0 ? used / alive : 0;
}

async function runShort(name: string, files: string[], chunking: boolean): Promise<number> {
  const farm = await startFarm(name, [0, 1], chunking);
  try {
    const q = await queue(farm, files);
    const chunked = readLogs(farm).some((l) => l.msg === 'chunk encoded');
    if (chunked) throw new Error(`${name}: a short clip was chunked`);
    return q.wall;
  } finally {
    await farm.stop();
  }
}

function readLogs(farm: Farm): LogLine[] {
  return farm.workers.flatMap((w) => readLog(w.logFile));
}

interface Round {
  round: number;
  unchunked1: LongRun;
  chunked2: LongRun;
  chunked1: LongRun;
  /** Unchunked on the other core while chunked1 ran: the same minutes, so the same drift. */
  beside: LongRun;
  shortOff: number;
  shortOn: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const fmt = (x: number | undefined, digits = 2) => (x === undefined ? '-' : x.toFixed(digits));

/** Hand-over between one chunk's end and the next chunk's start on the same worker. */
function gaps(chunks: ChunkLine[]): number[] {
  const out: number[] = [];
  const byWorker = new Map<number, ChunkLine[]>();
  for (const c of chunks) byWorker.set(c.worker, [...(byWorker.get(c.worker) ?? []), c]);
  for (const list of byWorker.values()) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) out.push((list[i]!.start - list[i - 1]!.end) / 1000);
  }
  return out;
}

/**
 * Wall time of the long clip on n encoders: the serial head and tail around chunks handed out
 * in order to whichever encoder is free first (as BullMQ does), each costing its frames at the
 * single-core rate plus the fixed cost per chunk and the hand-over.
 */
function projectWall(
  n: number,
  frames: number[],
  perFrame: number,
  fixed: number,
  handover: number,
  serial: number,
): number {
  const free = new Array<number>(n).fill(0);
  for (const f of frames) {
    const i = free.indexOf(Math.min(...free));
    free[i] = free[i]! + f * perFrame + fixed + handover;
  }
  return serial + Math.max(...free) - handover;
}

async function main(): Promise<void> {
  const { stdout: version } = await run(ffmpeg, ['-version']);
  const date = new Date().toISOString().slice(0, 10);
  console.log(
    `## Chunking: ${availableParallelism()} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, ${date}\n`,
  );
  console.log(
    `${version.split(' ').slice(0, 3).join(' ')}; long clip ${MINUTES} min 1080p${RATE} H.264 ultrafast ` +
      `GOP ${GOP} + AAC stereo; chunking.min_seconds ${MIN_SECONDS}, chunk_seconds ` +
      `${CHUNK_SECONDS}; ${SHORT_CLIPS} short clips of ${SHORT_SECONDS} s; ${ROUNDS} round(s); ` +
      `ProRes Proxy 720p; workers pinned with taskset, concurrency 1.\n`,
  );
  const made = process.hrtime.bigint();
  const media = await makeMedia();
  console.log(`media generated in ${seconds(made).toFixed(1)} s\n`);

  const rounds: Round[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // The machine's speed drifts by several per cent over minutes. The cost of chunking is
    // measured with both runs at once, chunked on one core and unchunked on the other (swapped
    // every round), so both see the same minutes; the speedup's pair runs back to back, in
    // the other order every round.
    const odd = round % 2 === 1;
    const long: Record<string, () => Promise<LongRun | [LongRun, LongRun]>> = {
      pair: () =>
        Promise.all([
          runLong(`r${round}-chunked-1w`, media.long, [odd ? 1 : 0], true),
          runLong(`r${round}-unchunked-1w-beside`, media.long, [odd ? 0 : 1], false),
        ]),
      unchunked1: () => runLong(`r${round}-unchunked-1w`, media.long, [0], false),
      chunked2: () => runLong(`r${round}-chunked-2w`, media.long, [0, 1], true),
    };
    const order = odd ? ['pair', 'unchunked1', 'chunked2'] : ['chunked2', 'unchunked1', 'pair'];
    const got: Record<string, LongRun> = {};
    for (const key of order) {
      const t = process.hrtime.bigint();
      const r = await long[key]!();
      if (Array.isArray(r)) [got.chunked1, got.beside] = r;
      else got[key] = r;
      const walls = Array.isArray(r)
        ? r.map((x) => x.wall.toFixed(2)).join(' s and ')
        : r.wall.toFixed(2);
      console.error(`round ${round}: ${key} ${walls} s (${seconds(t).toFixed(0)} s)`);
    }
    const offFirst = round % 2 === 1;
    const shortA = await runShort(`r${round}-short-a`, media.short, !offFirst);
    const shortB = await runShort(`r${round}-short-b`, media.short, offFirst);
    rounds.push({
      round,
      unchunked1: got.unchunked1!,
      chunked2: got.chunked2!,
      chunked1: got.chunked1!,
      beside: got.beside!,
      shortOff: offFirst ? shortB : shortA,
      shortOn: offFirst ? shortA : shortB,
    });
    console.error(`round ${round}: short batches done`);
  }

  console.log(
    `| round | unchunked, 1 worker, s | chunked, 2 workers, s | speedup | chunked, 1 worker, s | ` +
      `unchunked beside it, s | overhead | ${SHORT_CLIPS} short, chunking off, s | ${SHORT_CLIPS} short, chunking on, s | on/off |`,
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rounds) {
    const u = r.unchunked1.wall;
    const b = r.beside.wall;
    console.log(
      `| ${r.round} | ${fmt(u)} | ${fmt(r.chunked2.wall)} | ${fmt(u / r.chunked2.wall, 3)} | ` +
        `${fmt(r.chunked1.wall)} | ${fmt(b)} | ${fmt((r.chunked1.wall / b - 1) * 100, 1)}% | ` +
        `${fmt(r.shortOff)} | ${fmt(r.shortOn)} | ${fmt(r.shortOn / r.shortOff, 3)} |`,
    );
  }
  const best = (f: (r: Round) => number) => Math.min(...rounds.map(f));
  const u1 = best((r) => r.unchunked1.wall);
  const c2 = best((r) => r.chunked2.wall);
  const c1 = best((r) => r.chunked1.wall);
  const b1 = best((r) => r.beside.wall);
  // Each round's ratios are of runs next to each other in time, so the drift between rounds
  // cancels out of their mean; best-of-each compares runs minutes apart.
  const speedups = rounds.map((r) => r.unchunked1.wall / r.chunked2.wall);
  const overheads = rounds.map((r) => r.chunked1.wall / r.beside.wall - 1);
  const shorts = rounds.map((r) => r.shortOn / r.shortOff);
  console.log(
    `\nmean of ${ROUNDS} rounds: speedup ${mean(speedups).toFixed(3)} (target >= 1.85), overhead ` +
      `${(mean(overheads) * 100).toFixed(1)}% (target <= 3%), short on/off ` +
      `${mean(shorts).toFixed(3)}; best of each: speedup ${(u1 / c2).toFixed(3)}, overhead ` +
      `${((c1 / b1 - 1) * 100).toFixed(1)}%, short on/off ` +
      `${(best((r) => r.shortOn) / best((r) => r.shortOff)).toFixed(3)}`,
  );

  const seen = new Set<string>();
  for (const r of rounds) {
    for (const [name, run] of Object.entries({
      'unchunked, 1 worker': r.unchunked1,
      'chunked, 2 workers': r.chunked2,
      'chunked, 1 worker': r.chunked1,
      'unchunked beside it': r.beside,
    })) {
      for (const s of run.seen)
        seen.add(`${name}: ${s.kind} ffmpeg -threads ${s.threads}, cpus ${s.cpus}`);
    }
  }
  console.log(`\nencoder threads seen in /proc:\n${[...seen].map((s) => `- ${s}`).join('\n')}`);
  // Below ~0.95 the encoders waited for a core: other load on the machine, not the product.
  console.log(
    `\nCPU share of each encoder's ffmpeg (CPU s / s alive; 1.00 = a whole core): ` +
      rounds
        .map(
          (r) =>
            `round ${r.round}: unchunked 1w ${fmt(r.unchunked1.cpuShare)}, chunked 2w ` +
            `${fmt(r.chunked2.cpuShare)}, chunked 1w ${fmt(r.chunked1.cpuShare)}`,
        )
        .join('; '),
  );

  // Seconds per frame of one encoder on one core, from the unchunked job itself.
  const perFrame =
    mean(rounds.map((r) => r.unchunked1.jobSeconds ?? r.unchunked1.wall)) / LONG_FRAMES;
  const costs = (key: 'chunked1' | 'chunked2') => {
    const all = rounds.map((r) => r[key]);
    const chunks = all.flatMap((x) => x.chunks);
    // Against the unchunked run of the same minutes: beside it for one worker.
    const base = rounds.map((r) => (key === 'chunked1' ? r.beside : r.unchunked1));
    const rate = mean(base.map((u) => u.jobSeconds ?? u.wall)) / LONG_FRAMES;
    const fixed = chunks.map((c) => c.seconds - c.frames * rate);
    return {
      count: mean(all.map((x) => x.chunks.length)),
      frames: mean(chunks.map((c) => c.frames)),
      seconds: mean(chunks.map((c) => c.seconds)),
      fixed: mean(fixed),
      fixedMin: Math.min(...fixed),
      fixedMax: Math.max(...fixed),
      // Measured on the chunk itself, so untouched by the machine's speed drifting between runs.
      around: mean(chunks.map((c) => c.seconds - c.ffmpegSeconds)),
      handover: mean(all.flatMap((x) => gaps(x.chunks))),
      head: mean(all.map((x) => x.head ?? 0)),
      tail: mean(all.map((x) => x.tailSeconds ?? 0)),
      join: mean(all.map((x) => x.joinSeconds ?? 0)),
      // CLI start, enqueue, waiting for the batch's end: around the clip job.
      outside: mean(all.map((x) => x.wall - (x.clipSeconds ?? x.wall))),
    };
  };
  const one = costs('chunked1');
  const two = costs('chunked2');
  console.log(
    `\nper frame on one core (unchunked job): ${(perFrame * 1000).toFixed(2)} ms ` +
      `(${(1 / perFrame).toFixed(1)} fps)\n`,
  );
  console.log(
    '| run | chunks | frames per chunk | chunk encode, s | fixed cost per chunk, s (min-max) | ' +
      'job around its ffmpeg, s | hand-over, s | head (probe, split), s | join (joinSeconds), s | ' +
      'tail (last chunk to proxy), s |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, c] of [
    ['chunked, 1 worker', one],
    ['chunked, 2 workers', two],
  ] as const) {
    console.log(
      `| ${name} | ${fmt(c.count, 0)} | ${fmt(c.frames, 0)} | ${fmt(c.seconds)} | ` +
        `${fmt(c.fixed)} (${fmt(c.fixedMin)}-${fmt(c.fixedMax)}) | ${fmt(c.around)} | ` +
        `${fmt(c.handover)} | ` +
        `${fmt(c.head)} | ${fmt(c.join)} | ${fmt(c.tail)} |`,
    );
  }

  // Projection: the same clip on n encoders, from the 1-worker chunked run's costs: it ran on
  // the same core as the unchunked run the per-frame rate comes from, so the difference is the
  // chunking alone. Head, tail and the time outside the clip job are serial. The 2-worker run
  // checks the model: where it is slower than projected, encoders slowed each other (or other
  // load took a core).
  const frames = rounds[0]!.chunked1.chunks
    .slice()
    .sort((a, b) => a.chunk - b.chunk)
    .map((c) => c.frames);
  const serial = one.head + one.tail + one.outside;
  const unchunked = mean(rounds.map((r) => r.unchunked1.wall));
  const sourceBytes = statSync(media.long).size;
  console.log(
    `\nprojection (chunks of ${frames.length ? fmt(mean(frames), 0) : '-'} frames, ` +
      `fixed ${fmt(one.fixed)} s + hand-over ${fmt(one.handover)} s per chunk, serial ` +
      `${fmt(serial)} s: head ${fmt(one.head)}, tail ${fmt(one.tail)}, outside the clip job ` +
      `${fmt(one.outside)}; unchunked on one encoder ${fmt(unchunked)} s):\n`,
  );
  console.log('| encoders | projected wall, s | speedup | per encoder |');
  console.log('| ---: | ---: | ---: | ---: |');
  const projected = new Map<number, number>();
  for (const n of [1, 2, 4, 8, 16, frames.length]) {
    if (projected.has(n)) continue;
    const wall = projectWall(n, frames, perFrame, one.fixed, one.handover, serial);
    projected.set(n, wall);
    const label = n === frames.length ? `${n} (one chunk each)` : String(n);
    console.log(
      `| ${label} | ${fmt(wall)} | ${fmt(unchunked / wall, 2)} | ${fmt(unchunked / wall / n, 2)} |`,
    );
  }
  const limit = unchunked / (serial + Math.max(...frames) * perFrame + one.fixed);
  console.log(
    `\nmeasured for comparison: 1 worker ${fmt(mean(rounds.map((r) => r.chunked1.wall)))} s, ` +
      `2 workers ${fmt(mean(rounds.map((r) => r.chunked2.wall)))} s. Upper bound with one ` +
      `chunk per encoder: speedup ${fmt(limit)}; the serial part alone caps it at ` +
      `${fmt(unchunked / serial, 1)}.`,
  );
  // Where more encoders stop paying: the clip's chunks come in waves, so past the point where
  // the waves stop getting fewer an encoder adds nothing; before it, the serial head and tail
  // and the fixed cost per chunk weigh more with every encoder.
  const curve = Array.from({ length: frames.length }, (_, i) => {
    const n = i + 1;
    return unchunked / projectWall(n, frames, perFrame, one.fixed, one.handover, serial);
  });
  const top = Math.max(...curve);
  const nearTop = curve.findIndex((x) => x >= 0.9 * top) + 1;
  const halfIdle = curve.findIndex((x, i) => x / (i + 1) < 0.5) + 1;
  console.log(
    `stops paying: 90% of the best speedup (${fmt(top)}) with ${nearTop} encoders; ` +
      (halfIdle > 0
        ? `from ${halfIdle} encoders each one does less than half an encoder's work`
        : `every encoder up to ${frames.length} still does more than half an encoder's work`) +
      `; past ${frames.length} (one chunk each) none adds anything.`,
  );
  // The join reads the whole source (for its audio) and the chunks, and writes the proxy.
  const joined = rounds[0]!.chunked2.proxyBytes;
  const joinBytes = sourceBytes + 2 * joined;
  const encodeBytesPerSec = (sourceBytes + joined) / (LONG_FRAMES * perFrame);
  console.log(
    `storage: source ${(sourceBytes / 1e6).toFixed(0)} MB, proxy ${(joined / 1e6).toFixed(0)} MB; ` +
      `the join moves ${(joinBytes / 1e6).toFixed(0)} MB (${fmt(joinBytes / 1e6 / Math.max(one.join, 1e-3), 0)} MB/s here), ` +
      `each encoder ${(encodeBytesPerSec / 1e6).toFixed(1)} MB/s; a 1 GbE share ` +
      `(~110 MB/s) carries ${Math.floor(110e6 / encodeBytesPerSec)} encoders and joins in ` +
      `${fmt(joinBytes / 110e6, 1)} s, 10 GbE (~1100 MB/s) ${Math.floor(1100e6 / encodeBytesPerSec)}.`,
  );
}

await main();
