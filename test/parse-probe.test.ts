import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { MediaError } from '../core/errors.ts';
import type { MediaInfo, VideoInfo } from '../core/media/media-info.ts';
import {
  bitDepthOf,
  chromaOf,
  nearestStandardRate,
  parseProbe,
} from '../core/media/parse-probe.ts';

/**
 * Frozen ffprobe JSON (PROBE_ARGS) of the sample kinds made by test/helpers/media.ts at
 * 320x180, 1 s, plus an MP3 with cover art; only `format.filename` was shortened.
 */
function fixture(name: string): unknown {
  return JSON.parse(
    readFileSync(new URL(`./fixtures/probe/${name}.json`, import.meta.url), 'utf8'),
  ) as unknown;
}

function parsed(name: string): MediaInfo {
  return parseProbe(fixture(name));
}

function video(name: string): VideoInfo {
  const v = parsed(name).video;
  assert.ok(v, `${name} has video`);
  return v;
}

test('h264-stereo: H.264 8-bit 4:2:0, 25 fps, one stereo AAC stream, timecode', () => {
  const m = parsed('h264-stereo');
  assert.equal(m.formatName, 'mov,mp4,m4a,3gp,3g2,mj2');
  assert.equal(m.durationSec, 1);
  assert.equal(m.timecode, '01:00:00:00');
  assert.equal(m.isStill, false);
  assert.deepEqual(m.audio, [{ index: 1, codec: 'aac', channels: 2, sampleRate: 48000 }]);
  assert.deepEqual(m.video, {
    index: 0,
    codec: 'h264',
    width: 320,
    height: 180,
    sar: [1, 1],
    pixFmt: 'yuv420p',
    bitDepth: 8,
    chroma: '420',
    fieldOrder: 'progressive',
    frameRate: [25, 1],
    vfr: false,
    frameCount: 25,
    rotation: 0,
    profile: 'High',
    colorRange: 'tv',
    colorPrimaries: 'bt709',
    colorTransfer: 'bt709',
    colorSpace: 'bt709',
  });
});

test('h264-10bit-422-4mono: 10-bit 4:2:2 and four mono PCM streams in order', () => {
  const m = parsed('h264-10bit-422-4mono');
  const v = video('h264-10bit-422-4mono');
  assert.equal(v.bitDepth, 10);
  assert.equal(v.chroma, '422');
  assert.equal(v.pixFmt, 'yuv422p10le');
  assert.deepEqual(
    m.audio.map((a) => [a.index, a.codec, a.channels, a.sampleRate]),
    [
      [1, 'pcm_s24le', 1, 48000],
      [2, 'pcm_s24le', 1, 48000],
      [3, 'pcm_s24le', 1, 48000],
      [4, 'pcm_s24le', 1, 48000],
    ],
  );
  // The tmcd data stream is neither video nor audio, but its timecode is read.
  assert.equal(m.timecode, '10:00:00:00');
});

test('no-audio: no audio streams, timecode from the MP4 tmcd track', () => {
  const m = parsed('no-audio');
  assert.deepEqual(m.audio, []);
  assert.equal(m.timecode, '05:00:00:00');
  assert.deepEqual(video('no-audio').frameRate, [30, 1]);
});

test('h264-23976: 24000/1001 kept exact, 24 frames in 1.001 s', () => {
  const v = video('h264-23976');
  assert.deepEqual(v.frameRate, [24000, 1001]);
  assert.equal(v.vfr, false);
  assert.equal(v.frameCount, 24);
});

test('vfr: irregular timing is VFR, nominal rate is the standard one nearest the average', () => {
  const json = fixture('vfr') as { streams: Record<string, unknown>[] };
  // What makes it VFR: 60/1 "real" base rate against a 30.5 average.
  assert.equal(json.streams[0]?.r_frame_rate, '60/1');
  assert.equal(json.streams[0]?.avg_frame_rate, '1800/59');
  const v = video('vfr');
  assert.equal(v.vfr, true);
  assert.deepEqual(v.frameRate, [30, 1]);
  assert.equal(v.frameCount, 30);
  assert.equal(parsed('vfr').timecode, null);
});

