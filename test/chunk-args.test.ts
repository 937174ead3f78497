import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { videoFilters } from '../core/ffmpeg/build-args.ts';
import {
  buildAssembleArgs,
  buildChunkArgs,
  concatList,
  INTERLACED_PREROLL_FRAMES,
  VFR_PREROLL_SECONDS,
} from '../core/ffmpeg/chunk-args.ts';
import type { MediaInfo, VideoInfo } from '../core/media/media-info.ts';
import { parseProbe } from '../core/media/parse-probe.ts';
import { PRESETS } from '../core/presets/presets.ts';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(
    readFileSync(new URL(`./fixtures/probe/${name}.json`, import.meta.url), 'utf8'),
  ) as Record<string, unknown>;
}

/** Frozen ffprobe JSON of the sample kinds (see parse-probe.test.ts), at 320x180. */
function probed(name: string): MediaInfo {
  return parseProbe(fixture(name));
}

function withVideo(media: MediaInfo, extra: Partial<VideoInfo>): MediaInfo {
  return { ...media, video: { ...(media.video as VideoInfo), ...extra } };
}

const prores = PRESETS['prores-proxy'];
const io = { input: '/media/day 1/A001.mov', output: '/proxies/.A001.chunk-3.partial' };
const HEAD = ['-hide_banner', '-nostdin', '-y', '-v', 'error'];
const PRORES = [
  '-c:v',
  'prores_ks',
  '-profile:v',
  '0',
  '-vendor',
  'apl0',
  '-qscale:v',
  '11',
  '-pix_fmt',
  'yuv422p10le',
];
const BT709_TV = [
  '-color_range',
  'tv',
  '-color_primaries',
  'bt709',
  '-color_trc',
  'bt709',
  '-colorspace',
  'bt709',
];
const TAIL = [
  '-movflags',
  '+write_colr',
  '-progress',
  'pipe:1',
  '-nostats',
  '-f',
  'mov',
  '/proxies/.A001.chunk-3.partial',
];
const SCALE = 'scale=320:180:flags=bicubic:in_range=tv:out_range=tv,setsar=1,format=yuv422p10le';

test('constant rate: seek just after the first frame to its keyframe, earlier frames dropped by time', () => {
  const args = buildChunkArgs(
    probed('h264-stereo'),
    prores,
    { index: 1, start: 10, frames: 10 },
    io,
  );
  assert.deepEqual(args, [
    ...HEAD,
    // The demuxer starts at the keyframe at or before 10.25 frames: frame 10 when it is one.
    ...['-copyts', '-start_at_zero', '-noaccurate_seek', '-ss', '0.410000'],
    ...['-i', '/media/day 1/A001.mov'],
    ...['-map', '0:0', '-map_metadata', '-1', '-map_chapters', '-1'],
    // Half a frame before frame 10 in the file's own time: frames 0-9 go, 10 stays.
    ...['-vf', `trim=start=0.380000,setpts=PTS-STARTPTS,${SCALE}`, '-frames:v', '10'],
    ...PRORES,
    ...BT709_TV,
    ...TAIL,
  ]);
});

test('the first chunk reads from the start: no seek at all', () => {
  const args = buildChunkArgs(
    probed('h264-stereo'),
    prores,
    { index: 0, start: 0, frames: 10 },
    io,
  );
  assert.equal(args.includes('-ss'), false);
  assert.equal(args[args.indexOf('-i') + 1], io.input);
  assert.equal(args[args.indexOf('-frames:v') + 1], '10');
});

test('23.976 and 29.97: seek and cut in the rate’s own frame length', () => {
  const ntsc = buildChunkArgs(
    probed('h264-23976'),
    prores,
    { index: 1, start: 12, frames: 12 },
    io,
  );
  // (12 + 0.25) * 1001 / 24000 = 0.510927083…, (12 - 0.5) * 1001 / 24000 = 0.479645833…
  assert.equal(ntsc[ntsc.indexOf('-ss') + 1], '0.510927');
  assert.match(ntsc[ntsc.indexOf('-vf') + 1] ?? '', /^trim=start=0\.479646,/);
  const media = withVideo(probed('h264-stereo'), { frameRate: [30000, 1001] });
  // A 10 s chunk at 29.97 is 299.7 frames: planChunks rounds it to 300, the second starts at
  // frame 300, seek (300 + 0.25) * 1001 / 30000 = 10.018341…, cut at (300 - 0.5) * 1001 / 30000
  const second = buildChunkArgs(media, prores, { index: 1, start: 300, frames: 300 }, io);
  assert.equal(second[second.indexOf('-ss') + 1], '10.018342');
  assert.match(second[second.indexOf('-vf') + 1] ?? '', /^trim=start=9\.993317,/);
});

