/**
 * Big batches through the gateway's HTTP API, as clients send them: a gateway started with
 * `proxima up --workers 0` on a private redis-server, so every job stays waiting. Times POST
 * /v1/batches of 1000 and of --sources sources, GET of the big batch, the batch list and the
 * status with about --waiting jobs waiting, four big batches POSTed at once, and counts the
 * Redis commands an idle event stream on the big batch costs per heartbeat.
 *
 * The gateway reads nothing of a source on disk when it queues it (paths.media_roots is a check
 * of the path only; the workers stat the file), so the sources are made-up files below the media
 * root, each batch in its own folder: nothing deduplicates.
 *
 * Each request gives up after 120 s (shown as a timeout), and what has not started 8 minutes into
 * the run is skipped, so a slow gateway makes the table show it instead of stalling the run.
 *
 *   npm run bench:batches -- [--sources 10000] [--waiting 50000] [--runs 3]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, startEmbeddedRedis, type EmbeddedRedis } from '../cli/stack/embedded-redis.ts';
import {
  batchListResponseSchema,
  batchViewSchema,
  enqueueResponseSchema,
  statusResponseSchema,
} from '../core/job/contract.ts';
import { jobQueueName, keys } from '../core/job/keys.ts';
import { createLogger } from '../core/log.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { DEFAULT_HEARTBEAT_MS } from '../gateway/routes/events.ts';
import { userEnv } from './user-env.ts';

const BIN = fileURLToPath(new URL('../bin/proxima.js', import.meta.url));
const { values } = parseArgs({
  options: {
    sources: { type: 'string', default: '10000' },
    waiting: { type: 'string', default: '50000' },
    runs: { type: 'string', default: '3' },
  },
});
const SOURCES = Number(values.sources);
const WAITING = Number(values.waiting);
const RUNS = Number(values.runs);
const SMALL = Math.min(1000, SOURCES);
const CONCURRENT = 4;
/** Every request gives up after this long: a slow gateway caps the run instead of stalling it. */
const TIMEOUT_MS = 120_000;
/** After a request given up on: at most this long for the gateway to finish it anyway. */
const SETTLE_MS = 60_000;
/** Heartbeats per measuring window of the idle event stream. */
const BEATS = 2;
/** Measurements not started by then are skipped, so a slow gateway cannot stretch the run. */
const BUDGET_MS = 8 * 60_000;
const QUEUE = 'bench';

const dir = mkdtempSync(path.join(tmpdir(), 'proxima-batches-'));
const media = path.join(dir, 'media');
const MTIME = Date.UTC(2024, 0, 14, 9, 30);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (since: number) => (performance.now() - since) / 1000;

// ---- measurements ----

type Outcome = { seconds: number; bytes: number } | { failure: string };

interface Row {
  what: string;
  /** Jobs waiting when it was measured. */
  waiting: string;
  samples: Outcome[];
  /** Runs left out: the time budget was spent. */
  skipped: number;
  /** Shown instead of figures when there are none to show. */
  says?: string;
  /** How one value is shown; seconds by default. */
  unit?: (n: number) => string;
  notes: string[];
}

const rows: Row[] = [];
let deadline = Infinity;
const overBudget = () => performance.now() > deadline;
/** A row measured from now on, with the jobs waiting now. */
function row(what: string): Row {
  const r: Row = { what, waiting: String(queued), samples: [], skipped: 0, notes: [] };
  rows.push(r);
  return r;
}
/** When the row's own requests queued jobs: how many waited before and after. */
function queuedDuring(r: Row): void {
  if (r.waiting !== String(queued)) r.waiting += ` to ${queued}`;
}

function fmtSeconds(s: number): string {
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`;
}
function fmtBytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}
const fmtCount = (n: number) =>
  Math.abs(n) < 0.05
    ? '0'
    : Math.abs(n) < 10
      ? n.toFixed(1)
      : Math.round(n).toLocaleString('en-US');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  return s.length % 2 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs `once` up to `times` times; after a timeout the rest are skipped, they would time out too. */
async function repeat(r: Row, times: number, once: () => Promise<Outcome>): Promise<void> {
  for (let i = 0; i < times; i++) {
    if (overBudget()) {
      r.skipped = times - i;
      return;
    }
    const o = await once();
    r.samples.push(o);
    if ('failure' in o) {
      // The gateway keeps working on a request its client gave up on.
      await settle();
      if (o.failure.startsWith('timeout')) break;
    }
  }
}

// ---- the gateway over HTTP ----

let base = '';

interface Reply {
  seconds: number;
  bytes: number;
  status: number;
  text: string;
}

/** One request, timed from sending it until its whole body is read. */
async function request(method: string, route: string, body?: string): Promise<Reply | string> {
  const start = performance.now();
  try {
    const res = await fetch(`${base}${route}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const buf = Buffer.from(await res.arrayBuffer());
    return { seconds: seconds(start), bytes: buf.length, status: res.status, text: buf.toString() };
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError') return `timeout (> ${TIMEOUT_MS / 1000} s)`;
    return `${e.name}: ${e.message}`;
  }
}

