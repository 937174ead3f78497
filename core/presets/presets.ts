import type { PresetName } from '../config/schema.ts';
import type { MediaInfo } from '../media/media-info.ts';

export interface Preset {
  name: PresetName;
  /** What an editor sees, e.g. "ProRes 422 Proxy". */
  label: string;
  /** The codec name ffprobe reports for the proxy, checked after encoding. */
  codec: string;
  /** The codec tag (fourcc) in the .mov that editing apps key on. */
  fourcc: string;
  /** Proxies are this tall at most (never upscaled). */
  maxHeight: number;
  /** The smallest frame the encoder accepts; a smaller source is scaled up to reach it. */
  minWidth: number;
  minHeight: number;
  /** Pixel format the encoder is fed. */
  pixFmt: string;
  /** swscale flags for the resize. */
  scaler: string;
  /** Encoder and its options, after `-c:v`. */
  videoArgs: readonly string[];
}

export const PRESETS: Record<PresetName, Preset> = {
  // Measured with bench/encoder-choice.ts (docs/benchmarks.md), 1080p H.264 to 720p on two
  // cores: prores_ks at its default rate control makes 14 fps; with a fixed quantiser it makes
  // 42-44 fps, faster than prores_aw (34 fps), near the decode-and-scale floor (50 fps).
  // -qscale:v 11 gives about the bitrate of the default rate control (19 vs 20 Mbit/s at 720p25,
  // Apple's Proxy target for 720p). prores_ks writes the profile's fourcc (apco) and, with
  // -vendor apl0, the vendor field Apple's decoders and Resolve expect.
  'prores-proxy': {
    name: 'prores-proxy',
    label: 'ProRes 422 Proxy',
    codec: 'prores',
    fourcc: 'apco',
    maxHeight: 720,
    minWidth: 2,
    minHeight: 2,
    pixFmt: 'yuv422p10le',
    scaler: 'bicubic',
    videoArgs: ['prores_ks', '-profile:v', '0', '-vendor', 'apl0', '-qscale:v', '11'],
  },
  // DNxHR LB at 720p is as fast as the quantised ProRes (39 fps on one job); its threading
  // scales poorly, so parallel jobs are given one thread each (see encoderThreads).
  'dnxhr-lb': {
    name: 'dnxhr-lb',
    label: 'DNxHR LB',
    codec: 'dnxhd',
    fourcc: 'AVdh',
    maxHeight: 720,
    // ffmpeg's dnxhd encoder: "Input dimensions too small, input must be at least 256x120".
    minWidth: 256,
    minHeight: 120,
    pixFmt: 'yuv422p',
    scaler: 'bicubic',
    videoArgs: ['dnxhd', '-profile:v', 'dnxhr_lb'],
  },
};

/**
 * Encoder threads per job when `concurrency` jobs share `cores`: two single-threaded DNxHR
 * encodes side by side make 45 fps where two with ffmpeg's automatic threading make 40, and
 * one job alone still gets every core. Pure.
 */
export function encoderThreads(cores: number, concurrency: number): number {
  return Math.max(1, Math.floor(cores / Math.max(1, concurrency)));
}

/**
 * The proxy's frame size: the source's display size (sample aspect and rotation applied,
 * so a portrait phone clip gives a portrait proxy), scaled to the preset's height or the
 * source's if smaller, never upscaled unless the encoder's minimum frame forces it; square
 * pixels; both sides even (4:2:2 chroma needs an even width, and an even height keeps the
 * aspect rounding symmetric). Used by buildFfmpegArgs and verifyProxy alike. Pure.
 */
export function proxyDimensions(
  media: MediaInfo,
  preset: Preset,
): { width: number; height: number } {
  const v = media.video;
  if (!v) throw new Error('proxyDimensions: the media has no video stream');
  const sar = v.sar[0] / v.sar[1];
  const quarter = v.rotation === 90 || v.rotation === 270;
  const displayWidth = quarter ? v.height : v.width * sar;
  const displayHeight = quarter ? v.width * sar : v.height;
  const aspect = displayWidth / displayHeight;
  let height = Math.max(2, floorEven(Math.min(preset.maxHeight, displayHeight)));
  let width = Math.max(2, roundEven(height * aspect));
  if (width < preset.minWidth || height < preset.minHeight) {
    height = ceilEven(Math.max(preset.minHeight, preset.minWidth / aspect));
    width = Math.max(preset.minWidth, roundEven(height * aspect));
  }
  return { width, height };
}

function floorEven(n: number): number {
  return Math.floor(n / 2) * 2;
}

function ceilEven(n: number): number {
  return Math.ceil(n / 2) * 2;
}

function roundEven(n: number): number {
  return Math.round(n / 2) * 2;
}
