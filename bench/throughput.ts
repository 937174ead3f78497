/**
 * Throughput: the same generated clips through `proxima up --workers 2` + `proxima queue`,
 * and through `xargs -P 2 ffmpeg` with the argv the worker builds for each clip, in one run.
 * Prints both wall times and their ratio (target: <= 1.10 on a 2-core machine).
 *
 *   npm run bench -- [--clips 6] [--seconds 20] [--size 1920x1080] [--runs 2]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../cli/stack/embedded-redis.ts';
import { buildFfmpegArgs } from '../core/ffmpeg/build-args.ts';
import { locateFfmpeg, locateFfprobe } from '../core/ffmpeg/locate.ts';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { PROBE_ARGS, parseProbe } from '../core/media/parse-probe.ts';
import { encoderThreads, PRESETS } from '../core/presets/presets.ts';
import { userEnv } from './user-env.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/proxima.js', import.meta.url));
const ffmpeg = locateFfmpeg('', process.env.PATH).path;
const ffprobe = locateFfprobe('', process.env.PATH).path;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const CLIPS = Number(option('clips', '6'));
const SECONDS = Number(option('seconds', '20'));
const [WIDTH, HEIGHT] = option('size', '1920x1080').split('x').map(Number) as [number, number];
// This machine's speed drifts by several per cent from minute to minute: several paired rounds,
// and the median of their ratios, say more than one.
const RUNS = Number(option('runs', '4'));
const PARALLEL = 2;

const dir = mkdtempSync(path.join(tmpdir(), 'proxima-throughput-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

async function makeClips(): Promise<string[]> {
  const media = path.join(dir, 'media');
  mkdirSync(media);
  const files: string[] = [];
  for (let i = 1; i <= CLIPS; i++) {
    const file = path.join(media, `A001C${String(i).padStart(3, '0')}.mov`);
    await run(
      ffmpeg,
      sampleClipArgs('h264-stereo', file, { width: WIDTH, height: HEIGHT, seconds: SECONDS }),
    );
    files.push(file);
  }
  return files;
}

/** The argv the worker would run for each clip, writing into `outDir`. */
async function workerArgs(files: string[], outDir: string): Promise<string[][]> {
  const list: string[][] = [];
  for (const file of files) {
    const { stdout } = await run(ffprobe, [...PROBE_ARGS, file], { maxBuffer: 1 << 26 });
    const output = path.join(outDir, `${path.basename(file, '.mov')}.mov`);
    list.push(
      buildFfmpegArgs(parseProbe(JSON.parse(stdout)), PRESETS['prores-proxy'], {
        input: file,
        output,
        // What the worker passes with PARALLEL jobs at once on this machine.
        threads: encoderThreads(availableParallelism(), PARALLEL),
      }),
    );
  }
  return list;
}

