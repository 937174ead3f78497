import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { buildFfmpegArgs } from '../core/ffmpeg/build-args.ts';
import type { MediaInfo } from '../core/media/media-info.ts';
import { verifyProxy } from '../core/media/verify-proxy.ts';
import { BUILTIN_PRESET_NAMES } from '../core/presets/names.ts';
import { presetAt, PRESETS, type Preset } from '../core/presets/presets.ts';
import { FFMPEG, FFPROBE, probeFile, runFfmpeg } from './helpers/media.ts';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'proxima-presets-'));
/** A 1 s 640x360 H.264 clip with stereo sound and a start timecode. */
const source = path.join(dir, 'A001.mp4');
let media: MediaInfo;

before(async () => {
  await runFfmpeg([
    ...['-hide_banner', '-v', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=1'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=1'],
    ...['-ac', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-timecode', '01:00:00:00', '-shortest', source],
  ]);
  media = await probeFile(source);
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** What a user checks with ffprobe: the first video stream's header and the audio streams. */
async function header(file: string) {
  const { stdout } = await run(FFPROBE, [
    ...['-v', 'error', '-show_entries'],
    ...['stream=codec_type,codec_name,codec_tag_string,profile,width,height,pix_fmt'],
    ...['-of', 'json', file],
  ]);
  const streams = (JSON.parse(stdout) as { streams: Record<string, unknown>[] }).streams;
  return {
    video: streams.find((s) => s.codec_type === 'video')!,
    audio: streams.filter((s) => s.codec_type === 'audio'),
  };
}

async function encode(preset: Preset, name: string): Promise<string> {
  const output = path.join(dir, `${name}.mov`);
  const args = buildFfmpegArgs(media, preset, { input: source, output, threads: 1 });
  await run(FFMPEG, args);
  return output;
}

const expected: Record<string, { codec: string; tag: string; profile: string; pixFmt: string }> = {
  'prores-proxy': { codec: 'prores', tag: 'apco', profile: 'Proxy', pixFmt: 'yuv422p10le' },
  'prores-lt': { codec: 'prores', tag: 'apcs', profile: 'LT', pixFmt: 'yuv422p10le' },
  'dnxhr-lb': { codec: 'dnxhd', tag: 'AVdh', profile: 'DNXHR LB', pixFmt: 'yuv422p' },
  'dnxhr-sq': { codec: 'dnxhd', tag: 'AVdh', profile: 'DNXHR SQ', pixFmt: 'yuv422p' },
  'h264-intra': { codec: 'h264', tag: 'avc1', profile: 'High', pixFmt: 'yuv420p' },
};

test('every built-in preset has its expected probe', () => {
  assert.deepEqual(Object.keys(expected).sort(), [...BUILTIN_PRESET_NAMES].sort());
});

for (const name of BUILTIN_PRESET_NAMES) {
  test(`${name} encodes a real clip that ffprobe confirms`, async () => {
    const want = expected[name]!;
    const file = await encode(PRESETS[name], name);
    const h = await header(file);
    assert.equal(h.video.codec_name, want.codec);
    assert.equal(h.video.codec_tag_string, want.tag);
    assert.equal(h.video.profile, want.profile);
    assert.equal(h.video.pix_fmt, want.pixFmt);
    // 360 lines is below the 720 default: never upscaled.
    assert.equal(`${h.video.width}x${h.video.height}`, '640x360');
    assert.equal(h.audio.length, 1);
    assert.equal(h.audio[0]!.codec_name, 'pcm_s24le');
    assert.deepEqual(verifyProxy(media, await probeFile(file), PRESETS[name]), []);
  });
}

test('h264-intra is all intra: every frame is a keyframe', async () => {
  const file = path.join(dir, 'h264-intra.mov');
  const { stdout } = await run(FFPROBE, [
    ...['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pict_type'],
    ...['-of', 'csv=p=0', file],
  ]);
  // ffprobe 4.1 may append a side-data column (a trailing comma) to a frame's line.
  const types = stdout
    .split('\n')
    .map((l) => l.replace(/,.*$/, ''))
    .filter((l) => l !== '');
  assert.equal(types.length, 25);
  assert.deepEqual([...new Set(types)], ['I']);
});

for (const [size, dims] of [
  ['half', '320x180'],
  ['quarter', '160x90'],
  [540, '640x360'],
] as const) {
  test(`size ${size}: the proxy is ${dims}, as verification expects`, async () => {
    const preset = presetAt('prores-proxy', size);
    const file = await encode(preset, `size-${size}`);
    const h = await header(file);
    assert.equal(`${h.video.width}x${h.video.height}`, dims);
    assert.deepEqual(verifyProxy(media, await probeFile(file), preset), []);
  });
}

test('AAC audio, first stream only: what a preset asks for is what ffprobe shows', async () => {
  const preset: Preset = { ...PRESETS['h264-intra'], audio: { codec: 'aac', streams: 1 } };
  const file = await encode(preset, 'aac');
  const h = await header(file);
  assert.equal(h.audio.length, 1);
  assert.equal(h.audio[0]!.codec_name, 'aac');
  assert.deepEqual(verifyProxy(media, await probeFile(file), preset), []);
});
