import type { MediaInfo } from '../media/media-info.ts';
import type { BuiltinPresetName } from './names.ts';

/**
 * How big a proxy is, as Resolve offers it: a height (540, 720, 1080), a fraction of the
 * source's display size, or the source's own size. Never larger than the source.
 */
export type ProxySize = 540 | 720 | 1080 | 'half' | 'quarter' | 'source';

export const PROXY_SIZES: readonly ProxySize[] = [540, 720, 1080, 'half', 'quarter', 'source'];

export const DEFAULT_PROXY_SIZE: ProxySize = 720;

/** A built-in preset at the configured proxy size (encoding.size, as the job carries it). */
export function presetAt(name: BuiltinPresetName, size: ProxySize = DEFAULT_PROXY_SIZE): Preset {
  return { ...PRESETS[name], size };
}

/** The proxy's sound: every source track (or the first N), as PCM or AAC. */
export interface PresetAudio {
  codec: 'pcm' | 'aac';
  /** 'all', or how many of the source's audio streams, from the first. */
  streams: 'all' | number;
}

export interface Preset {
  name: BuiltinPresetName;
  /** What an editor sees, e.g. "ProRes 422 Proxy". */
  label: string;
  /** The codec name ffprobe reports for the proxy, checked after encoding. */
  codec: string;
  /** The codec tag (fourcc) in the .mov that editing apps key on. */
  fourcc: string;
  /** The profile ffprobe reports for the proxy, e.g. "Proxy", "DNXHR LB", "High". */
  profile: string;
  size: ProxySize;
  /** The smallest frame the encoder accepts; a smaller source is scaled up to reach it. */
  minWidth: number;
  minHeight: number;
  /** Pixel format the encoder is fed. */
  pixFmt: string;
  /** swscale flags for the resize. */
  scaler: string;
  /** Encoder and its options, after `-c:v`. */
  videoArgs: readonly string[];
  audio: PresetAudio;
  /** Video bits per proxy pixel, for space and bitrate estimates; rounded up. */
  bitsPerPixel: number;
}

/** One profile of an encoder: the option that selects it and what ffprobe then reports. */
export interface EncoderProfile {
  /** The value of `-profile:v`. */
  arg: string;
  fourcc: string;
  probe: string;
  label: string;
  bitsPerPixel: number;
}

/**
 * The profiles a preset (built-in or user) may ask of each encoder, by the name config uses.
 * Bits per pixel measured at 720p25 (prores_ks quantised as the presets set it), rounded up.
 */
export const ENCODER_PROFILES: Record<string, Record<string, EncoderProfile>> = {
  prores_ks: {
    proxy: {
      arg: '0',
      fourcc: 'apco',
      probe: 'Proxy',
      label: 'ProRes 422 Proxy',
      bitsPerPixel: 0.9,
    },
    lt: { arg: '1', fourcc: 'apcs', probe: 'LT', label: 'ProRes 422 LT', bitsPerPixel: 1.7 },
    standard: {
      arg: '2',
      fourcc: 'apcn',
      probe: 'Standard',
      label: 'ProRes 422',
      bitsPerPixel: 2.4,
    },
    hq: { arg: '3', fourcc: 'apch', probe: 'HQ', label: 'ProRes 422 HQ', bitsPerPixel: 3.2 },
  },
  dnxhd: {
    dnxhr_lb: {
      arg: 'dnxhr_lb',
      fourcc: 'AVdh',
      probe: 'DNXHR LB',
      label: 'DNxHR LB',
      bitsPerPixel: 0.9,
    },
    dnxhr_sq: {
      arg: 'dnxhr_sq',
      fourcc: 'AVdh',
      probe: 'DNXHR SQ',
      label: 'DNxHR SQ',
      bitsPerPixel: 2.4,
    },
    dnxhr_hq: {
      arg: 'dnxhr_hq',
      fourcc: 'AVdh',
      probe: 'DNXHR HQ',
      label: 'DNxHR HQ',
      bitsPerPixel: 3.6,
    },
  },
  libx264: {
    high: {
      arg: 'high',
      fourcc: 'avc1',
      probe: 'High',
      label: 'H.264 High intra',
      bitsPerPixel: 0.6,
    },
    main: {
      arg: 'main',
      fourcc: 'avc1',
      probe: 'Main',
      label: 'H.264 Main intra',
      bitsPerPixel: 0.6,
    },
  },
};

