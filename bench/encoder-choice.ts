/**
 * Which encoder, scaler, deinterlacer and threading make proxies fastest on this machine.
 * Generates short 1080p sources (camera-like H.264 at ~50 Mbit/s, and HDV-style 1080i50
 * MPEG-2 in MXF), encodes each variant through buildFfmpegArgs, and prints markdown tables.
 *
 * With --presets only the table of the built-in presets as they ship (each at 720p and at
 * 1080p, one job with default threads and two jobs side by side as a 2-core worker runs them).
 *
 *   node --import tsx bench/encoder-choice.ts [--seconds 4] [--runs 2] [--presets]
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildFfmpegArgs } from '../core/ffmpeg/build-args.ts';
import { locateFfmpeg, locateFfprobe } from '../core/ffmpeg/locate.ts';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import type { MediaInfo } from '../core/media/media-info.ts';
import { PROBE_ARGS, parseProbe } from '../core/media/parse-probe.ts';
import { BUILTIN_PRESET_NAMES } from '../core/presets/names.ts';
import { PRESETS, presetAt, type Preset } from '../core/presets/presets.ts';

const run = promisify(execFile);
const ffmpeg = locateFfmpeg('', process.env.PATH).path;
const ffprobe = locateFfprobe('', process.env.PATH).path;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
const SECONDS = option('seconds', 4);
const RUNS = option('runs', 2);
const PRESETS_ONLY = process.argv.includes('--presets');

const dir = mkdtempSync(path.join(tmpdir(), 'proxima-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

async function probe(file: string): Promise<MediaInfo> {
  const { stdout } = await run(ffprobe, [...PROBE_ARGS, file], { maxBuffer: 1 << 26 });
  return parseProbe(JSON.parse(stdout));
}

async function fourcc(file: string): Promise<string> {
  const { stdout } = await run(ffprobe, [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_tag_string',
    '-of',
    'csv=p=0',
    file,
  ]);
  return stdout.trim();
}

function ffmpegRun(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg exit ${String(code)}: ${err}`)),
    );
  });
}

/** Best wall time of RUNS runs of `jobs` argv lists started together. */
async function timed(jobs: readonly (readonly string[])[]): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    await Promise.all(jobs.map(ffmpegRun));
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return best;
}

interface Row {
  variant: string;
  seconds: number;
  fps: number;
  mbps: number | null;
  tag: string;
}

function table(title: string, rows: Row[]): void {
  console.log(`\n### ${title}\n`);
  console.log('| variant | wall s | fps | Mbit/s | fourcc |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    const mbps = r.mbps === null ? '' : r.mbps.toFixed(1);
    console.log(
      `| ${r.variant} | ${r.seconds.toFixed(2)} | ${r.fps.toFixed(1)} | ${mbps} | ${r.tag} |`,
    );
  }
}

/** Inserts `extra` before `-i` (input side) or before `-f mov` (output side). */
function withArgs(args: string[], before: string, extra: string[]): string[] {
  const i = args.indexOf(before);
  return [...args.slice(0, i), ...extra, ...args.slice(i)];
}

