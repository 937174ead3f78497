import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { locateFfmpeg, locateFfprobe } from '../../core/ffmpeg/locate.ts';
import {
  SAMPLE_KIND_NAMES,
  SAMPLE_KINDS,
  sampleClipArgs,
  type SampleKind,
} from '../../core/ffmpeg/sample-media.ts';
import type { MediaInfo } from '../../core/media/media-info.ts';
import { PROBE_ARGS, parseProbe } from '../../core/media/parse-probe.ts';

const run = promisify(execFile);

export const FFMPEG = locateFfmpeg('', process.env.PATH).path;
export const FFPROBE = locateFfprobe('', process.env.PATH).path;

/** Size every generated test clip has: tiny, so the whole suite stays quick on two cores. */
export const TEST_SIZE = { width: 320, height: 180, seconds: 1 } as const;

/** Every sample kind, plus a non-ASCII file name and a clip cut short. */
export type TestMedia = Record<SampleKind | 'nonAscii' | 'truncated', string>;

const cache = new Map<string, Promise<TestMedia>>();

/**
 * Generates every sample kind into `dir` with real ffmpeg (320x180, 1 s), plus `nonAscii`
 * (an H.264 clip named with spaces, accents and a dash) and `truncated` (an MP4 whose index
 * sits at the end, cut to its first 40% of bytes, so nothing can decode it). Once per dir
 * per process.
 */
export function makeTestMedia(dir: string): Promise<TestMedia> {
  let made = cache.get(dir);
  if (!made) {
    made = generate(dir);
    cache.set(dir, made);
  }
  return made;
}

async function generate(dir: string): Promise<TestMedia> {
  mkdirSync(dir, { recursive: true });
  const files = {} as TestMedia;
  // Two at a time: the machine has two cores and others share it.
  const jobs: (() => Promise<void>)[] = SAMPLE_KIND_NAMES.map((kind) => async () => {
    const file = path.join(dir, `${kind}.${SAMPLE_KINDS[kind].ext}`);
    await runFfmpeg(sampleClipArgs(kind, file, TEST_SIZE));
    files[kind] = file;
  });
  jobs.push(async () => {
    const file = path.join(dir, 'Día 1 — cámara A.mov');
    await runFfmpeg(sampleClipArgs('h264-stereo', file, TEST_SIZE));
    files.nonAscii = file;
  });
  jobs.push(async () => {
    const whole = path.join(dir, 'whole-for-truncation.mp4');
    await runFfmpeg(sampleClipArgs('vfr', whole, TEST_SIZE));
    const file = path.join(dir, 'truncated.mp4');
    const bytes = readFileSync(whole);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.4)));
    files.truncated = file;
  });
  await pool(jobs, 2);
  return files;
}

async function pool(jobs: (() => Promise<void>)[], size: number): Promise<void> {
  const queue = [...jobs];
  await Promise.all(
    Array.from({ length: size }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await job();
    }),
  );
}

/** Runs ffmpeg with argv; rejects with its stderr when it exits non-zero. */
export async function runFfmpeg(
  args: readonly string[],
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(FFMPEG, [...args], { maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`ffmpeg failed: ${e.message}\n${e.stderr ?? ''}`);
  }
}

/** ffprobe's raw JSON (PROBE_ARGS) for a file. */
export async function probeJson(file: string): Promise<unknown> {
  const { stdout } = await run(FFPROBE, [...PROBE_ARGS, file], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as unknown;
}

/** Real ffprobe, parsed by parseProbe. */
export async function probeFile(file: string): Promise<MediaInfo> {
  return parseProbe(await probeJson(file));
}