test('interlaced: pre-roll frames deinterlaced, then dropped by time, before timestamps reset', () => {
  const media = probed('interlaced-mpeg2-mxf');
  const args = buildChunkArgs(media, prores, { index: 2, start: 10, frames: 5 }, io);
  const first = 10 - INTERLACED_PREROLL_FRAMES;
  // The demuxer starts at the keyframe at or before the first pre-roll frame.
  assert.equal(args[args.indexOf('-ss') + 1], ((first + 0.25) / 25).toFixed(6));
  assert.equal(args.includes('-noaccurate_seek'), true);
  const vf = args[args.indexOf('-vf') + 1] ?? '';
  const [deint, ...rest] = videoFilters(media, prores).split(',');
  assert.equal(
    vf,
    [deint, `trim=start=${(9.5 / 25).toFixed(6)}`, 'setpts=PTS-STARTPTS', ...rest].join(','),
  );
  assert.match(vf, /^bwdif=/);
  assert.equal(args[args.indexOf('-frames:v') + 1], '5');
});

test('interlaced near the start: as much pre-roll as there are frames before', () => {
  const media = probed('interlaced-mpeg2-mxf');
  const args = buildChunkArgs(media, prores, { index: 1, start: 1, frames: 5 }, io);
  assert.equal(args.includes('-ss'), false);
  assert.equal(args.includes('-copyts'), false);
  assert.match(args[args.indexOf('-vf') + 1] ?? '', /,trim=start_frame=1,setpts=PTS-STARTPTS,/);
  const zero = buildChunkArgs(media, prores, { index: 0, start: 0, frames: 5 }, io);
  assert.equal(zero[zero.indexOf('-vf') + 1], videoFilters(media, prores));
});

test('VFR: original timestamps, fps anchored at 0, slots before the range dropped by number', () => {
  const media = withVideo(probed('vfr'), {});
  const args = buildChunkArgs(media, prores, { index: 3, start: 90, frames: 30 }, io);
  const copyts = args.indexOf('-copyts');
  assert.ok(copyts >= 0 && copyts < args.indexOf('-i'));
  assert.equal(args[copyts + 1], '-start_at_zero');
  assert.equal(args[args.indexOf('-ss') + 1], (90 / 30 - VFR_PREROLL_SECONDS).toFixed(6));
  assert.equal(
    args[args.indexOf('-vf') + 1],
    `fps=30/1:start_time=0,trim=start_pts=90,setpts=PTS-STARTPTS,${SCALE}`,
  );
  // Within the pre-roll of the start: read from the start.
  const early = buildChunkArgs(media, prores, { index: 1, start: 20, frames: 10 }, io);
  assert.equal(early.includes('-ss'), false);
  assert.equal(early.includes('-copyts'), true);
});

test('a video that starts after the audio: the seek counts from the file’s start', () => {
  const media = withVideo(probed('h264-stereo'), { startOffsetSec: 0.2 });
  const args = buildChunkArgs(media, prores, { index: 1, start: 10, frames: 10 }, io);
  assert.equal(args[args.indexOf('-ss') + 1], '0.610000');
  // The cut is in the file's time too: frame 10 is at 0.2 + 10 / 25 s.
  assert.match(args[args.indexOf('-vf') + 1] ?? '', /^trim=start=0\.580000,/);
  const join = buildAssembleArgs(media, {
    list: '/p/l.ffconcat',
    source: io.input,
    output: '/p/o',
  });
  // The joined video is placed that late too, ahead of the concat input it applies to.
  assert.deepEqual(join.slice(5, 9), ['-itsoffset', '0.200000', '-f', 'concat']);
});

test('a VFR video that starts late: the grid counts from the file’s start, no offset at the join', () => {
  const media = withVideo(probed('vfr'), { startOffsetSec: 0.5 });
  const args = buildChunkArgs(media, prores, { index: 3, start: 90, frames: 30 }, io);
  assert.equal(args[args.indexOf('-ss') + 1], (90 / 30 - VFR_PREROLL_SECONDS).toFixed(6));
  const join = buildAssembleArgs(media, {
    list: '/p/l.ffconcat',
    source: io.input,
    output: '/p/o',
  });
  assert.equal(join.includes('-itsoffset'), false);
});

test('parseProbe: the video’s start after the file’s start, only when there is one', () => {
  assert.equal(probed('h264-stereo').video?.startOffsetSec, undefined);
  const json = fixture('h264-stereo');
  const streams = json.streams as Record<string, unknown>[];
  streams[0] = { ...streams[0], start_time: '0.200000' };
  assert.equal(parseProbe(json).video?.startOffsetSec, 0.2);
});