function httpFailure(r: Reply): string {
  let message = r.text.slice(0, 200);
  try {
    const body = JSON.parse(r.text) as { error?: { code?: string; message?: string } };
    if (body.error) message = `${body.error.code}: ${body.error.message}`.slice(0, 200);
  } catch {
    // not JSON
  }
  return `HTTP ${r.status} ${message}`;
}

/** Jobs in the wait list when last counted: every job queued, as no worker runs. */
let queued = 0;
async function countWaiting(): Promise<number> {
  queued = await spy!.llen(`bull:${jobQueueName(QUEUE)}:wait`);
  return queued;
}
let batchNo = 0;
/** The first batch of --sources sources: the one viewed and followed. */
let bigBatch = '';

/** A request body of `n` sources no earlier batch has, in a folder of their own. */
function enqueueBody(n: number): string {
  const b = ++batchNo;
  const folder = path.join(media, `2024-01-14`, `CARD${String(b).padStart(3, '0')}`);
  const sources = Array.from({ length: n }, (_, i) => ({
    path: path.join(folder, `A${String(b).padStart(3, '0')}C${String(i).padStart(5, '0')}.mov`),
    size: 800_000_000 + i * 4096,
    mtimeMs: MTIME + i * 1000,
  }));
  return JSON.stringify({ v: PROTOCOL_VERSION, label: `bench batch ${b}`, sources });
}

async function enqueue(body: string, n: number): Promise<Outcome & { id?: string }> {
  const r = await request('POST', '/v1/batches', body);
  if (typeof r === 'string') return { failure: r };
  if (r.status !== 201) return { failure: httpFailure(r) };
  const parsed = enqueueResponseSchema.safeParse(JSON.parse(r.text));
  if (!parsed.success) return { failure: `bad response: ${parsed.error.issues[0]?.message}` };
  const { batch, deduplicated } = parsed.data;
  await countWaiting();
  if (batch.jobs.length !== n || deduplicated !== 0) {
    return { failure: `${batch.jobs.length} jobs of ${n}, ${deduplicated} deduplicated` };
  }
  return { seconds: r.seconds, bytes: r.bytes, id: batch.id };
}

async function timedGet(route: string, check: (json: unknown) => string | null): Promise<Outcome> {
  const r = await request('GET', route);
  if (typeof r === 'string') return { failure: r };
  if (r.status !== 200) return { failure: httpFailure(r) };
  let wrong: string | null;
  try {
    wrong = check(JSON.parse(r.text));
  } catch (err) {
    wrong = `bad response: ${(err as Error).message.slice(0, 200)}`;
  }
  return wrong ? { failure: wrong } : { seconds: r.seconds, bytes: r.bytes };
}

// ---- the private redis ----

let redis: EmbeddedRedis | null = null;
let spy: Redis | null = null;

interface RedisStats {
  at: number;
  /** Calls per command, INFO (ours) left out. */
  calls: Map<string, number>;
  total: number;
  /** redis-server's CPU seconds, user and system. */
  cpu: number;
}

async function redisStats(): Promise<RedisStats> {
  const text = (await spy!.call('INFO', 'commandstats', 'cpu')) as string;
  const calls = new Map<string, number>();
  let total = 0;
  let cpu = 0;
  for (const line of text.split('\r\n')) {
    const cmd = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (cmd && cmd[1] !== 'info') {
      calls.set(cmd[1]!, Number(cmd[2]));
      total += Number(cmd[2]);
    }
    const used = /^used_cpu_(?:user|sys):([\d.]+)/.exec(line);
    if (used) cpu += Number(used[1]);
  }
  return { at: performance.now(), calls, total, cpu };
}

