import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildFfmpegArgs } from '../core/ffmpeg/build-args.ts';
import type { MediaInfo, VideoInfo } from '../core/media/media-info.ts';
import { parseProbe } from '../core/media/parse-probe.ts';
import { expectedFrames, verifyProxy } from '../core/media/verify-proxy.ts';
import {
  encoderThreads,
  presetAt,
  PRESETS,
  proxyDimensions,
  type Preset,
  type ProxySize,
} from '../core/presets/presets.ts';

/** Frozen ffprobe JSON of the sample kinds (see parse-probe.test.ts), at 320x180. */
function probed(name: string): MediaInfo {
  return parseProbe(
    JSON.parse(readFileSync(new URL(`./fixtures/probe/${name}.json`, import.meta.url), 'utf8')),
  );
}

const io = { input: '/media/day 1/in.mov', output: '/proxies/.in.px-1.partial' };

const HEAD = ['-hide_banner', '-nostdin', '-y', '-v', 'error', '-i', '/media/day 1/in.mov'];
const METADATA = ['-map_metadata', '0', '-map_chapters', '-1'];
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
const PCM = ['-c:a', 'pcm_s24le', '-ar', '48000'];
const TAIL = [
  '-max_muxing_queue_size',
  '4096',
  '-movflags',
  '+write_colr',
  '-progress',
  'pipe:1',
  '-nostats',
  '-f',
  'mov',
  '/proxies/.in.px-1.partial',
];
const SCALE_720 = 'scale=320:180:flags=bicubic:in_range=tv:out_range=tv,setsar=1';

const table: { kind: string; args: string[] }[] = [
  {
    kind: 'h264-stereo',
    args: [
      ...HEAD,
      ...['-map', '0:0', '-map', '0:1'],
      ...METADATA,
      ...['-vf', `${SCALE_720},format=yuv422p10le`],
      ...PRORES,
      ...BT709_TV,
      ...PCM,
      ...['-timecode', '01:00:00:00'],
      ...TAIL,
    ],
  },
  {
    // Every mono track kept, in order.
    kind: 'h264-10bit-422-4mono',
    args: [
      ...HEAD,
      ...['-map', '0:0', '-map', '0:1', '-map', '0:2', '-map', '0:3', '-map', '0:4'],
      ...METADATA,
      ...['-vf', `${SCALE_720},format=yuv422p10le`],
      ...PRORES,
      ...BT709_TV,
      ...PCM,
      ...['-timecode', '10:00:00:00'],
      ...TAIL,
    ],
  },
  {
    // No audio: no audio codec options at all.
    kind: 'no-audio',
    args: [
      ...HEAD,
      ...['-map', '0:0'],
      ...METADATA,
      ...['-vf', `${SCALE_720},format=yuv422p10le`],
      ...PRORES,
      ...BT709_TV,
      ...['-timecode', '05:00:00:00'],
      ...TAIL,
    ],
  },
  {
    // Constant 24000/1001: no rate filter; the mov keeps the source's time base.
    kind: 'h264-23976',
    args: [
      ...HEAD,
      ...['-map', '0:0', '-map', '0:1'],
      ...METADATA,
      ...['-vf', `${SCALE_720},format=yuv422p10le`],
      ...PRORES,
      ...BT709_TV,
      ...PCM,
      ...['-timecode', '01:00:00:00'],
      ...TAIL,
    ],
  },
  {
    // Variable rate: made constant at the nominal 30 fps before scaling; no timecode to keep.
    kind: 'vfr',
    args: [
      ...HEAD,
      ...['-map', '0:0', '-map', '0:1'],
      ...METADATA,
      ...['-vf', `fps=30/1:start_time=0,${SCALE_720},format=yuv422p10le`],
      ...PRORES,
      ...BT709_TV,
      ...PCM,
      ...TAIL,
    ],
  },
  {
    // Interlaced: one frame per frame (send_frame), so the rate and frame count stay.
    kind: 'interlaced-mpeg2-mxf',
    args: [
      ...HEAD,
      ...['-map', '0:0', '-map', '0:1', '-map', '0:2'],
      ...METADATA,
      ...['-vf', `bwdif=mode=send_frame:parity=auto:deint=all,${SCALE_720},format=yuv422p10le`],
      ...PRORES,
      ...BT709_TV,
      ...PCM,
      ...['-timecode', '10:00:00:00'],
      ...TAIL,
    ],
  },
  {
    // Portrait: autorotate turns it upright before the filters, so the scale is portrait;
    // full range is converted to the video range ProRes carries.
    kind: 'rotated-phone',
    args: [
      ...HEAD,
      ...['-map', '0:0', '-map', '0:1'],
      ...METADATA,
      ...[
        '-vf',
        'scale=180:320:flags=bicubic:in_range=pc:out_range=tv,setsar=1,format=yuv422p10le',
      ],
      ...PRORES,
      ...BT709_TV,
      ...PCM,
      ...TAIL,
    ],
  },
];

