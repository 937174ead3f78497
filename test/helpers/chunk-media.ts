import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { FFPROBE, probeFile, runFfmpeg } from './media.ts';

const run = promisify(execFile);

export type ChunkRate = '25' | '30000/1001' | '50' | '60000/1001' | '24000/1001';

export interface ChunkSourceOptions {
  /** File name without extension; the clip is a .mov. */
  name: string;
  seconds: number;
  rate: ChunkRate;
  width: number;
  height: number;
  /** Frames between keyframes; with B-frames and an open GOP, as long-GOP cameras write. */
  gop?: number;
  /** Most B-frames in a row (3 unless given); 0 for a P-frames-only stream, as many phones write. */
  bFrames?: number;
  /** Top field first, from a picture moving at twice the frame rate (real field motion). */
  interlaced?: boolean;
  /** Irregular frame timing averaging `rate`, as a phone writes it. */
  vfr?: boolean;
  /** Sine tones at different pitches, one AAC stereo stream each. */
  audioStreams?: number;
  /** Start timecode, e.g. 01:00:00:00. */
  timecode?: string;
  /** Seconds the video starts after the audio (an edit in the mov), as some recorders write. */
  videoDelay?: number;
}

function doubled(rate: ChunkRate): string {
  const [num, den] = rate.split('/');
  return den ? `${Number(num) * 2}/${den}` : String(Number(num) * 2);
}

function rateValue(rate: ChunkRate): number {
  const [num, den] = rate.split('/');
  return Number(num) / Number(den ?? 1);
}

/**
 * A long-GOP H.264 camera-like clip in `dir` made from testsrc2 (and sine tones); returns its
 * path. Real ffmpeg, so it is what a camera card holds as far as seeking and decoding go.
 */
export async function makeChunkSource(dir: string, opts: ChunkSourceOptions): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${opts.name}.mov`);
  const gop = opts.gop ?? Math.round(rateValue(opts.rate));
  const size = `${opts.width}x${opts.height}`;
  // Interlaced and VFR clips start from a picture at twice the rate: its fields (or its
  // dropped frames) then differ the way a camera's do.
  const sourceRate = opts.interlaced || opts.vfr ? doubled(opts.rate) : opts.rate;
  const args = [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=${sourceRate}:duration=${opts.seconds}`,
  ];
  const audio = opts.audioStreams ?? 0;
  for (let i = 0; i < audio; i++) {
    args.push(
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=${440 * (i + 1)}:sample_rate=48000:duration=${opts.seconds}`,
    );
  }
  args.push('-map', '0:v');
  for (let i = 0; i < audio; i++) args.push('-map', `${i + 1}:a`);
  const filters: string[] = [];
  if (opts.interlaced) filters.push('tinterlace=mode=interleave_top', 'setfield=tff');
  if (opts.vfr) {
    // Four frames kept of every eight, at uneven gaps (3, 1, 2, 2 ticks of the doubled rate).
    // Then up to 4 ms of capture jitter on a 90 kHz clock, as a phone stamps frames: no
    // timestamp falls on the output grid or halfway between two of its slots.
    filters.push(
      'select=eq(mod(n\\,8)\\,0)+eq(mod(n\\,8)\\,3)+eq(mod(n\\,8)\\,4)+eq(mod(n\\,8)\\,6)',
      'settb=1/90000',
      'setpts=PTS+floor(random(0)*360)',
    );
  }
  filters.push('scale=out_color_matrix=bt709:out_range=tv', 'format=yuv420p');
  args.push('-vf', filters.join(','));
  args.push(
    '-color_range',
    'tv',
    '-color_primaries',
    'bt709',
    '-color_trc',
    'bt709',
    '-colorspace',
    'bt709',
  );
  if (opts.vfr) {
    args.push('-vsync', 'vfr', '-enc_time_base', '1/90000', '-video_track_timescale', '90000');
  }
  args.push(
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-bf',
    String(opts.bFrames ?? 3),
  );
  if (opts.interlaced) args.push('-flags', '+ildct+ilme', '-top', '1', '-x264-params', 'tff=1');
  else args.push('-x264-params', 'open-gop=1');
  if (audio > 0) args.push('-c:a', 'aac', '-b:a', '96k', '-ac', '2', '-ar', '48000');
  if (opts.timecode) args.push('-timecode', opts.timecode);
  const delay = opts.videoDelay ?? 0;
  const encoded = delay > 0 ? path.join(dir, `${opts.name}.undelayed.mov`) : file;
  args.push('-f', 'mov', encoded);
  await runFfmpeg(args);
  if (delay > 0) {
    // Stream copy with the video input shifted: the mov keeps every frame and starts the
    // video track with an empty edit.
    const remux = ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-itsoffset', String(delay)];
    remux.push('-i', encoded, '-i', encoded, '-map', '0:v:0', '-map', '1:a?', '-c', 'copy');
    if (opts.timecode) remux.push('-timecode', opts.timecode);
    remux.push('-f', 'mov', file);
    await runFfmpeg(remux);
  }
  return file;
}

/** One "pts,md5" entry per decoded video frame (every frame, none dropped or repeated). */
export async function videoFrameMd5s(file: string): Promise<string[]> {
  const { stdout } = await runFfmpeg([
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-i',
    file,
    '-map',
    '0:v:0',
    '-vsync',
    'passthrough',
    '-f',
    'framemd5',
    '-',
  ]);
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const cols = line.split(',').map((c) => c.trim());
      return `${cols[2]},${cols[5]}`;
    });
}

/** Decoded samples of each audio stream, in stream order. */
export async function audioSampleCounts(file: string): Promise<number[]> {
  const media = await probeFile(file);
  const counts: number[] = [];
  for (let i = 0; i < media.audio.length; i++) {
    const { stdout } = await run(
      FFPROBE,
      [
        '-v',
        'error',
        '-select_streams',
        `a:${i}`,
        '-show_entries',
        'frame=nb_samples',
        '-of',
        'csv=p=0',
        file,
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    counts.push(
      stdout
        .split('\n')
        .map((l) => Number.parseInt(l, 10))
        .filter((n) => Number.isFinite(n))
        .reduce((a, b) => a + b, 0),
    );
  }
  return counts;
}

/** The start timecode ffprobe reads (container, stream or tmcd track), or null. */
export async function probeTimecode(file: string): Promise<string | null> {
  return (await probeFile(file)).timecode;
}

/** Each stream's start time in seconds as ffprobe gives it, by stream index. */
export async function streamStartTimes(file: string): Promise<number[]> {
  const { stdout } = await run(
    FFPROBE,
    ['-v', 'error', '-show_entries', 'stream=start_time', '-of', 'csv=p=0', file],
    { maxBuffer: 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => Number(l));
}
