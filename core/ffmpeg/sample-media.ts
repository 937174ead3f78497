/**
 * ffmpeg argv builders for small camera-like clips made from lavfi sources (testsrc2 picture,
 * sine tone). Used by `proxima demo`, the tests and the benchmarks. Pure: no binary is run.
 */

export type SampleKind =
  | 'h264-stereo'
  | 'h264-10bit-422-4mono'
  | 'no-audio'
  | 'h264-23976'
  | 'vfr'
  | 'interlaced-mpeg2-mxf'
  | 'rotated-phone'
  | 'still-png'
  | 'audio-only';

export interface SampleKindInfo {
  /** File extension the clip is written with (no dot). */
  ext: string;
  /** What camera or device the clip imitates. */
  description: string;
  /** Start timecode written into the container, or null when the kind carries none. */
  timecode: string | null;
}

export const SAMPLE_KINDS: Readonly<Record<SampleKind, SampleKindInfo>> = {
  'h264-stereo': {
    ext: 'mov',
    description: 'H.264 4:2:0 8-bit long-GOP, 25 fps, AAC stereo, timecode track',
    timecode: '01:00:00:00',
  },
  'h264-10bit-422-4mono': {
    ext: 'mov',
    description: 'H.264 High 4:2:2 10-bit long-GOP, 25 fps, four mono 24-bit PCM tracks, timecode',
    timecode: '10:00:00:00',
  },
  'no-audio': {
    ext: 'mp4',
    description: 'H.264 30 fps in MP4 without audio (drone-style), timecode track',
    timecode: '05:00:00:00',
  },
  'h264-23976': {
    ext: 'mov',
    description: 'H.264 at 24000/1001 fps, AAC stereo, timecode track',
    timecode: '01:00:00:00',
  },
  vfr: {
    ext: 'mp4',
    description: 'H.264 with irregular frame timing averaging 30 fps (phone-style), AAC',
    timecode: null,
  },
  'interlaced-mpeg2-mxf': {
    ext: 'mxf',
    description:
      'MPEG-2 4:2:2 interlaced top field first, 25 fps (50i), anamorphic 4:3 pixels, MXF',
    timecode: '10:00:00:00',
  },
  'rotated-phone': {
    ext: 'mp4',
    description: 'H.264 coded landscape, displayed portrait (90° clockwise), full range, AAC',
    timecode: null,
  },
  'still-png': { ext: 'png', description: 'A single PNG picture', timecode: null },
  'audio-only': { ext: 'wav', description: 'Stereo 24-bit 48 kHz WAV', timecode: null },
};

/** Every kind, in a stable order. */
export const SAMPLE_KIND_NAMES = Object.keys(SAMPLE_KINDS) as readonly SampleKind[];

export interface SampleSize {
  width?: number;
  height?: number;
  seconds?: number;
}

const HEAD = ['-hide_banner', '-nostdin', '-v', 'error', '-y'];
const BT709 = ['-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709'];

/**
 * A 2x2 one-frame QuickTime file whose track matrix says "display rotated 90° clockwise"
 * (ffprobe reports rotation -90). ffmpeg 4.1 writes a rotation only when stream-copying
 * (`-metadata:s:v rotate=` is ignored when encoding) or when an input stream already carries
 * one and autorotation is off: it then copies the input's display matrix to the encoded
 * stream. This file is that input; its picture is discarded (nullsink) and testsrc2 is encoded
 * in its place, so the clip stays H.264 at any size.
 */
const ROTATION_CARRIER =
  'data:video/quicktime;base64,' +
  'AAAAFGZ0eXBxdCAgAAACAHF0ICAAAAAId2lkZQAAABRtZGF0AAAAAAAAAAAAAAAAAAACoW1vb3YAAABsbXZoZAAAAAAAAAAA' +
  'AAAAAAAAA+gAAAPoAAEAAAEAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAA' +
  'AAAAAAAAAAAAAAAAAAAAAAAAAAIAAAItdHJhawAAAFx0a2hkAAAAAwAAAAAAAAAAAAAAAQAAAAAAAAPoAAAAAAAAAAAAAAAA' +
  'AAAAAAAAAAAAAQAAAAAAAP//AAAAAAAAAAAAAAAAAAAAAAAAQAAAAAACAAAAAgAAAAAAJGVkdHMAAAAcZWxzdAAAAAAAAAAB' +
  'AAAD6AAAAAAAAQAAAAABpW1kaWEAAAAgbWRoZAAAAAAAAAAAAAAAAAAAQAAAAEAAAAAAAAAAAC1oZGxyAAAAAG1obHJ2aWRl' +
  'AAAAAAAAAAAAAAAADFZpZGVvSGFuZGxlcgAAAVBtaW5mAAAAFHZtaGQAAAABAAAAAAAAAAAAAAAsaGRscgAAAABkaGxydXJs' +
  'IAAAAAAAAAAAAAAAAAtEYXRhSGFuZGxlcgAAACRkaW5mAAAAHGRyZWYAAAAAAAAAAQAAAAx1cmwgAAAAAQAAAORzdGJsAAAA' +
  'gHN0c2QAAAAAAAAAAQAAAHByYXcgAAAAAAAAAAEAAAAARkZNUAAAAAAAAAQAAAIAAgBIAAAASAAAAAAAAAABAAAAAAAAAAAA' +
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGP//AAAACmZpZWwBAAAAABBwYXNwAAAAAQAAAAEAAAAYc3R0cwAAAAAAAAABAAAA' +
  'AQAAQAAAAAAcc3RzYwAAAAAAAAABAAAAAQAAAAEAAAABAAAAFHN0c3oAAAAAAAAADAAAAAEAAAAUc3RjbwAAAAAAAAABAAAA' +
  'JA==';

