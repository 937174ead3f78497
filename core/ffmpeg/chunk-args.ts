import type { FrameRange } from '../job/contract.ts';
import type { MediaInfo, VideoInfo } from '../media/media-info.ts';
import { PRESETS, proxyAudio, type Preset, type PresetAudio } from '../presets/presets.ts';
import {
  audioAndTimecodeArgs,
  colourTags,
  isInterlaced,
  proxyOutputArgs,
  videoFilters,
} from './build-args.ts';

export interface ChunkIo {
  input: string;
  output: string;
  threads?: number;
}

/**
 * Frames decoded and deinterlaced before an interlaced chunk's first frame, then dropped: bwdif
 * reads the frame before and after the one it makes, so the chunk's first frame must have its
 * predecessor, as it has in a single pass.
 */
export const INTERLACED_PREROLL_FRAMES = 2;

/**
 * Seconds decoded before a VFR chunk's first output frame: the frame a single pass repeats into
 * that slot may have been captured well before it (a phone drops frames in low light).
 */
export const VFR_PREROLL_SECONDS = 1;

/**
 * argv (without the binary) that encodes output frames [range.start, range.start+range.frames)
 * of the clip's video only (no audio, no data streams) to a mov at io.output, with -progress
 * pipe:1 -nostats like buildFfmpegArgs, so the existing progress parser reads frame= (counted
 * from the chunk's first frame). Pure.
 */
export function buildChunkArgs(
  media: MediaInfo,
  preset: Preset,
  range: FrameRange,
  io: ChunkIo,
): string[] {
  const v = media.video;
  if (!v) throw new Error('buildChunkArgs: the media has no video stream');
  if (!Number.isInteger(range.start) || range.start < 0) {
    throw new Error(`buildChunkArgs: bad first frame ${range.start}`);
  }
  if (!Number.isInteger(range.frames) || range.frames < 1) {
    throw new Error(`buildChunkArgs: bad frame count ${range.frames}`);
  }
  const [num, den] = v.frameRate;
  const frameSec = den / num;
  const head = ['-hide_banner', '-nostdin', '-y', '-v', 'error'];
  const filters = videoFilters(media, preset).split(',');
  let input: string[];

  if (v.vfr) {
    // The fps filter picks, for each output slot, the last frame at or before it, on a grid
    // anchored at 0 (buildFfmpegArgs anchors it too). With -copyts -start_at_zero the frames
    // reach fps with exactly the timestamps they have in the single pass, so the grid and its
    // rounding are the same; the slots before the range (repeats of the first frame decoded,
    // plus the pre-roll) are dropped by output slot number.
    const from = Math.max(0, range.start * frameSec - VFR_PREROLL_SECONDS);
    input = ['-copyts', '-start_at_zero'];
    // The grid counts from the file's start, not the video's: a single pass fills a late
    // video's lead with repeats of its first frame, and so does the first chunk.
    if (from > 0) input.push('-ss', seconds(from));
    input.push('-i', io.input);
    const fps = filters.findIndex((f) => f.startsWith('fps='));
    filters.splice(fps + 1, 0, `trim=start_pts=${range.start}`, 'setpts=PTS-STARTPTS');
  } else {
    // Constant rate: output frame n is source frame n. The seek asks for a quarter frame after
    // the first frame decoded (the first wanted, less the pre-roll), without ffmpeg's accurate
    // seek: the demuxer starts at the keyframe at or before that point, so a chunk cut on a
    // keyframe starts decoding at it, not a whole GOP earlier, and the quarter frame absorbs
    // rounding of the seek and of the stream's timestamps. No more than a quarter: in a file
    // indexed by decoding time whose video has B-frames, ffmpeg backs every seek off by 3/23 s
    // (such a chunk still starts a GOP early), and that back-off is what keeps the demuxer off
    // a keyframe just after the first frame whose leading B-frames come before it.
    // With the file's own timestamps the frames before the range are dropped by time, half a
    // frame before the first, then count from 0: ffmpeg's constant-rate output would otherwise
    // repeat the first frame to fill the time before it.
    const preroll = isInterlaced(v) ? Math.min(range.start, INTERLACED_PREROLL_FRAMES) : 0;
    const first = range.start - preroll;
    const offset = videoOffset(media);
    let keep: string[];
    if (first > 0) {
      input = ['-copyts', '-start_at_zero', '-noaccurate_seek'];
      input.push('-ss', seconds((first + 0.25) * frameSec + offset), '-i', io.input);
      keep = [`trim=start=${seconds((range.start - 0.5) * frameSec + offset)}`];
    } else {
      // From the file's start: nothing before the pre-roll, dropped by count.
      input = ['-i', io.input];
      keep = preroll > 0 ? [`trim=start_frame=${preroll}`] : [];
    }
    if (keep.length > 0 || !isInterlaced(v)) keep.push('setpts=PTS-STARTPTS');
    // bwdif reads the frames either side of each one it makes: the pre-roll goes through it
    // before it is dropped, so the chunk's first frame is made from the same three frames as
    // in a single pass.
    const deint = filters.findIndex((f) => f.startsWith('bwdif='));
    filters.splice(deint + 1, 0, ...keep);
  }

  const args = [...head, ...input, '-map', `0:${v.index}`, '-map_metadata', '-1'];
  args.push('-map_chapters', '-1', '-vf', filters.join(','), '-frames:v', String(range.frames));
  args.push('-c:v', ...preset.videoArgs, '-pix_fmt', preset.pixFmt);
  if (io.threads) args.push('-threads', String(io.threads));
  args.push(...colourTags(v));
  args.push('-movflags', '+write_colr', '-progress', 'pipe:1', '-nostats', '-f', 'mov', io.output);
  return args;
}