test('chunk argv: encoder threads, DNxHR, video only, one argument per path', () => {
  const input = `/media/Día 1/"quoted" $(rm -rf) A001.mov`;
  const args = buildChunkArgs(
    probed('h264-10bit-422-4mono'),
    PRESETS['dnxhr-lb'],
    { index: 1, start: 5, frames: 5 },
    { input, output: '/p/o.partial', threads: 1 },
  );
  assert.equal(args[args.indexOf('-i') + 1], input);
  assert.equal(args.at(-1), '/p/o.partial');
  assert.deepEqual(args.slice(args.indexOf('-c:v'), args.indexOf('-threads') + 2), [
    ...['-c:v', 'dnxhd', '-profile:v', 'dnxhr_lb', '-pix_fmt', 'yuv422p', '-threads', '1'],
  ]);
  // Only the video stream: audio, timecode and data tracks belong to the joined proxy.
  assert.deepEqual(
    args.flatMap((a, i) => (a === '-map' ? [args[i + 1]] : [])),
    ['0:0'],
  );
  assert.equal(args.includes('-timecode'), false);
});

test('chunk argv: ranges that are no frames are refused', () => {
  const media = probed('h264-stereo');
  assert.throws(() => buildChunkArgs(media, prores, { index: 0, start: 0, frames: 0 }, io));
  assert.throws(() => buildChunkArgs(media, prores, { index: 0, start: -1, frames: 2 }, io));
  assert.throws(() => buildChunkArgs(media, prores, { index: 0, start: 1.5, frames: 2 }, io));
  assert.throws(
    () => buildChunkArgs(probed('audio-only'), prores, { index: 0, start: 0, frames: 1 }, io),
    /no video stream/,
  );
});

const join = {
  list: '/p/A001.ffconcat',
  source: '/media/day 1/A001.mov',
  output: '/p/.A001.partial',
};
const JOIN_TAIL = [
  '-max_muxing_queue_size',
  '4096',
  '-movflags',
  '+write_colr',
  '-progress',
  'pipe:1',
  '-nostats',
  '-f',
  'mov',
  '/p/.A001.partial',
];

test('assemble: chunks copied, every source audio stream as PCM, timecode and metadata', () => {
  assert.deepEqual(buildAssembleArgs(probed('h264-10bit-422-4mono'), join), [
    ...HEAD,
    ...['-f', 'concat', '-safe', '0', '-i', '/p/A001.ffconcat', '-i', '/media/day 1/A001.mov'],
    ...['-map', '0:v:0', '-map', '1:1', '-map', '1:2', '-map', '1:3', '-map', '1:4'],
    ...['-map_metadata', '1', '-map_chapters', '-1', '-c:v', 'copy'],
    ...['-c:a', 'pcm_s24le', '-ar', '48000', '-timecode', '10:00:00:00'],
    ...JOIN_TAIL,
  ]);
});

test('assemble: no audio, no timecode: neither is asked for', () => {
  const media: MediaInfo = { ...probed('no-audio'), timecode: null };
  assert.deepEqual(buildAssembleArgs(media, join), [
    ...HEAD,
    ...['-f', 'concat', '-safe', '0', '-i', '/p/A001.ffconcat', '-i', '/media/day 1/A001.mov'],
    ...['-map', '0:v:0', '-map_metadata', '1', '-map_chapters', '-1', '-c:v', 'copy'],
    ...JOIN_TAIL,
  ]);
});

test('concatList: every name quoted, a quote given escaped between quoted parts', () => {
  assert.equal(
    concatList(['/p/a.mov', `/p/it's "b" \\ c #1.mov`, '/p/sp ace.mov']),
    [
      'ffconcat version 1.0',
      "file '/p/a.mov'",
      `file '/p/it'\\''s "b" \\ c #1.mov'`,
      "file '/p/sp ace.mov'",
      '',
    ].join('\n'),
  );
});

/** ffmpeg's av_get_token as the concat demuxer reads a file line: quotes and backslashes. */
function readToken(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '\\' && i + 1 < line.length) out += line[++i];
    else if (c === "'") {
      const close = line.indexOf("'", i + 1);
      out += line.slice(i + 1, close < 0 ? undefined : close);
      i = close < 0 ? line.length : close;
    } else out += c;
  }
  return out;
}

test('concatList: any name is read back as itself', () => {
  const names = [`/a/''`, `/a/\\'\\`, `/a/ lead and trail `, `/a/tab\there`, `/ü/ñ/字.mov`, "/a/'"];
  const lines = concatList(names).split('\n').slice(1, -1);
  assert.deepEqual(
    lines.map((l) => readToken(l.replace(/^file /, ''))),
    names,
  );
});

test('concatList: a line break or a relative path is refused', () => {
  assert.throws(() => concatList(['/p/a\nfile /etc/passwd']), /line break/);
  assert.throws(() => concatList(['/p/a\rb']), /line break/);
  assert.throws(() => concatList(['p/a.mov']), /absolute/);
});