test('interlaced-mpeg2-mxf: top field first, 4:3 pixels, frames from duration, MXF timecode', () => {
  const m = parsed('interlaced-mpeg2-mxf');
  const v = video('interlaced-mpeg2-mxf');
  assert.equal(m.formatName, 'mxf');
  assert.equal(v.codec, 'mpeg2video');
  assert.equal(v.fieldOrder, 'tt');
  assert.deepEqual(v.sar, [4, 3]);
  assert.equal(v.width, 240);
  assert.equal(v.chroma, '422');
  assert.equal(v.bitDepth, 8);
  // MXF gives no nb_frames: 1 s at 25 fps.
  assert.equal(v.frameCount, 25);
  assert.equal(m.timecode, '10:00:00:00');
  assert.equal(m.audio.length, 2);
});

test('rotated-phone: display matrix -90 means shown turned 90° clockwise; full range', () => {
  const json = fixture('rotated-phone') as { streams: { side_data_list?: unknown[] }[] };
  assert.deepEqual(
    (json.streams[0]?.side_data_list as { rotation?: number }[]).map((d) => d.rotation),
    [-90],
  );
  const v = video('rotated-phone');
  assert.equal(v.rotation, 90);
  assert.equal(v.width, 320);
  assert.equal(v.height, 180);
  assert.equal(v.colorRange, 'pc');
});

test('rotation from the rotate tag older ffprobe builds print, and other angles', () => {
  const json = fixture('rotated-phone') as { streams: Record<string, unknown>[] };
  const stream = json.streams[0] as Record<string, unknown>;
  const withTag = (tags: Record<string, string>, sideData?: unknown[]) => {
    const s: Record<string, unknown> = { ...stream, tags };
    if (sideData) s.side_data_list = sideData;
    else delete s.side_data_list;
    return parseProbe({ ...json, streams: [s, ...json.streams.slice(1)] }).video?.rotation;
  };
  assert.equal(withTag({ rotate: '90' }), 90);
  assert.equal(withTag({ rotate: '270' }), 270);
  assert.equal(withTag({ rotate: '180' }), 180);
  assert.equal(withTag({}), 0);
  assert.equal(withTag({}, [{ side_data_type: 'Display Matrix', rotation: 90 }]), 270);
  assert.equal(withTag({}, [{ side_data_type: 'Display Matrix', rotation: -180 }]), 180);
  assert.equal(withTag({}, [{ side_data_type: 'Display Matrix', rotation: 180 }]), 180);
});

test('still-png: a picture, not footage', () => {
  const m = parsed('still-png');
  assert.equal(m.isStill, true);
  assert.equal(m.video?.codec, 'png');
  assert.equal(m.video?.chroma, '444');
  assert.equal(m.timecode, null);
});

test('audio-only: no video, not a still', () => {
  const m = parsed('audio-only');
  assert.equal(m.video, null);
  assert.equal(m.isStill, false);
  assert.deepEqual(m.audio, [{ index: 0, codec: 'pcm_s24le', channels: 2, sampleRate: 48000 }]);
});

test('cover art (attached_pic) is not video', () => {
  const m = parsed('audio-with-cover-art');
  const json = fixture('audio-with-cover-art') as { streams: { codec_type: string }[] };
  assert.ok(json.streams.some((s) => s.codec_type === 'video'));
  assert.equal(m.video, null);
  assert.equal(m.isStill, false);
  assert.equal(m.audio.length, 1);
});

test('a single-frame stream in a movie container is a still', () => {
  const json = fixture('no-audio') as { streams: Record<string, unknown>[] };
  const one = { ...json.streams[0], nb_frames: '1' };
  assert.equal(parseProbe({ ...json, streams: [one] }).isStill, true);
  assert.equal(parseProbe(json).isStill, false);
});