function callsBetween(a: RedisStats, b: RedisStats): Map<string, number> {
  return new Map([...b.calls].map(([cmd, calls]) => [cmd, calls - (a.calls.get(cmd) ?? 0)]));
}

/** Until Redis has served no command for half a second (at most `limitMs`). */
async function redisQuiet(limitMs = 60_000): Promise<RedisStats> {
  const end = Date.now() + limitMs;
  let last = await redisStats();
  for (;;) {
    await sleep(500);
    const now = await redisStats();
    if (now.total === last.total || Date.now() > end) return now;
    last = now;
  }
}

/** After a failed request: until the gateway and Redis are done with it. */
async function settle(): Promise<void> {
  const end = Date.now() + SETTLE_MS;
  await redisQuiet(SETTLE_MS);
  while (Date.now() < end) {
    const r = await request('GET', '/v1/health');
    if (typeof r !== 'string' && r.status === 200) break;
    await sleep(1000);
  }
  await countWaiting();
}

/**
 * The oldest batch of --sources jobs, read from the gateway's own records: the one whose POST
 * timed out may still have been queued.
 */
async function findBigBatch(): Promise<string> {
  const ids = await spy!.zrange(keys.batches(QUEUE), '0', '-1');
  for (const id of ids) {
    const text = await spy!.get(keys.batch(QUEUE, id));
    const jobs = text ? (JSON.parse(text) as { jobIds?: unknown[] }).jobIds?.length : 0;
    if (jobs === SOURCES) return id;
  }
  return '';
}

// ---- the gateway process ----

let gateway: ChildProcess | null = null;
let gatewayExit: Promise<number | null> | null = null;
let gatewayLog = '';

