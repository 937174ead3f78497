import { MediaError } from '../errors.ts';
import type { AudioInfo, FieldOrder, MediaInfo, Rational, VideoInfo } from './media-info.ts';

/** Arguments for ffprobe whose JSON output `parseProbe` reads. */
export const PROBE_ARGS: readonly string[] = [
  '-v',
  'error',
  '-print_format',
  'json',
  '-show_format',
  '-show_streams',
];

/** Rates a VFR source is conformed to: the nearest one to its average rate. */
export const STANDARD_RATES: readonly Rational[] = [
  [24000, 1001],
  [24, 1],
  [25, 1],
  [30000, 1001],
  [30, 1],
  [48, 1],
  [50, 1],
  [60000, 1001],
  [60, 1],
  [100, 1],
  [120000, 1001],
  [120, 1],
];

/**
 * r_frame_rate and avg_frame_rate of a constant-rate clip agree to well under 0.05% (the
 * average is frames / duration, so only duration rounding separates them); 29.97 against 30
 * is already 0.1%.
 */
const VFR_TOLERANCE = 0.0005;

/** Image formats ffprobe names `<codec>_pipe`, plus image2 for numbered sequences. */
const IMAGE_FORMAT = /(^|,)(image2|[a-z0-9]+_pipe)(,|$)/;
const IMAGE_CODECS = new Set([
  'png',
  'tiff',
  'dpx',
  'exr',
  'bmp',
  'webp',
  'jpegls',
  'jpeg2000',
  'sgi',
  'targa',
]);

type Json = Record<string, unknown>;

/** Normalises ffprobe's JSON (PROBE_ARGS) into MediaInfo. Pure. */
export function parseProbe(json: unknown): MediaInfo {
  const root = obj(json);
  const streams = Array.isArray(root.streams) ? root.streams.map(obj) : [];
  if (streams.length === 0) {
    throw new MediaError(
      'MEDIA_UNREADABLE',
      'ffprobe found no audio or video streams in the file',
      'check that the file is a complete media file (not cut short or still copying) and that ffprobe can read it',
    );
  }
  const format = obj(root.format);
  const formatName = str(format.format_name) ?? 'unknown';
  const formatDuration = num(format.duration);
  const streamDurations = streams.map((s) => num(s.duration)).filter((d) => d !== null);
  const durationSec = formatDuration ?? (streamDurations.length ? Math.max(...streamDurations) : 0);

  const videoStream = streams.find(
    (s) => s.codec_type === 'video' && obj(s.disposition).attached_pic !== 1,
  );
  const video = videoStream ? parseVideo(videoStream, durationSec) : null;
  const formatStart = num(format.start_time);
  const videoStart = videoStream ? num(videoStream.start_time) : null;
  if (video && formatStart !== null && videoStart !== null && videoStart - formatStart > 1e-6) {
    video.startOffsetSec = Math.round((videoStart - formatStart) * 1e6) / 1e6;
  }
  const audio: AudioInfo[] = streams
    .filter((s) => s.codec_type === 'audio')
    .map((s) => ({
      index: int(s.index) ?? 0,
      codec: str(s.codec_name) ?? 'unknown',
      channels: int(s.channels) ?? 0,
      sampleRate: int(s.sample_rate) ?? 0,
    }));

  const isStill =
    video !== null &&
    (IMAGE_FORMAT.test(formatName) ||
      (IMAGE_CODECS.has(video.codec) && !(video.frameCount !== null && video.frameCount > 1)) ||
      video.frameCount === 1);

  return {
    formatName,
    durationSec,
    video,
    audio,
    timecode: findTimecode(format, videoStream, streams),
    isStill,
  };
}

function parseVideo(s: Json, formatDuration: number): VideoInfo {
  const pixFmt = str(s.pix_fmt) ?? 'unknown';
  const fieldOrder = parseFieldOrder(str(s.field_order));
  const rates = frameRates(s, fieldOrder);
  const nbFrames = int(s.nb_frames);
  const duration = num(s.duration) ?? formatDuration;
  const frameCount =
    nbFrames !== null && nbFrames > 0
      ? nbFrames
      : duration > 0
        ? Math.round((duration * rates.frameRate[0]) / rates.frameRate[1])
        : null;
  const rawBits = int(s.bits_per_raw_sample);
  return {
    index: int(s.index) ?? 0,
    codec: str(s.codec_name) ?? 'unknown',
    width: int(s.width) ?? 0,
    height: int(s.height) ?? 0,
    sar: parseSar(str(s.sample_aspect_ratio)),
    pixFmt,
    bitDepth: rawBits !== null && rawBits > 0 ? rawBits : bitDepthOf(pixFmt),
    chroma: chromaOf(pixFmt),
    fieldOrder,
    frameRate: rates.frameRate,
    vfr: rates.vfr,
    frameCount,
    rotation: rotationOf(s),
    ...(str(s.profile) !== null && { profile: str(s.profile)! }),
    colorRange: rangeOf(str(s.color_range), pixFmt),
    colorPrimaries: known(str(s.color_primaries)),
    colorTransfer: known(str(s.color_transfer)),
    colorSpace: known(str(s.color_space)),
  };
}

/**
 * Nominal rate and whether timing varies. Interlaced streams may report the field rate as
 * r_frame_rate (AVCHD 50i: r 50/1, avg 25/1); that is not VFR, the frame rate is the average.
 */