/**
 * Pixel formats a preset may feed each encoder, by the profile config uses (ENCODER_PROFILES):
 * only what that profile can carry, so a user preset cannot ask for a combination ffmpeg then
 * refuses mid-batch (DNxHR LB/SQ/HQ are 8-bit 4:2:2, H.264 High and Main 8-bit 4:2:0, the
 * ProRes 422 profiles 10-bit 4:2:2). The first is the built-ins' choice.
 */
export const ENCODER_PIX_FMTS: Record<string, Record<string, readonly string[]>> = {
  prores_ks: {
    proxy: ['yuv422p10le'],
    lt: ['yuv422p10le'],
    standard: ['yuv422p10le'],
    hq: ['yuv422p10le'],
  },
  dnxhd: { dnxhr_lb: ['yuv422p'], dnxhr_sq: ['yuv422p'], dnxhr_hq: ['yuv422p'] },
  libx264: { high: ['yuv420p'], main: ['yuv420p'] },
};

const PCM_ALL: PresetAudio = { codec: 'pcm', streams: 'all' };

function prores(name: BuiltinPresetName, profile: string, qscale: string): Preset {
  const p = ENCODER_PROFILES.prores_ks![profile]!;
  return {
    name,
    label: p.label,
    codec: 'prores',
    fourcc: p.fourcc,
    profile: p.probe,
    size: DEFAULT_PROXY_SIZE,
    minWidth: 2,
    minHeight: 2,
    pixFmt: 'yuv422p10le',
    scaler: 'bicubic',
    // prores_ks writes the profile's fourcc and, with -vendor apl0, the vendor field Apple's
    // decoders and Resolve expect.
    videoArgs: ['prores_ks', '-profile:v', p.arg, '-vendor', 'apl0', '-qscale:v', qscale],
    audio: PCM_ALL,
    bitsPerPixel: p.bitsPerPixel,
  };
}

function dnxhr(name: BuiltinPresetName, profile: string): Preset {
  const p = ENCODER_PROFILES.dnxhd![profile]!;
  return {
    name,
    label: p.label,
    codec: 'dnxhd',
    fourcc: p.fourcc,
    profile: p.probe,
    size: DEFAULT_PROXY_SIZE,
    // ffmpeg's dnxhd encoder: "Input dimensions too small, input must be at least 256x120".
    minWidth: 256,
    minHeight: 120,
    pixFmt: 'yuv422p',
    scaler: 'bicubic',
    videoArgs: ['dnxhd', '-profile:v', p.arg],
    audio: PCM_ALL,
    bitsPerPixel: p.bitsPerPixel,
  };
}

export const PRESETS: Record<BuiltinPresetName, Preset> = {
  // Measured with bench/encoder-choice.ts (docs/benchmarks.md), 1080p H.264 to 720p on two
  // cores: prores_ks at its default rate control makes 14 fps; with a fixed quantiser it makes
  // 42-44 fps, faster than prores_aw (34 fps), near the decode-and-scale floor (50 fps).
  // -qscale:v 11 gives about the bitrate of the default rate control (19 vs 20 Mbit/s at 720p25,
  // Apple's Proxy target for 720p).
  'prores-proxy': prores('prores-proxy', 'proxy', '11'),
  // LT at its default rate control is as slow as Proxy's; -qscale:v 5 comes within a tenth of
  // its bitrate at a tenth of the time.
  'prores-lt': prores('prores-lt', 'lt', '5'),
  // DNxHR LB at 720p is as fast as the quantised ProRes (39 fps on one job); its threading
  // scales poorly, so parallel jobs are given one thread each (see encoderThreads).
  'dnxhr-lb': dnxhr('dnxhr-lb', 'dnxhr_lb'),
  'dnxhr-sq': dnxhr('dnxhr-sq', 'dnxhr_sq'),
  // For laptops without a ProRes or DNxHR decoder fast enough: every frame a keyframe (-g 1),
  // so Resolve seeks and scrubs it like the intra codecs; 4:2:0 8-bit, which every hardware
  // H.264 decoder takes.
  'h264-intra': {
    name: 'h264-intra',
    label: 'H.264 High intra',
    codec: 'h264',
    fourcc: 'avc1',
    profile: 'High',
    size: DEFAULT_PROXY_SIZE,
    minWidth: 2,
    minHeight: 2,
    pixFmt: 'yuv420p',
    scaler: 'bicubic',
    videoArgs: ['libx264', '-profile:v', 'high', '-g', '1', '-preset', 'veryfast', '-crf', '20'],
    audio: PCM_ALL,
    bitsPerPixel: 0.6,
  },
};

