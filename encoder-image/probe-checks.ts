import type { MediaInfo } from '../core/media/media-info.ts';
import { proxyDimensions, type Preset } from '../core/presets/presets.ts';

/** Encoder names in `ffmpeg -hide_banner -encoders` output (" V....D prores_ks  ..."). Pure. */
export function parseEncoders(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\s*[VAS][A-Z.]{5}\s+(\S+)/.exec(line);
    if (m && m[1] !== '=') names.add(m[1]!);
  }
  return names;
}

/**
 * Bits per pixel of a proxy frame: prores_ks at -qscale:v 11 makes 19 Mbit/s at 1280x720 25p
 * (docs/benchmarks.md), 0.82; DNxHR LB is about the same. Rounded up, so the estimate errs on
 * the side of asking for space.
 */
const BITS_PER_PIXEL = 0.9;
/** 48 kHz PCM, 24-bit at most. */
const AUDIO_BYTES_PER_CHANNEL_SECOND = 48_000 * 3;

/** The bytes a proxy of this media is expected to take with this preset. Pure. */
export function estimateProxyBytes(media: MediaInfo, preset: Preset): number {
  const seconds = Math.max(0, media.durationSec);
  let bytes = 0;
  if (media.video) {
    const { width, height } = proxyDimensions(media, preset);
    const [num, den] = media.video.frameRate;
    const fps = den > 0 && num > 0 ? num / den : 30;
    bytes += (width * height * fps * BITS_PER_PIXEL * seconds) / 8;
  }
  for (const a of media.audio) bytes += a.channels * AUDIO_BYTES_PER_CHANNEL_SECOND * seconds;
  return Math.round(bytes);
}

/** What a failed check of a source means for the editor. Pure. */
export function sourceProblem(
  errno: string | undefined,
  source: string,
  host: string,
): { code: string; message: string } {
  switch (errno) {
    case 'ENOENT':
    case 'ENOTDIR':
      return {
        code: 'SOURCE_MISSING',
        message: `${source} is not visible on worker ${host}: mount the media there at this path, or map it with paths.mappings`,
      };
    case 'EACCES':
    case 'EPERM':
      return {
        code: 'SOURCE_UNREADABLE',
        message: `${source} is visible on worker ${host} but not readable by its user: give that user read access`,
      };
    case 'TIMEOUT':
      return {
        code: 'SOURCE_HUNG',
        message: `${source} did not answer a read on worker ${host} within 10 s: check the mount there (a stalled network share?)`,
      };
    default:
      return {
        code: 'SOURCE_UNREADABLE',
        message: `${source} cannot be read on worker ${host} (${errno ?? 'unknown error'}): check the mount there`,
      };
  }
}

/** What a failed write to the proxy root means. Pure. */
export function proxyRootProblem(
  errno: string | undefined,
  root: string,
  host: string,
): { code: string; message: string } {
  if (errno === 'EROFS') {
    return {
      code: 'PROXY_ROOT_READONLY',
      message: `proxy root ${root} is read-only on worker ${host}: mount it read-write there, or set paths.proxy_root`,
    };
  }
  if (errno === 'EACCES' || errno === 'EPERM') {
    return {
      code: 'PROXY_ROOT_UNWRITABLE',
      message: `proxy root ${root} is not writable by the user of worker ${host}: give it write access, or set paths.proxy_root`,
    };
  }
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return {
      code: 'NO_SPACE',
      message: `proxy root ${root} is full on worker ${host}: free space there`,
    };
  }
  return {
    code: 'PROXY_ROOT_UNWRITABLE',
    message: `proxy root ${root} cannot be written on worker ${host} (${errno ?? 'unknown error'}): check the mount there`,
  };
}
