import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { locateFfmpeg } from '../../core/ffmpeg/locate.ts';
import { SAMPLE_KINDS, sampleClipArgs, type SampleKind } from '../../core/ffmpeg/sample-media.ts';

const run = promisify(execFile);

/** A tiny generated clip (320x180, 1 s unless told), at `<dir>/<name>.<the kind's extension>`. */
export async function makeClip(
  dir: string,
  name: string,
  kind: SampleKind,
  size: { width?: number; height?: number; seconds?: number } = {},
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.${SAMPLE_KINDS[kind].ext}`);
  const ffmpeg = locateFfmpeg('', process.env.PATH).path;
  await run(ffmpeg, sampleClipArgs(kind, file, { width: 320, height: 180, seconds: 1, ...size }));
  return file;
}

/** A copy of a clip cut off at a fraction of its bytes, like an interrupted card copy. */
export function truncatedCopy(from: string, to: string, fraction = 0.4): string {
  const bytes = readFileSync(from);
  mkdirSync(path.dirname(to), { recursive: true });
  writeFileSync(to, bytes.subarray(0, Math.floor(bytes.length * fraction)));
  return to;
}
