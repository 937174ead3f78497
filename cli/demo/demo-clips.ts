import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../core/config/schema.ts';
import { MediaError } from '../../core/errors.ts';
import { locateFfmpeg } from '../../core/ffmpeg/locate.ts';
import { SAMPLE_KINDS, sampleClipArgs, type SampleKind } from '../../core/ffmpeg/sample-media.ts';

/** Camera-style names, one clip per kind of media an editor meets. */
export const DEMO_CLIPS: readonly { name: string; kind: SampleKind }[] = [
  { name: 'A001C001_h264', kind: 'h264-stereo' },
  { name: 'A001C002_23976', kind: 'h264-23976' },
  { name: 'B001C001_phone', kind: 'rotated-phone' },
  { name: 'C001C001_interlaced', kind: 'interlaced-mpeg2-mxf' },
  { name: 'D001C001_vfr', kind: 'vfr' },
  { name: 'E001C001_mute', kind: 'no-audio' },
  // Cards also hold these; `queue` skips them with a note.
  { name: 'E001C001_still', kind: 'still-png' },
  { name: 'E001C001_sound', kind: 'audio-only' },
];

export interface DemoClipOptions {
  dir: string;
  width: number;
  height: number;
  seconds: number;
  config: Config;
  searchPath: string;
  /** Called per clip: made now, or already there from an earlier run. */
  onClip?(file: string, made: boolean): void;
}

/**
 * Writes the demo clips that are not in `dir` yet. Each is written under a hidden temporary
 * name and renamed when complete, so an interrupted run never leaves a half clip to reuse.
 */
export async function makeDemoClips(options: DemoClipOptions): Promise<string[]> {
  mkdirSync(options.dir, { recursive: true });
  const ffmpeg = locateFfmpeg(options.config.ffmpeg.path, options.searchPath).path;
  const files: string[] = [];
  for (const clip of DEMO_CLIPS) {
    const file = path.join(options.dir, `${clip.name}.${SAMPLE_KINDS[clip.kind].ext}`);
    files.push(file);
    if (nonEmpty(file)) {
      options.onClip?.(file, false);
      continue;
    }
    const tmp = path.join(options.dir, `.partial-${path.basename(file)}`);
    const args = sampleClipArgs(clip.kind, tmp, {
      width: options.width,
      height: options.height,
      seconds: options.seconds,
    });
    try {
      await run(ffmpeg, args);
      renameSync(tmp, file);
    } finally {
      rmSync(tmp, { force: true });
    }
    options.onClip?.(file, true);
  }
  return files;
}

function nonEmpty(file: string): boolean {
  try {
    return statSync(file).size > 0;
  } catch {
    return false;
  }
}

function run(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) return resolve();
      const last = err.trim().split('\n').at(-1) ?? '';
      reject(
        new MediaError(
          'SAMPLE_FAILED',
          `ffmpeg could not make a sample clip (exit ${String(code)}): ${last}`,
          'check ffmpeg with `proxima config show` (ffmpeg.path), or run with --verbose',
        ),
      );
    });
  });
}