async function viaXargs(files: string[], round: number): Promise<number> {
  const out = path.join(dir, `xargs-${round}`);
  mkdirSync(out);
  const argv = await workerArgs(files, out);
  const count = argv[0]?.length ?? 0;
  if (argv.some((a) => a.length !== count)) throw new Error('clips differ in argument count');
  const start = process.hrtime.bigint();
  const child = spawn('xargs', ['-0', '-P', String(PARALLEL), '-n', String(count), ffmpeg], {
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  child.stdin!.end(argv.flat().join('\0'));
  const code = await exited(child);
  const wall = seconds(start);
  if (code !== 0) throw new Error(`xargs ffmpeg exited ${String(code)}`);
  const made = readdirSync(out).filter((f) => f.endsWith('.mov')).length;
  if (made !== files.length) throw new Error(`xargs made ${made} of ${files.length} files`);
  return wall;
}

interface ProximaRun {
  /** `proxima queue --wait` from start to exit: what the editor waits for. */
  queue: number;
  /** Stack start (private redis-server, gateway, worker process) until a worker is registered. */
  startup: number;
}

async function viaProxima(mediaDir: string, round: number): Promise<ProximaRun> {
  const root = path.join(dir, `proxima-${round}`);
  const port = await freePort();
  mkdirSync(root);
  const env = userEnv(root, {
    paths: { proxy_root: path.join(root, 'proxies') },
    gateway: { listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` },
    log: { level: 'warn' },
  });

  const upStart = process.hrtime.bigint();
  const up = spawn(process.execPath, [BIN, 'up', '--workers', String(PARALLEL)], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const upExit = exited(up);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    up.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('press Ctrl-C to stop')) resolve();
    });
    void upExit.then((code) => reject(new Error(`proxima up exited ${String(code)}: ${out}`)));
  });
  // `up` is a service started once: wait until its worker has registered, as a user would
  // see in `proxima status`, so the worker's own start is not counted against the batch.
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/v1/workers`);
    const body = (await res.json()) as { workers?: { concurrency: number }[] };
    // A stack is a service started once: the batch is timed against every encode slot ready.
    if ((body.workers ?? []).reduce((n, w) => n + w.concurrency, 0) >= PARALLEL) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const startup = seconds(upStart);

  try {
    const start = process.hrtime.bigint();
    const queue = spawn(process.execPath, [BIN, 'queue', '--json', '--wait', mediaDir], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let json = '';
    queue.stdout!.on('data', (d: Buffer) => (json += d.toString()));
    const code = await exited(queue);
    const wall = seconds(start);
    if (code !== 0) throw new Error(`proxima queue exited ${String(code)}: ${json}`);
    const summary = JSON.parse(json) as { counts?: Record<string, number> };
    const done = summary.counts?.completed ?? summary.counts?.done;
    if (done !== CLIPS) throw new Error(`proxima finished ${String(done)} of ${CLIPS}: ${json}`);
    return { queue: wall, startup };
  } finally {
    up.kill('SIGINT');
    await upExit;
  }
}

async function main(): Promise<void> {
  const { stdout: version } = await run(ffmpeg, ['-version']);
  console.log(
    `## Throughput: ${availableParallelism()} cores, ${cpus()[0]?.model ?? 'unknown CPU'}\n`,
  );
  console.log(
    `${version.split('\n')[0] ?? ''}; ${CLIPS} clips of ${SECONDS} s H.264 ${WIDTH}x${HEIGHT} ` +
      `with stereo, to ProRes Proxy 720p; ${PARALLEL} at once; ${RUNS} rounds, alternating.\n`,
  );
  const files = await makeClips();
  const mediaDir = path.dirname(files[0] as string);
  const rows: { round: number; proxima: ProximaRun; xargs: number }[] = [];
  for (let round = 1; round <= RUNS; round++) {
    // Alternate which goes first so neither always meets a warm page cache.
    let proxima: ProximaRun;
    let xargs: number;
    if (round % 2) {
      proxima = await viaProxima(mediaDir, round);
      xargs = await viaXargs(files, round);
    } else {
      xargs = await viaXargs(files, round);
      proxima = await viaProxima(mediaDir, round);
    }
    rows.push({ round, proxima, xargs });
  }
  console.log(
    '| round | proxima queue --wait, s | stack start, s | xargs -P 2 ffmpeg, s | ratio |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.round} | ${r.proxima.queue.toFixed(2)} | ${r.proxima.startup.toFixed(2)} | ` +
        `${r.xargs.toFixed(2)} | ${(r.proxima.queue / r.xargs).toFixed(3)} |`,
    );
  }
  const best = (xs: number[]) => Math.min(...xs);
  const p = best(rows.map((r) => r.proxima.queue));
  const x = best(rows.map((r) => r.xargs));
  const ratios = rows.map((r) => r.proxima.queue / r.xargs).sort((a, b) => a - b);
  const mid = ratios.length / 2;
  const median =
    ratios.length % 2 ? ratios[Math.floor(mid)]! : (ratios[mid - 1]! + ratios[mid]!) / 2;
  const target = SECONDS <= 8 ? 1.05 : SECONDS >= 20 ? 1.03 : undefined;
  console.log(
    `\nmedian ratio of ${RUNS} paired rounds ${median.toFixed(3)}; best of each side: proxima ` +
      `${p.toFixed(2)} s, xargs ${x.toFixed(2)} s, ratio ${(p / x).toFixed(3)}` +
      (target ? ` (target <= ${target.toFixed(2)} on ${SECONDS}-s clips)` : ''),
  );
}

await main();
