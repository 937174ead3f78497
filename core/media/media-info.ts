/**
 * What Proxima needs to know about a media file, normalised from ffprobe's JSON by
 * `parseProbe` (core/media/parse-probe.ts). Every decision (preset args, verification,
 * skipping stills and audio-only files) reads this, never raw ffprobe output.
 */
export type Rational = readonly [num: number, den: number];

export type FieldOrder = 'progressive' | 'tt' | 'bb' | 'tb' | 'bt' | 'unknown';

export interface VideoInfo {
  /** Absolute stream index in the file. */
  index: number;
  codec: string;
  /** Coded size, before rotation and sample aspect are applied. */
  width: number;
  height: number;
  /** Sample (pixel) aspect ratio; [1, 1] for square pixels. */
  sar: Rational;
  pixFmt: string;
  bitDepth: number;
  /** Chroma subsampling of the source, e.g. '420', '422', '444'. */
  chroma: string;
  fieldOrder: FieldOrder;
  /** Nominal (constant) frame rate the proxy is written at. */
  frameRate: Rational;
  /** True when frame timing varies; the proxy is then made constant at frameRate. */
  vfr: boolean;
  /** Frames in the stream as the container reports them, or computed from duration. */
  frameCount: number | null;
  /** Display rotation in degrees clockwise: 0, 90, 180 or 270. */
  rotation: 0 | 90 | 180 | 270;
  /** The codec profile ffprobe names ("Proxy", "LT", "DNXHR SQ", "High"), when it names one. */
  profile?: string;
  colorRange: 'tv' | 'pc' | 'unknown';
  colorPrimaries: string | null;
  colorTransfer: string | null;
  colorSpace: string | null;
  /**
   * Seconds from the file's start (its earliest stream) to the video's first frame, when not 0:
   * a chunk's seek is relative to the file's start.
   */
  startOffsetSec?: number;
}

export interface AudioInfo {
  index: number;
  codec: string;
  channels: number;
  sampleRate: number;
}

export interface MediaInfo {
  formatName: string;
  durationSec: number;
  /** The first video stream that is not an attached picture; null for audio-only files. */
  video: VideoInfo | null;
  audio: AudioInfo[];
  /** Start timecode (HH:MM:SS:FF or HH:MM:SS;FF), from the container, stream or tmcd track. */
  timecode: string | null;
  /** A single picture (jpeg, png, tiff, dpx, ...) rather than moving footage. */
  isStill: boolean;
}