async function startGateway(brokerUrl: string): Promise<number> {
  const port = await freePort();
  mkdirSync(media, { recursive: true });
  const env = userEnv(dir, {
    paths: { proxy_root: path.join(dir, 'proxies'), media_roots: [media] },
    broker: { url: brokerUrl, queue: QUEUE },
    gateway: { listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` },
    log: { level: 'warn' },
  });
  const start = performance.now();
  const child = spawn(process.execPath, [BIN, 'up', '--workers', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  gateway = child;
  gatewayExit = new Promise((resolve) => {
    child.once('error', () => resolve(null));
    child.once('exit', (code) => resolve(code));
  });
  child.stderr!.on('data', (d: Buffer) => (gatewayLog += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('press Ctrl-C to stop')) resolve();
    });
    void gatewayExit!.then((code) =>
      reject(new Error(`proxima up exited ${String(code)}: ${out}${gatewayLog}`)),
    );
  });
  base = `http://127.0.0.1:${port}`;
  return seconds(start);
}

async function stopAll(): Promise<void> {
  if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
    gateway.kill('SIGINT');
    const timer = setTimeout(() => gateway?.kill('SIGKILL'), 15_000);
    await gatewayExit;
    clearTimeout(timer);
  }
  spy?.disconnect();
  await redis?.stop();
}

// ---- the idle event stream ----

const HEARTBEAT = ': heartbeat';

interface StreamFigures {
  snapshot: Outcome;
  perBeat: { calls: number; cpu: number; top: string }[];
  baselinePerSecond: number;
  failure?: string;
}

/**
 * Redis work per heartbeat of an idle stream: windows from one quiet moment after a heartbeat
 * to the quiet after the BEATS-th next one, each minus what Redis serves in the same time with
 * no stream open (the gateway's own blocking event reads).
 */
async function idleStream(batchId: string, windows: number): Promise<StreamFigures> {
  // INFO twice a second throughout, so the baseline and the windows carry the same load of it.
  const poller = setInterval(() => void redisStats().catch(() => {}), 500);
  try {
    return await measureStream(batchId, windows);
  } finally {
    clearInterval(poller);
  }
}

async function measureStream(batchId: string, windows: number): Promise<StreamFigures> {
  const base0 = await redisQuiet();
  await sleep(BEATS * DEFAULT_HEARTBEAT_MS);
  const base1 = await redisStats();
  const baseSecs = (base1.at - base0.at) / 1000;
  const baselinePerSecond = (base1.total - base0.total) / baseSecs;
  const baselineCpu = (base1.cpu - base0.cpu) / baseSecs;
  const baselineCalls = callsBetween(base0, base1);
  const figures: StreamFigures = {
    snapshot: { failure: 'no snapshot' },
    perBeat: [],
    baselinePerSecond,
  };

  const abort = new AbortController();
  let beats = 0;
  let snapshotAt = 0;
  let ended = false;
  const beat: (() => void)[] = [];
  const start = performance.now();
  let bytes = 0;
  const reading = (async () => {
    const res = await fetch(`${base}/v1/batches/${batchId}/events`, {
      headers: { accept: 'text/event-stream' },
      signal: abort.signal,
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status} ${await res.text()}`);
    const decoder = new TextDecoder();
    let tail = '';
    for await (const chunk of res.body!) {
      bytes += chunk.length;
      let text = tail + decoder.decode(chunk, { stream: true });
      // The snapshot is the first event; an event ends with a blank line.
      if (!snapshotAt && text.includes('\n\n')) snapshotAt = performance.now();
      for (let i = text.indexOf(HEARTBEAT); i >= 0; i = text.indexOf(HEARTBEAT)) {
        beats++;
        beat.splice(0).forEach((f) => f());
        text = text.slice(i + HEARTBEAT.length);
      }
      tail = text.slice(-HEARTBEAT.length);
      if (/^event: done/m.test(text)) figures.failure = 'the stream sent done';
    }
    ended = true;
  })().catch((err: Error) => {
    ended = true;
    if (err.name !== 'AbortError') figures.failure = err.message;
  });

  const nextBeat = (count: number, limitMs = 3 * DEFAULT_HEARTBEAT_MS) =>
    new Promise<boolean>((resolve) => {
      const deadline = setTimeout(() => resolve(false), limitMs);
      const wait = () => {
        if (beats >= count || ended) {
          clearTimeout(deadline);
          resolve(!ended);
        } else beat.push(wait);
      };
      wait();
    });

  try {
    // The snapshot is read before the stream opens, and the first heartbeat follows it.
    if (!(await nextBeat(1, TIMEOUT_MS + DEFAULT_HEARTBEAT_MS))) {
      figures.failure ??= 'no heartbeat';
      return figures;
    }
    figures.snapshot = { seconds: (snapshotAt - start) / 1000, bytes };
    let from = await redisQuiet();
    let fromBeats = beats;
    for (let w = 0; w < windows && (w === 0 || !overBudget()); w++) {
      if (!(await nextBeat(fromBeats + BEATS))) {
        figures.failure ??= 'heartbeats stopped';
        break;
      }
      const to = await redisQuiet();
      const n = beats - fromBeats;
      const secs = (to.at - from.at) / 1000;
      // Per command, what the stream added to the gateway's own reads.
      const top = [...callsBetween(from, to)]
        .map(
          ([cmd, d]) => [cmd, (d - ((baselineCalls.get(cmd) ?? 0) / baseSecs) * secs) / n] as const,
        )
        .filter(([, d]) => d >= 0.5)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([cmd, d]) => `${cmd} ${fmtCount(d)}`)
        .join(', ');
      figures.perBeat.push({
        calls: (to.total - from.total - baselinePerSecond * secs) / n,
        cpu: (to.cpu - from.cpu - baselineCpu * secs) / n,
        top,
      });
      from = to;
      fromBeats = beats;
    }
    return figures;
  } finally {
    abort.abort();
    await reading;
  }
}

// ---- the run ----

/** One page of the big batch, if GET /v1/batches/:id takes ?limit (it may not). */
async function pageOfBatch(page: Row): Promise<void> {
  const route = `/v1/batches/${bigBatch}?limit=100`;
  let jobs = 0;
  const first = await timedGet(route, (json) => {
    jobs = batchViewSchema.parse(json).jobs.length;
    return null;
  });
  if ('failure' in first) {
    page.samples.push(first);
    await settle();
  } else if (jobs > 100) {
    page.says = 'not supported';
    page.notes.push(
      `the route ignores ?limit: ${jobs} jobs, ${fmtBytes(first.bytes)} in ${fmtSeconds(first.seconds)}`,
    );
  } else {
    page.samples.push(first);
    await repeat(page, RUNS - 1, () => timedGet(route, () => null));
    page.notes.push(`${jobs} jobs, ${fmtBytes(first.bytes)}`);
  }
}

async function main(): Promise<void> {
  const logger = createLogger({ level: 'silent', pretty: false });
  redis = await startEmbeddedRedis({
    dataDir: path.join(dir, 'redis'),
    searchPath: process.env.PATH ?? '',
    logger,
  });
  spy = new Redis(redis.url);
  const startup = await startGateway(redis.url);
  const runStart = performance.now();
  deadline = runStart + BUDGET_MS;
  console.error(`gateway up in ${startup.toFixed(1)} s at ${base}, broker ${redis.url}`);
  const progress = (what: string) =>
    console.error(`[${seconds(runStart).toFixed(0)} s] ${what} (${queued} jobs waiting)`);

  // 1. One batch at a time, each new.
  for (const n of SMALL === SOURCES ? [SOURCES] : [SMALL, SOURCES]) {
    progress(`POST /v1/batches with ${n} sources`);
    const r = row(`POST /v1/batches, ${n} sources`);
    await repeat(r, RUNS, async () => {
      const o = await enqueue(enqueueBody(n), n);
      if (n === SOURCES && o.id && !bigBatch) bigBatch = o.id;
      return o;
    });
    queuedDuring(r);
    const ok = r.samples.find((s) => 'bytes' in s);
    if (ok && 'bytes' in ok) r.notes.push(`response ${fmtBytes(ok.bytes)}`);
  }
  bigBatch ||= await findBigBatch();

  // 2. The big batch, whole and (when the route pages) one page of it.
  progress(`GET /v1/batches/:id of ${SOURCES} jobs`);
  const view = row(`GET /v1/batches/:id, ${SOURCES} jobs`);
  const page = row(`GET /v1/batches/:id?limit=100`);
  if (!bigBatch) {
    view.says = page.says = `no batch of ${SOURCES}`;
  } else {
    await repeat(view, RUNS, () =>
      timedGet(`/v1/batches/${bigBatch}`, (json) => {
        const jobs = batchViewSchema.parse(json).jobs.length;
        return jobs === SOURCES ? null : `${jobs} jobs of ${SOURCES}`;
      }),
    );
    const whole = view.samples.find((s) => 'bytes' in s);
    if (whole && 'bytes' in whole) view.notes.push(`response ${fmtBytes(whole.bytes)}`);
    await pageOfBatch(page);
  }

  // 3. Up to about --waiting jobs waiting, a batch at a time.
  const fill = row(`POST /v1/batches, ${SOURCES} sources, filling`);
  for (let i = 0; queued + SOURCES / 2 <= WAITING && i < WAITING / SOURCES + 1; i++) {
    if (overBudget()) {
      fill.skipped++;
      break;
    }
    progress(`POST /v1/batches with ${SOURCES} sources, filling`);
    const o = await enqueue(enqueueBody(SOURCES), SOURCES);
    fill.samples.push(o);
    if ('failure' in o) await settle();
  }
  queuedDuring(fill);
  if (fill.samples.length > 0) {
    fill.notes.push(`one sample per batch, in order: ${fill.samples.map(show).join(', ')}`);
  } else if (fill.skipped === 0) {
    rows.splice(rows.indexOf(fill), 1);
  }

  progress('GET /v1/batches?limit=100');
  const list = row('GET /v1/batches?limit=100');
  await repeat(list, RUNS, () =>
    timedGet('/v1/batches?limit=100', (json) => {
      batchListResponseSchema.parse(json);
      return null;
    }),
  );
  progress('GET /v1/status');
  const status = row('GET /v1/status');
  let statusWaiting = -1;
  await repeat(status, RUNS, () =>
    timedGet('/v1/status', (json) => {
      statusWaiting = statusResponseSchema.parse(json).counts.waiting;
      return null;
    }),
  );
  if (statusWaiting >= 0) status.notes.push(`it counts ${fmtCount(statusWaiting)} waiting`);

  // 4. An idle event stream on the big batch.
  progress(`idle event stream on the ${SOURCES}-job batch`);
  const snap = row(`GET /v1/batches/:id/events, until the snapshot is in`);
  const calls = row(`idle event stream: Redis commands per heartbeat`);
  calls.unit = fmtCount;
  const cpu = row(`idle event stream: redis-server CPU per heartbeat`);
  if (!bigBatch) {
    snap.says = calls.says = cpu.says = `no batch of ${SOURCES}`;
  } else if (overBudget()) {
    snap.skipped = calls.skipped = cpu.skipped = 1;
  } else {
    const stream = await idleStream(bigBatch, RUNS);
    snap.samples.push(stream.snapshot);
    if ('bytes' in stream.snapshot) snap.notes.push(`${fmtBytes(stream.snapshot.bytes)} to it`);
    for (const b of stream.perBeat) {
      calls.samples.push({ seconds: b.calls, bytes: 0 });
      cpu.samples.push({ seconds: b.cpu, bytes: 0 });
    }
    if (stream.failure) {
      calls.samples.push({ failure: stream.failure });
      if (cpu.samples.length === 0) cpu.says = 'failed';
      await settle();
    } else {
      calls.skipped = cpu.skipped = RUNS - stream.perBeat.length;
    }
    cpu.notes.push('INFO cpu, user and system, minus the baseline: a few ms either way is noise');
    calls.notes.push(
      `heartbeat every ${DEFAULT_HEARTBEAT_MS / 1000} s; windows of ${BEATS} heartbeats minus ` +
        `${stream.baselinePerSecond.toFixed(1)} commands/s with no stream open` +
        (stream.perBeat[0]?.top ? `; per heartbeat: ${stream.perBeat[0].top}` : ''),
    );
  }

  // Four big batches at once.
  progress(`${CONCURRENT} POST /v1/batches of ${SOURCES} sources at once`);
  const together = row(`${CONCURRENT} × POST /v1/batches, ${SOURCES} sources, at once`);
  const slowest: number[] = [];
  await repeat(together, RUNS, async () => {
    const bodies = Array.from({ length: CONCURRENT }, () => enqueueBody(SOURCES));
    const start = performance.now();
    const each = await Promise.all(bodies.map((b) => enqueue(b, SOURCES)));
    const wall = seconds(start);
    const failed = each.find((o) => 'failure' in o);
    if (failed) return failed;
    slowest.push(Math.max(...each.map((o) => ('seconds' in o ? o.seconds : 0))));
    return { seconds: wall, bytes: 0 };
  });
  queuedDuring(together);
  together.notes.push(
    `until all ${CONCURRENT} answered` +
      (slowest.length
        ? `; the slowest single request each round: ${slowest.map(fmtSeconds).join(', ')}`
        : ''),
  );
  progress('done');

  console.log(
    `## Gateway with big batches: ${availableParallelism()} cores, ${cpus()[0]?.model ?? 'unknown CPU'}\n`,
  );
  console.log(
    `\`proxima up --workers 0\` on a private redis-server, no worker; ${RUNS} runs each, ` +
      `every request capped at ${TIMEOUT_MS / 1000} s. Gateway started in ${startup.toFixed(1)} s; ` +
      `the run took ${seconds(runStart).toFixed(0)} s.\n`,
  );
  printTable();
  const log = gatewayLog.trim();
  if (log) {
    const lines = log.split('\n');
    console.log(`\ngateway log (${lines.length} lines${lines.length > 20 ? ', last 20' : ''}):\n`);
    console.log(lines.slice(-20).join('\n'));
  }
}

function show(o: Outcome): string {
  return 'failure' in o ? o.failure : fmtSeconds(o.seconds);
}

function printTable(): void {
  console.log('| measurement | jobs waiting | runs | median | min | notes |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    const unit = r.unit ?? fmtSeconds;
    const ok = r.samples.flatMap((s) => ('seconds' in s ? [s.seconds] : []));
    const failures = r.samples.flatMap((s) => ('failure' in s ? [s.failure] : []));
    let med = '-';
    let min = '-';
    if (ok.length > 0) {
      med = unit(median(ok));
      min = unit(Math.min(...ok));
    } else if (failures[0]) {
      med = failures[0].startsWith('timeout') ? 'timeout' : 'failed';
    } else if (r.says) {
      med = r.says;
    } else if (r.skipped > 0) {
      med = 'skipped';
    }
    const notes = [...r.notes];
    if (r.skipped > 0) {
      notes.unshift(`${r.skipped} skipped: past the ${BUDGET_MS / 60_000}-minute time budget`);
    }
    if (failures.length > 0) {
      notes.unshift(
        `${failures.length} of ${r.samples.length} failed: ${[...new Set(failures)].join('; ')}`,
      );
    }
    console.log(
      `| ${r.what} | ${r.waiting} | ${r.samples.length} | ${med} | ${min} | ${notes.join('; ')} |`,
    );
  }
}

let code = 0;
const onSignal = () => {
  void stopAll().finally(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
try {
  await main();
} catch (err) {
  console.error(err);
  if (rows.length > 0) printTable();
  code = 1;
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