for (const row of table) {
  test(`prores-proxy argv for ${row.kind}`, () => {
    assert.deepEqual(buildFfmpegArgs(probed(row.kind), PRESETS['prores-proxy'], io), row.args);
  });
}

test('dnxhr-lb argv: DNxHR LB 8-bit 4:2:2, with the encoder threads given', () => {
  assert.deepEqual(
    buildFfmpegArgs(probed('h264-stereo'), PRESETS['dnxhr-lb'], { ...io, threads: 1 }),
    [
      ...HEAD,
      ...['-map', '0:0', '-map', '0:1'],
      ...METADATA,
      ...['-vf', `${SCALE_720},format=yuv422p`],
      ...['-c:v', 'dnxhd', '-profile:v', 'dnxhr_lb', '-pix_fmt', 'yuv422p', '-threads', '1'],
      ...BT709_TV,
      ...PCM,
      ...['-timecode', '01:00:00:00'],
      ...TAIL,
    ],
  );
});

const builtins: { name: keyof typeof PRESETS; video: string[]; pixFmt: string }[] = [
  {
    name: 'prores-lt',
    video: ['prores_ks', '-profile:v', '1', '-vendor', 'apl0', '-qscale:v', '5'],
    pixFmt: 'yuv422p10le',
  },
  { name: 'dnxhr-sq', video: ['dnxhd', '-profile:v', 'dnxhr_sq'], pixFmt: 'yuv422p' },
  {
    // Intra only (-g 1): every frame decodes alone, as an editor's scrubbing needs.
    name: 'h264-intra',
    video: ['libx264', '-profile:v', 'high', '-g', '1', '-preset', 'veryfast', '-crf', '20'],
    pixFmt: 'yuv420p',
  },
];

for (const b of builtins) {
  test(`${b.name} argv: its encoder options right after -c:v, then its pixel format`, () => {
    assert.deepEqual(buildFfmpegArgs(probed('h264-stereo'), PRESETS[b.name], io), [
      ...HEAD,
      ...['-map', '0:0', '-map', '0:1'],
      ...METADATA,
      ...['-vf', `${SCALE_720},format=${b.pixFmt}`],
      ...['-c:v', ...b.video, '-pix_fmt', b.pixFmt],
      ...BT709_TV,
      ...PCM,
      ...['-timecode', '01:00:00:00'],
      ...TAIL,
    ]);
  });
}

test('audio as a preset asks: AAC, only the first streams mapped; none asked of none', () => {
  const aac: Preset = { ...PRESETS['prores-proxy'], audio: { codec: 'aac', streams: 2 } };
  const args = buildFfmpegArgs(probed('h264-10bit-422-4mono'), aac, io);
  const maps = args.flatMap((a, i) => (a === '-map' ? [args[i + 1]] : []));
  assert.deepEqual(maps, ['0:0', '0:1', '0:2']);
  const at = args.indexOf('-c:a');
  assert.deepEqual(args.slice(at, at + 6), ['-c:a', 'aac', '-b:a', '192k', '-ar', '48000']);
  assert.equal(buildFfmpegArgs(probed('no-audio'), aac, io).includes('-c:a'), false);
});