export interface AssembleIo {
  list: string;
  source: string;
  output: string;
  /** The preset's audio; absent: every stream as PCM, as the built-in presets make it. */
  audio?: PresetAudio;
}

/**
 * argv that joins the chunk files named in the concat list file io.list (video by stream copy)
 * and takes every audio stream of the source from io.source in one pass (encoded as
 * buildFfmpegArgs does: pcm_s24le 48 kHz), writes the source's start timecode, the source's
 * metadata (-map_metadata from the source, chapters dropped), mov with +write_colr, -progress
 * pipe:1 -nostats. Pure.
 */
export function buildAssembleArgs(media: MediaInfo, io: AssembleIo): string[] {
  const v = media.video;
  if (!v) throw new Error('buildAssembleArgs: the media has no video stream');
  const args = ['-hide_banner', '-nostdin', '-y', '-v', 'error'];
  // The chunks start at 0; a video that starts after the source's audio starts as late in
  // the proxy (mov writes it as an edit), so picture and sound stay where the camera put them.
  // A VFR proxy's first chunk already holds the lead (see buildChunkArgs).
  const offset = v.vfr ? 0 : videoOffset(media);
  if (offset > 0) args.push('-itsoffset', seconds(offset));
  args.push('-f', 'concat', '-safe', '0', '-i', io.list, '-i', io.source);
  args.push('-map', '0:v:0');
  const audio = io.audio ?? PRESETS['prores-proxy'].audio;
  for (const a of proxyAudio(media, audio)) args.push('-map', `1:${a.index}`);
  args.push('-map_metadata', '1', '-map_chapters', '-1', '-c:v', 'copy');
  args.push(...audioAndTimecodeArgs(media, audio), ...proxyOutputArgs(io.output));
  return args;
}

/**
 * The text of an ffconcat list file naming these absolute paths in order, each escaped so any
 * file name (quotes, spaces, backslashes, newlines refused by throwing) is read back as itself.
 */
export function concatList(files: readonly string[]): string {
  const lines = ['ffconcat version 1.0'];
  for (const file of files) {
    if (/[\n\r]/.test(file)) {
      throw new Error(`concatList: a file name with a line break cannot be listed: ${file}`);
    }
    if (!file.startsWith('/')) throw new Error(`concatList: not an absolute path: ${file}`);
    // Inside single quotes ffmpeg takes every character as it is, backslashes included; a
    // quote closes the quoted part, is given escaped, and a new quoted part opens.
    lines.push(`file '${file.replace(/'/g, "'\\''")}'`);
  }
  return lines.join('\n') + '\n';
}

/** Where the video's first frame sits after the file's start, in seconds. */
function videoOffset(media: MediaInfo): number {
  const v = media.video as VideoInfo;
  return v.startOffsetSec ?? 0;
}

/** Seconds as ffmpeg's -ss reads them, to the microsecond it keeps. */
function seconds(s: number): string {
  return Math.max(0, s).toFixed(6);
}