test('interlaced field rate against frame rate (AVCHD 50i) is not VFR', () => {
  const json = fixture('interlaced-mpeg2-mxf') as { streams: Record<string, unknown>[] };
  const s = { ...json.streams[0], r_frame_rate: '50/1', avg_frame_rate: '25/1' };
  const v = parseProbe({ ...json, streams: [s] }).video;
  assert.equal(v?.vfr, false);
  assert.deepEqual(v?.frameRate, [25, 1]);
  // The same rates on a progressive stream are VFR.
  const p = { ...s, field_order: 'progressive' };
  assert.equal(parseProbe({ ...json, streams: [p] }).video?.vfr, true);
});

test('a constant rate reported with rounding in the average is not VFR', () => {
  const json = fixture('h264-23976') as { streams: Record<string, unknown>[] };
  const s = { ...json.streams[0], avg_frame_rate: '2997/125' };
  assert.equal(parseProbe({ ...json, streams: [s] }).video?.vfr, false);
  const phone = { ...json.streams[0], r_frame_rate: '90000/1', avg_frame_rate: '17982/600' };
  const v = parseProbe({ ...json, streams: [phone] }).video;
  assert.equal(v?.vfr, true);
  assert.deepEqual(v?.frameRate, [30000, 1001]);
});

test('nearest standard rate', () => {
  assert.deepEqual(nearestStandardRate(30.5), [30, 1]);
  assert.deepEqual(nearestStandardRate(29.98), [30000, 1001]);
  assert.deepEqual(nearestStandardRate(59.9), [60000, 1001]);
  assert.deepEqual(nearestStandardRate(24.2), [24, 1]);
  assert.deepEqual(nearestStandardRate(119), [120000, 1001]);
  assert.deepEqual(nearestStandardRate(12), [24000, 1001]);
});

test('bit depth and chroma from pixel format names', () => {
  assert.equal(bitDepthOf('yuv420p'), 8);
  assert.equal(bitDepthOf('nv12'), 8);
  assert.equal(bitDepthOf('p010le'), 10);
  assert.equal(bitDepthOf('yuv422p10le'), 10);
  assert.equal(bitDepthOf('gbrp12le'), 12);
  assert.equal(bitDepthOf('rgb48le'), 16);
  assert.equal(chromaOf('yuvj420p'), '420');
  assert.equal(chromaOf('nv12'), '420');
  assert.equal(chromaOf('p010le'), '420');
  assert.equal(chromaOf('yuv422p10le'), '422');
  assert.equal(chromaOf('uyvy422'), '422');
  assert.equal(chromaOf('v210'), '422');
  assert.equal(chromaOf('yuv444p12le'), '444');
  assert.equal(chromaOf('gbrp10le'), '444');
  assert.equal(chromaOf('yuv411p'), '411');
  assert.equal(chromaOf('gray10le'), '400');
  assert.equal(chromaOf('something'), 'unknown');
});

test('bit depth falls back to the pixel format when bits_per_raw_sample is absent', () => {
  const json = fixture('h264-10bit-422-4mono') as { streams: Record<string, unknown>[] };
  const s: Record<string, unknown> = { ...json.streams[0] };
  delete s.bits_per_raw_sample;
  assert.equal(parseProbe({ ...json, streams: [s] }).video?.bitDepth, 10);
});

test('yuvj pixel formats are full range when the range is not tagged', () => {
  const json = fixture('rotated-phone') as { streams: Record<string, unknown>[] };
  const s: Record<string, unknown> = { ...json.streams[0] };
  delete s.color_range;
  assert.equal(parseProbe({ ...json, streams: [s] }).video?.colorRange, 'pc');
  const tv = { ...s, pix_fmt: 'yuv420p' };
  assert.equal(parseProbe({ ...json, streams: [tv] }).video?.colorRange, 'unknown');
});

test('no streams at all: MediaError MEDIA_UNREADABLE', () => {
  for (const json of [{}, { streams: [] }, { streams: [], format: { format_name: 'mov' } }, null]) {
    assert.throws(
      () => parseProbe(json),
      (err: unknown) =>
        err instanceof MediaError &&
        err.code === 'MEDIA_UNREADABLE' &&
        /no audio or video streams/.test(err.message),
    );
  }
});