test('an argv never carries a shell: paths with spaces and quotes stay one argument', () => {
  const input = `/media/Día 1/"quoted" $(rm -rf) A001.mov`;
  const args = buildFfmpegArgs(probed('h264-stereo'), PRESETS['prores-proxy'], {
    input,
    output: '/p/o.partial',
  });
  assert.equal(args[args.indexOf('-i') + 1], input);
  assert.equal(args.at(-1), '/p/o.partial');
});

test('a source without video has no argv', () => {
  assert.throws(
    () => buildFfmpegArgs(probed('audio-only'), PRESETS['prores-proxy'], io),
    /no video stream/,
  );
});

/** A source of the given coded size, sample aspect and rotation. */
function source(width: number, height: number, extra: Partial<VideoInfo> = {}): MediaInfo {
  const base = probed('h264-stereo');
  return { ...base, video: { ...(base.video as VideoInfo), width, height, ...extra } };
}

const sizes: { name: string; media: MediaInfo; prores: string; dnxhr: string }[] = [
  { name: 'UHD', media: source(3840, 2160), prores: '1280x720', dnxhr: '1280x720' },
  { name: 'HD', media: source(1920, 1080), prores: '1280x720', dnxhr: '1280x720' },
  { name: '720p as is', media: source(1280, 720), prores: '1280x720', dnxhr: '1280x720' },
  { name: 'SD never upscaled', media: source(640, 360), prores: '640x360', dnxhr: '640x360' },
  {
    name: 'DCI 4K keeps 256:135',
    media: source(4096, 2160),
    prores: '1366x720',
    dnxhr: '1366x720',
  },
  {
    name: 'HDV anamorphic 1440x1080 4:3 pixels',
    media: source(1440, 1080, { sar: [4, 3] }),
    prores: '1280x720',
    dnxhr: '1280x720',
  },
  {
    name: 'PAL 4:3 720x576 16:15 pixels',
    media: source(720, 576, { sar: [16, 15] }),
    prores: '768x576',
    dnxhr: '768x576',
  },
  {
    name: 'portrait phone 1920x1080 turned 90°',
    media: source(1920, 1080, { rotation: 90 }),
    prores: '406x720',
    dnxhr: '406x720',
  },
  {
    name: 'tiny: DNxHR needs 256x120 at least',
    media: source(160, 90),
    prores: '160x90',
    dnxhr: '256x144',
  },
];

for (const s of sizes) {
  test(`proxy size, ${s.name}`, () => {
    const size = (p: keyof typeof PRESETS) => {
      const d = proxyDimensions(s.media, PRESETS[p]);
      return `${d.width}x${d.height}`;
    };
    assert.equal(size('prores-proxy'), s.prores);
    assert.equal(size('dnxhr-lb'), s.dnxhr);
  });
}

const sized: { size: ProxySize; uhd: string; hd: string; sd: string; portrait: string }[] = [
  { size: 540, uhd: '960x540', hd: '960x540', sd: '640x360', portrait: '304x540' },
  { size: 720, uhd: '1280x720', hd: '1280x720', sd: '640x360', portrait: '406x720' },
  { size: 1080, uhd: '1920x1080', hd: '1920x1080', sd: '640x360', portrait: '608x1080' },
  { size: 'half', uhd: '1920x1080', hd: '960x540', sd: '320x180', portrait: '540x960' },
  { size: 'quarter', uhd: '960x540', hd: '480x270', sd: '160x90', portrait: '270x480' },
  { size: 'source', uhd: '3840x2160', hd: '1920x1080', sd: '640x360', portrait: '1080x1920' },
];