function frameRates(s: Json, fieldOrder: FieldOrder): { frameRate: Rational; vfr: boolean } {
  const r = rational(str(s.r_frame_rate));
  const avg = rational(str(s.avg_frame_rate));
  if (!r && !avg) return { frameRate: [25, 1], vfr: false };
  if (!avg) return { frameRate: r as Rational, vfr: false };
  if (!r) return { frameRate: avg, vfr: false };
  const rv = r[0] / r[1];
  const av = avg[0] / avg[1];
  if (Math.abs(rv - av) <= av * VFR_TOLERANCE) return { frameRate: r, vfr: false };
  const interlaced = fieldOrder !== 'progressive' && fieldOrder !== 'unknown';
  if (interlaced && Math.abs(rv - 2 * av) <= av * VFR_TOLERANCE) {
    return { frameRate: avg, vfr: false };
  }
  return { frameRate: nearestStandardRate(av), vfr: true };
}

export function nearestStandardRate(fps: number): Rational {
  let best = STANDARD_RATES[0] as Rational;
  for (const rate of STANDARD_RATES) {
    if (Math.abs(rate[0] / rate[1] - fps) < Math.abs(best[0] / best[1] - fps)) best = rate;
  }
  return best;
}

/**
 * Display rotation, clockwise. The display matrix's `rotation` is counter-clockwise: a phone
 * clip shown turned 90° clockwise probes as -90 (checked on the rotated-phone sample). Older
 * ffprobe builds give a clockwise `rotate` tag instead.
 */
function rotationOf(s: Json): VideoInfo['rotation'] {
  const sideData = Array.isArray(s.side_data_list) ? s.side_data_list.map(obj) : [];
  const matrix = sideData.find((d) => typeof d.rotation === 'number');
  let clockwise: number | null = null;
  if (matrix) clockwise = -(matrix.rotation as number);
  else {
    const tag = num(obj(s.tags).rotate);
    if (tag !== null) clockwise = tag;
  }
  if (clockwise === null) return 0;
  const quarter = ((Math.round(clockwise / 90) % 4) + 4) % 4;
  return ([0, 90, 180, 270] as const)[quarter] ?? 0;
}

const TIMECODE = /^\d{2}:\d{2}:\d{2}[:;.]\d{2,3}$/;

/** Container tag first (MXF, MOV written by ffmpeg), then the video stream's, then a tmcd track. */
function findTimecode(format: Json, video: Json | undefined, streams: Json[]): string | null {
  const candidates = [
    obj(format.tags).timecode,
    video ? obj(video.tags).timecode : undefined,
    ...streams.filter((s) => s.codec_type === 'data').map((s) => obj(s.tags).timecode),
    ...streams.map((s) => obj(s.tags).timecode),
  ];
  for (const c of candidates) if (typeof c === 'string' && TIMECODE.test(c)) return c;
  return null;
}

function parseFieldOrder(v: string | null): FieldOrder {
  switch (v) {
    case 'progressive':
    case 'tt':
    case 'bb':
    case 'tb':
    case 'bt':
      return v;
    default:
      return 'unknown';
  }
}

function parseSar(v: string | null): Rational {
  const r = v ? /^(\d+):(\d+)$/.exec(v) : null;
  const n = r ? Number(r[1]) : 0;
  const d = r ? Number(r[2]) : 0;
  return n > 0 && d > 0 ? [n, d] : [1, 1];
}

/** Bits per component from the pixel format name: yuv422p10le, p010le, gbrp12le, rgb48le. */
export function bitDepthOf(pixFmt: string): number {
  if (/^(rgb|bgr)a?(48|64)/.test(pixFmt)) return 16;
  const m = /(\d{2})(le|be)$/.exec(pixFmt);
  return m ? Number(m[1]) : 8;
}

/** Chroma subsampling from the pixel format name; '444' for RGB, '400' for grey. */
export function chromaOf(pixFmt: string): string {
  if (/^(yuvj?|yuva)420|^nv(12|21)|^p0(10|12|16)/.test(pixFmt)) return '420';
  if (/^(yuvj?|yuva)422|^nv(16|20)|^p2(10|16)|^(uyvy|yuyv|yvyu)422|^v210/.test(pixFmt)) {
    return '422';
  }
  if (/^(yuvj?|yuva)444|^nv24|^p4(10|16)|^(gbr|rgb|bgr|argb|abgr|rgba|bgra|x2rgb)/.test(pixFmt)) {
    return '444';
  }
  if (/^(yuvj?)411|^uyyvyy411/.test(pixFmt)) return '411';
  if (/^yuv410/.test(pixFmt)) return '410';
  if (/^gray|^ya/.test(pixFmt)) return '400';
  return 'unknown';
}

function rangeOf(v: string | null, pixFmt: string): VideoInfo['colorRange'] {
  if (v === 'tv' || v === 'pc') return v;
  return pixFmt.startsWith('yuvj') ? 'pc' : 'unknown';
}

function known(v: string | null): string | null {
  return v && v !== 'unknown' && v !== 'unspecified' && v !== 'reserved' ? v : null;
}

function rational(v: string | null): Rational | null {
  const m = v ? /^(\d+)\/(\d+)$/.exec(v) : null;
  if (!m) return null;
  const n = Number(m[1]);
  const d = Number(m[2]);
  return n > 0 && d > 0 ? [n, d] : null;
}

function obj(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' && v !== 'N/A' ? v : null;
}

function num(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

function int(v: unknown): number | null {
  const n = num(v);
  return n === null ? null : Math.trunc(n);
}
