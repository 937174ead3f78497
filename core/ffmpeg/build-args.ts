import type { MediaInfo, VideoInfo } from '../media/media-info.ts';
import { proxyAudio, proxyDimensions, type Preset, type PresetAudio } from '../presets/presets.ts';

export interface EncodeIo {
  input: string;
  /** The temp file written; renamed to the proxy path once verified. */
  output: string;
  /** Encoder threads (see encoderThreads); ffmpeg chooses when absent. */
  threads?: number;
}

/** The full ffmpeg argv (without the binary) for one proxy. Pure. */
export function buildFfmpegArgs(media: MediaInfo, preset: Preset, io: EncodeIo): string[] {
  const v = media.video;
  if (!v) throw new Error('buildFfmpegArgs: the media has no video stream');
  const args = ['-hide_banner', '-nostdin', '-y', '-v', 'error', '-i', io.input];

  args.push('-map', `0:${v.index}`);
  for (const a of proxyAudio(media, preset.audio)) args.push('-map', `0:${a.index}`);
  // Creation date and camera tags carried; chapters dropped, as mov would write them as an
  // extra text track.
  args.push('-map_metadata', '0', '-map_chapters', '-1');

  args.push('-vf', videoFilters(media, preset));
  args.push('-c:v', ...preset.videoArgs, '-pix_fmt', preset.pixFmt);
  if (io.threads) args.push('-threads', String(io.threads));
  args.push(...colourTags(v));

  args.push(...audioAndTimecodeArgs(media, preset.audio));
  args.push(...proxyOutputArgs(io.output));
  return args;
}

/** The proxy's audio (48 kHz PCM or AAC) and the source's start timecode. Pure. */
export function audioAndTimecodeArgs(media: MediaInfo, audio: PresetAudio): string[] {
  const args: string[] = [];
  const streams = proxyAudio(media, audio).length;
  // 24-bit keeps camera PCM bit-exact; a stereo track costs 2.3 Mbit/s next to ~18 Mbit/s
  // of 720p ProRes Proxy video. AAC at 192 kbit/s a track for proxies sent over slow links.
  if (streams > 0 && audio.codec === 'pcm') args.push('-c:a', 'pcm_s24le', '-ar', '48000');
  if (streams > 0 && audio.codec === 'aac')
    args.push('-c:a', 'aac', '-b:a', '192k', '-ar', '48000');
  if (media.timecode) args.push('-timecode', media.timecode);
  return args;
}

/** How every proxy (single pass or joined) is written: a mov, progress on stdout. Pure. */
export function proxyOutputArgs(output: string): string[] {
  return [
    // A multitrack source whose video is held back by the filters (or read beside an already
    // encoded video, when chunks are joined) overflows ffmpeg's default per-stream queue
    // ("Too many packets buffered for output stream").
    '-max_muxing_queue_size',
    '4096',
    // ffmpeg 4.1 writes the colr atom only when asked; later versions do by default.
    '-movflags',
    '+write_colr',
    '-progress',
    'pipe:1',
    '-nostats',
    '-f',
    'mov',
    output,
  ];
}

/**
 * Deinterlace, conform VFR, scale to the proxy size with square pixels, convert range and
 * pixel format. Rotation is left to ffmpeg's autorotate (on by default in 4.1..7), which
 * inserts the transpose before these filters and drops the display matrix from the output.
 */
export function videoFilters(media: MediaInfo, preset: Preset): string {
  const v = media.video as VideoInfo;
  const { width, height } = proxyDimensions(media, preset);
  const filters: string[] = [];
  if (isInterlaced(v)) filters.push('bwdif=mode=send_frame:parity=auto:deint=all');
  // Anchored at 0 rather than at the first frame: the output grid is then a property of the
  // source's timestamps alone, so a chunk that starts decoding later (buildChunkArgs) lays the
  // same grid and picks the same frame for every slot.
  if (v.vfr) filters.push(`fps=${v.frameRate[0]}/${v.frameRate[1]}:start_time=0`);
  const scale = [`scale=${width}:${height}`, `flags=${preset.scaler}`];
  if (v.colorRange === 'pc') scale.push('in_range=pc', 'out_range=tv');
  else if (v.colorRange === 'tv') scale.push('in_range=tv', 'out_range=tv');
  if (isRgb(v.pixFmt)) scale.push('out_color_matrix=bt709');
  filters.push(scale.join(':'), 'setsar=1', `format=${preset.pixFmt}`);
  return filters.join(',');
}

export function colourTags(v: VideoInfo): string[] {
  const tags = ['-color_range', 'tv'];
  const space = isRgb(v.pixFmt) ? 'bt709' : v.colorSpace;
  if (v.colorPrimaries) tags.push('-color_primaries', v.colorPrimaries);
  if (v.colorTransfer) tags.push('-color_trc', v.colorTransfer);
  if (space) tags.push('-colorspace', space);
  return tags;
}

export function isInterlaced(v: VideoInfo): boolean {
  return (
    v.fieldOrder === 'tt' || v.fieldOrder === 'bb' || v.fieldOrder === 'tb' || v.fieldOrder === 'bt'
  );
}

function isRgb(pixFmt: string): boolean {
  return /^(gbr|rgb|bgr|argb|abgr|rgba|bgra|x2rgb)/.test(pixFmt);
}