async function variant(
  label: string,
  media: MediaInfo,
  input: string,
  preset: Preset,
  frames: number,
  tweak: (args: string[]) => string[] = (a) => a,
  parallel = 1,
): Promise<Row> {
  const outputs = Array.from({ length: parallel }, (_, i) =>
    path.join(dir, `${label.replace(/\W+/g, '_')}-${i}.mov`),
  );
  const jobs = outputs.map((output) => tweak(buildFfmpegArgs(media, preset, { input, output })));
  const seconds = await timed(jobs);
  const first = outputs[0] as string;
  const mbps = (statSync(first).size * 8) / media.durationSec / 1e6;
  return {
    variant: label,
    seconds,
    fps: (frames * parallel) / seconds,
    mbps,
    tag: await fourcc(first),
  };
}

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const { stdout: version } = await run(ffmpeg, ['-version']);
  console.log(`## Encoder choice: ${availableParallelism()} cores, ${cpu}`);
  console.log(`\n${version.split('\n')[0] ?? ''}; ${SECONDS} s sources, best of ${RUNS} runs.`);

  // Camera-like: grain (noise) makes H.264 spend ~50 Mbit/s, so decoding costs what a
  // mirrorless camera's 1080p file costs.
  const h264 = path.join(dir, 'source-1080p-h264.mov');
  await ffmpegRun([
    '-hide_banner',
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=1920x1080:rate=25:duration=${SECONDS}`,
    '-vf',
    'noise=alls=12:allf=t,format=yuv420p',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-g',
    '25',
    '-b:v',
    '50M',
    '-maxrate',
    '50M',
    '-bufsize',
    '50M',
    '-f',
    'mov',
    h264,
  ]);
  const media = await probe(h264);
  const frames = media.video?.frameCount ?? 0;

  if (PRESETS_ONLY) {
    await builtinPresets(media, h264, frames);
    return;
  }

  const decode = await timed([['-hide_banner', '-v', 'error', '-i', h264, '-f', 'null', '-']]);
  const decodeScale = await timed([
    ['-hide_banner', '-v', 'error', '-i', h264, '-vf', 'scale=1280:720', '-f', 'null', '-'],
  ]);
  table('Decode only (the floor)', [
    { variant: 'decode 1080p H.264', seconds: decode, fps: frames / decode, mbps: null, tag: '' },
    {
      variant: 'decode + scale to 720p',
      seconds: decodeScale,
      fps: frames / decodeScale,
      mbps: null,
      tag: '',
    },
  ]);

  const prores = PRESETS['prores-proxy'];
  const withVideo = (p: Preset, videoArgs: string[], scaler = p.scaler): Preset => ({
    ...p,
    videoArgs,
    scaler,
  });
  const encoders: [string, Preset][] = [
    ['prores_aw', withVideo(prores, ['prores_aw', '-profile:v', '0'])],
    ['prores_ks', withVideo(prores, ['prores_ks', '-profile:v', '0'])],
    [
      'prores_ks -qscale:v 8',
      withVideo(prores, ['prores_ks', '-profile:v', '0', '-qscale:v', '8']),
    ],
    [
      'prores_ks -qscale:v 11 (preset)',
      withVideo(prores, ['prores_ks', '-profile:v', '0', '-qscale:v', '11']),
    ],
    [
      'prores_ks -qscale:v 16',
      withVideo(prores, ['prores_ks', '-profile:v', '0', '-qscale:v', '16']),
    ],
    ['dnxhd dnxhr_lb', withVideo(PRESETS['dnxhr-lb'], ['dnxhd', '-profile:v', 'dnxhr_lb'])],
  ];
  const encoderRows: Row[] = [];
  for (const [label, p] of encoders) {
    encoderRows.push(await variant(label, media, h264, p, frames));
  }
  table('Encoders, 1080p H.264 to 1280x720, bicubic, default threads', encoderRows);

  const scalerRows: Row[] = [];
  for (const scaler of ['fast_bilinear', 'bilinear', 'bicubic', 'lanczos']) {
    scalerRows.push(
      await variant(`prores (preset) ${scaler}`, media, h264, { ...prores, scaler }, frames),
    );
  }
  table('Scalers, with the preset encoder', scalerRows);

  const threadRows: Row[] = [];
  const threads = (n: string) => (a: string[]) =>
    withArgs(withArgs(a, '-i', ['-threads', n]), '-f', ['-threads', n]);
  for (const [label, p] of [
    ['prores', prores],
    ['dnxhr-lb', PRESETS['dnxhr-lb']],
  ] as const) {
    threadRows.push(await variant(`${label}: 1 job, default threads`, media, h264, p, frames));
    threadRows.push(
      await variant(`${label}: 1 job, -threads 2`, media, h264, p, frames, threads('2')),
    );
    threadRows.push(
      await variant(`${label}: 1 job, -threads 1`, media, h264, p, frames, threads('1')),
    );
    threadRows.push(
      await variant(`${label}: 2 jobs, -threads 1 each`, media, h264, p, frames, threads('1'), 2),
    );
    threadRows.push(
      await variant(`${label}: 2 jobs, default threads`, media, h264, p, frames, undefined, 2),
    );
  }
  table("Threading (fps counts both jobs' frames)", threadRows);

  const mxf = path.join(dir, 'source-1080i50.mxf');
  await ffmpegRun(
    sampleClipArgs('interlaced-mpeg2-mxf', mxf, { width: 1920, height: 1080, seconds: SECONDS }),
  );
  const interlaced = await probe(mxf);
  const iframes = interlaced.video?.frameCount ?? 0;
  const deint = (filter: string) => (a: string[]) => {
    const i = a.indexOf('-vf');
    const out = [...a];
    out[i + 1] = (out[i + 1] as string).replace(/^bwdif=[^,]*/, filter);
    return out;
  };
  const deintRows: Row[] = [];
  for (const filter of [
    'bwdif=mode=send_frame:parity=auto:deint=all',
    'yadif=mode=send_frame:parity=auto:deint=all',
  ]) {
    deintRows.push(
      await variant(
        filter.split('=')[0] as string,
        interlaced,
        mxf,
        prores,
        iframes,
        deint(filter),
      ),
    );
  }
  table('Deinterlacers, 1080i50 MPEG-2 MXF to 1280x720 ProRes Proxy', deintRows);
}

/** Each built-in preset exactly as a worker builds it, at two sizes, alone and two at once. */
async function builtinPresets(media: MediaInfo, input: string, frames: number): Promise<void> {
  const rows: Row[] = [];
  for (const size of [720, 1080] as const) {
    for (const name of BUILTIN_PRESET_NAMES) {
      const preset = presetAt(name, size);
      rows.push(await variant(`${name} ${size}p, 1 job`, media, input, preset, frames));
      rows.push(
        await variant(`${name} ${size}p, 2 jobs`, media, input, preset, frames, undefined, 2),
      );
    }
  }
  table(
    "Built-in presets, 1080p H.264 source, default threads (fps counts every job's frames)",
    rows,
  );
}

await main();