for (const s of sized) {
  test(`proxy size ${s.size}: scaled down to it, never up`, () => {
    const size = (m: MediaInfo) => {
      const d = proxyDimensions(m, presetAt('prores-proxy', s.size));
      return `${d.width}x${d.height}`;
    };
    assert.equal(size(source(3840, 2160)), s.uhd);
    assert.equal(size(source(1920, 1080)), s.hd);
    assert.equal(size(source(640, 360)), s.sd);
    assert.equal(size(source(1920, 1080, { rotation: 90 })), s.portrait);
  });
}

test('the argv and verification use the same size: half of 320x180 is 160x90', () => {
  const preset = presetAt('dnxhr-sq', 'half');
  const src = probed('h264-stereo');
  const args = buildFfmpegArgs(src, preset, io);
  // DNxHR's 256x120 minimum wins over half, as for any tiny source.
  assert.match(args[args.indexOf('-vf') + 1]!, /^scale=256:144:/);
  const v = src.video as VideoInfo;
  const proxy: MediaInfo = {
    ...src,
    video: { ...v, codec: 'dnxhd', profile: 'DNXHR SQ', width: 256, height: 144 },
  };
  assert.deepEqual(verifyProxy(src, proxy, preset), []);
  const half = presetAt('prores-proxy', 'half');
  assert.match(buildFfmpegArgs(src, half, io)[args.indexOf('-vf') + 1]!, /^scale=160:90:/);
});

test('encoder threads: the cores shared by the jobs running at once, at least one', () => {
  assert.equal(encoderThreads(2, 1), 2);
  assert.equal(encoderThreads(2, 2), 1);
  assert.equal(encoderThreads(16, 3), 5);
  assert.equal(encoderThreads(2, 8), 1);
  assert.equal(encoderThreads(4, 0), 4);
});

test('verifyProxy: a matching proxy passes, each mismatch is named', () => {
  const src = probed('h264-stereo');
  const v = src.video as VideoInfo;
  const good: MediaInfo = { ...src, video: { ...v, codec: 'prores', profile: 'Proxy' } };
  const preset = PRESETS['prores-proxy'];
  assert.deepEqual(verifyProxy(src, good, preset), []);

  const bad: MediaInfo = {
    ...good,
    video: {
      ...v,
      codec: 'h264',
      profile: 'High',
      width: 640,
      frameCount: (v.frameCount ?? 0) + 2,
    },
    audio: [],
    timecode: '00:00:00:00',
  };
  assert.deepEqual(verifyProxy(src, bad, preset), [
    'codec is h264, expected prores (ProRes 422 Proxy)',
    'profile is High, expected Proxy (ProRes 422 Proxy)',
    'size is 640x180, expected 320x180',
    `${(v.frameCount ?? 0) + 2} frames, expected ${v.frameCount ?? 0}`,
    '0 audio streams, expected 1',
    'timecode is 00:00:00:00, expected 01:00:00:00',
  ]);
  // One frame either way is within tolerance (the last frame's rounding).
  const offByOne: MediaInfo = {
    ...good,
    video: { ...(good.video as VideoInfo), frameCount: (v.frameCount ?? 0) - 1 },
  };
  assert.deepEqual(verifyProxy(src, offByOne, preset), []);
});

test('expected frames of a VFR source: its duration at the nominal rate', () => {
  const vfr = probed('vfr');
  assert.equal(vfr.video?.vfr, true);
  assert.deepEqual(vfr.video?.frameRate, [30, 1]);
  assert.equal(expectedFrames(vfr), 30);
  assert.equal(expectedFrames(probed('h264-stereo')), 25);
  assert.equal(expectedFrames(probed('audio-only')), null);
});

test('verifyProxy tells two presets of one codec apart by their profile', () => {
  const src = probed('h264-stereo');
  const v = src.video as VideoInfo;
  const lb: MediaInfo = { ...src, video: { ...v, codec: 'dnxhd', profile: 'DNXHR LB' } };
  assert.deepEqual(verifyProxy(src, lb, PRESETS['dnxhr-lb']), []);
  assert.deepEqual(verifyProxy(src, lb, PRESETS['dnxhr-sq']), [
    'profile is DNXHR LB, expected DNXHR SQ (DNxHR SQ)',
  ]);
});