/** The encoder a preset runs (the value after `-c:v`). */
export function encoderOf(preset: Preset): string {
  return preset.videoArgs[0]!;
}

/** Jobs one worker runs at once: worker.concurrency, 0 meaning half the cores (at least 1). */
export function defaultConcurrency(configured: number, cores: number): number {
  return configured > 0 ? configured : Math.max(1, Math.floor(cores / 2));
}

/**
 * Encoder threads per job when `concurrency` jobs share `cores`: two single-threaded DNxHR
 * encodes side by side make 45 fps where two with ffmpeg's automatic threading make 40, and
 * one job alone still gets every core. Pure.
 */
export function encoderThreads(cores: number, concurrency: number): number {
  return Math.max(1, Math.floor(cores / Math.max(1, concurrency)));
}

/**
 * The audio streams of the source the proxy carries, in order. Resolve refuses to link a proxy
 * whose audio tracks differ from its clip's, hence every one unless a preset says otherwise.
 * Pure.
 */
export function proxyAudio(media: MediaInfo, audio: PresetAudio): MediaInfo['audio'] {
  const n = audio.streams;
  return n === 'all' ? media.audio : media.audio.slice(0, n);
}

/**
 * The proxy's frame size, the one place that decides it: the source's display size (sample
 * aspect and rotation applied, so a portrait phone clip gives a portrait proxy), scaled to the
 * preset's size (a height, half or a quarter of the source, or the source's own) or the
 * source's if smaller, never upscaled unless the encoder's minimum frame forces it; square
 * pixels; both sides even (4:2:2 and 4:2:0 chroma need an even width, and an even height keeps
 * the aspect rounding symmetric). Used by the encode and chunk argv and by verification. Pure.
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
  let height = Math.max(
    2,
    floorEven(Math.min(targetHeight(preset.size, displayHeight), displayHeight)),
  );
  let width = Math.max(2, roundEven(height * aspect));
  if (width < preset.minWidth || height < preset.minHeight) {
    height = ceilEven(Math.max(preset.minHeight, preset.minWidth / aspect));
    width = Math.max(preset.minWidth, roundEven(height * aspect));
  }
  return { width, height };
}

function targetHeight(size: ProxySize, displayHeight: number): number {
  if (size === 'source') return displayHeight;
  if (size === 'half') return displayHeight / 2;
  if (size === 'quarter') return displayHeight / 4;
  return size;
}

/** Expected video bitrate of the proxy in bits per second, from the preset's bits per pixel. */
export function estimatedVideoBitrate(media: MediaInfo, preset: Preset): number {
  if (!media.video) return 0;
  const { width, height } = proxyDimensions(media, preset);
  const [num, den] = media.video.frameRate;
  const fps = den > 0 && num > 0 ? num / den : 30;
  return Math.round(width * height * fps * preset.bitsPerPixel);
}

/** A short account of what a preset makes, e.g. "prores 422 Proxy (apco), 720p, PCM all". */
export function describePreset(preset: Preset): string {
  const size = typeof preset.size === 'number' ? `${preset.size}p` : preset.size;
  const audio = `${preset.audio.codec.toUpperCase()} ${preset.audio.streams === 'all' ? 'all tracks' : `first ${preset.audio.streams}`}`;
  return `${preset.codec} ${preset.profile} (${preset.fourcc}), ${preset.pixFmt}, ${size}, audio ${audio}`;
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