/**
 * The full ffmpeg argv (without the binary) writing one sample clip of `kind` to `output`.
 * Defaults: 640x360, 2 s. The output format is always given with `-f`, so `output` may have
 * any name (a hidden temporary one, say).
 */
export function sampleClipArgs(kind: SampleKind, output: string, size: SampleSize = {}): string[] {
  const w = even(size.width ?? 640);
  const h = even(size.height ?? 360);
  const s = size.seconds ?? 2;
  const tc = SAMPLE_KINDS[kind].timecode;
  const timecode = tc ? ['-timecode', tc] : [];
  const video = (rate: string, width = w) => [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${h}:rate=${rate}:duration=${s}`,
  ];
  const tone = (hz: number) => [
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${hz}:sample_rate=48000:duration=${s}`,
  ];
  // testsrc2 is RGB; converting with an explicit BT.709 matrix makes the colour tags true.
  const yuv = (pixFmt: string, range: 'tv' | 'pc' = 'tv') => [
    '-vf',
    `scale=out_color_matrix=bt709:out_range=${range},format=${pixFmt}`,
    '-color_range',
    range,
    ...BT709,
  ];
  // One-second GOP with B-frames: long-GOP like camera H.264, so decoding costs what it does.
  const x264 = (rate: number) => [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-g',
    String(Math.round(rate)),
  ];
  const aacStereo = ['-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000'];

  switch (kind) {
    case 'h264-stereo':
      return [
        ...HEAD,
        ...video('25'),
        ...tone(1000),
        '-map',
        '0:v',
        '-map',
        '1:a',
        ...yuv('yuv420p'),
        ...x264(25),
        ...aacStereo,
        ...timecode,
        '-f',
        'mov',
        output,
      ];
    case 'h264-10bit-422-4mono':
      return [
        ...HEAD,
        ...video('25'),
        ...tone(440),
        ...tone(660),
        ...tone(880),
        ...tone(1100),
        '-map',
        '0:v',
        '-map',
        '1:a',
        '-map',
        '2:a',
        '-map',
        '3:a',
        '-map',
        '4:a',
        ...yuv('yuv422p10le'),
        ...x264(25),
        '-c:a',
        'pcm_s24le',
        ...timecode,
        '-f',
        'mov',
        output,
      ];
    case 'no-audio':
      return [
        ...HEAD,
        ...video('30'),
        ...yuv('yuv420p'),
        ...x264(30),
        ...timecode,
        '-f',
        'mp4',
        output,
      ];
    case 'h264-23976':
      return [
        ...HEAD,
        ...video('24000/1001'),
        ...tone(1000),
        '-map',
        '0:v',
        '-map',
        '1:a',
        ...yuv('yuv420p'),
        ...x264(24),
        ...aacStereo,
        ...timecode,
        '-f',
        'mov',
        output,
      ];
    case 'vfr':
      // Frames on a 1/60 s grid, four kept out of every eight at uneven gaps (3, 1, 2, 2
      // ticks): 30 fps on average, no two neighbouring intervals alike. -vsync vfr keeps the
      // timestamps as they are instead of duplicating or dropping to a constant rate.
      return [
        ...HEAD,
        ...video('60'),
        ...tone(1000),
        '-map',
        '0:v',
        '-map',
        '1:a',
        '-vf',
        'select=eq(mod(n\\,8)\\,0)+eq(mod(n\\,8)\\,3)+eq(mod(n\\,8)\\,4)+eq(mod(n\\,8)\\,6),' +
          'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p',
        '-color_range',
        'tv',
        ...BT709,
        '-vsync',
        'vfr',
        ...x264(30),
        ...aacStereo,
        '-f',
        'mp4',
        output,
      ];
    case 'interlaced-mpeg2-mxf': {
      // HDV/XDCAM-style anamorphic frame: coded 3/4 as wide, pixels 4:3 wide, so it displays
      // at width x height. Two mono PCM tracks as broadcast cameras record them.
      const coded = even(Math.round((w * 3) / 4));
      return [
        ...HEAD,
        ...video('25', coded),
        ...tone(1000),
        ...tone(1000),
        '-map',
        '0:v',
        '-map',
        '1:a',
        '-map',
        '2:a',
        '-vf',
        'scale=out_color_matrix=bt709:out_range=tv,format=yuv422p,setsar=4/3,setfield=tff',
        '-color_range',
        'tv',
        ...BT709,
        '-c:v',
        'mpeg2video',
        '-flags',
        '+ilme+ildct',
        '-top',
        '1',
        '-g',
        '12',
        '-bf',
        '2',
        '-b:v',
        '8M',
        '-c:a',
        'pcm_s24le',
        ...timecode,
        '-f',
        'mxf',
        output,
      ];
    }
    case 'rotated-phone':
      return [
        ...HEAD,
        '-noautorotate',
        '-i',
        ROTATION_CARRIER,
        ...tone(1000),
        '-map',
        '0:v',
        '-map',
        '1:a',
        '-vf',
        `nullsink;testsrc2=size=${w}x${h}:rate=30:duration=${s},` +
          'scale=out_color_matrix=bt709:out_range=pc,format=yuv420p',
        '-color_range',
        'pc',
        ...BT709,
        ...x264(30),
        ...aacStereo,
        '-f',
        'mp4',
        output,
      ];
    case 'still-png':
      return [
        ...HEAD,
        ...video('1'),
        '-frames:v',
        '1',
        '-update',
        '1',
        '-c:v',
        'png',
        '-f',
        'image2',
        output,
      ];
    case 'audio-only':
      return [...HEAD, ...tone(1000), '-c:a', 'pcm_s24le', '-ac', '2', '-f', 'wav', output];
  }
}

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}
