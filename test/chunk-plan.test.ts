import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { clipProgress, planChunks } from '../core/chunks/plan.ts';
import { chunkJobId, isChunkJobId, parseChunkJobId } from '../core/job/chunk-id.ts';
import { jobIdFor } from '../core/job/job-id.ts';
import type { MediaInfo } from '../core/media/media-info.ts';
import { parseProbe } from '../core/media/parse-probe.ts';
import { chunkTolerance, verifyChunk } from '../core/media/verify-proxy.ts';
import {
  chunkFileName,
  chunkListName,
  parseChunkFileName,
  parseTempName,
  staleReason,
} from '../core/paths/temp-name.ts';
import { PRESETS, proxyDimensions } from '../core/presets/presets.ts';

function probed(name: string): MediaInfo {
  return parseProbe(
    JSON.parse(readFileSync(new URL(`./fixtures/probe/${name}.json`, import.meta.url), 'utf8')),
  );
}

/** A fixture stretched to `seconds` at its own rate. */
function lasting(name: string, seconds: number): MediaInfo {
  const m = probed(name);
  const v = m.video!;
  const frames = v.vfr ? null : Math.round((seconds * v.frameRate[0]) / v.frameRate[1]);
  return { ...m, durationSec: seconds, video: { ...v, frameCount: frames } };
}

const SETTINGS = { chunkSeconds: 30, minSeconds: 120 };

test('a clip up to chunking.min_seconds stays one job; chunking off or a still is never split', () => {
  assert.equal(planChunks(lasting('h264-stereo', 120), SETTINGS), null);
  assert.equal(planChunks(lasting('h264-stereo', 600), null), null);
  assert.equal(planChunks(probed('still-png'), SETTINGS), null);
  assert.equal(planChunks(probed('audio-only'), SETTINGS), null);
});

test('a 10-minute 25p clip: 20 chunks of 750 frames covering every frame once', () => {
  const media = lasting('h264-stereo', 600);
  const plan = planChunks(media, SETTINGS)!;
  assert.equal(plan.totalFrames, 15_000);
  assert.equal(plan.chunks.length, 20);
  assert.ok(plan.chunks.every((c, i) => c.index === i && c.start === i * 750 && c.frames === 750));
});

test('23.976: chunks are whole frames (30 s is 719.28 frames), the last takes the rest', () => {
  const media = lasting('h264-23976', 130);
  const plan = planChunks(media, SETTINGS)!;
  const total = plan.totalFrames;
  assert.equal(total, Math.round((130 * 24000) / 1001));
  const ends = plan.chunks.map((c) => c.start + c.frames);
  assert.equal(ends.at(-1), total);
  plan.chunks.forEach((c, i) => {
    assert.equal(c.start, i === 0 ? 0 : ends[i - 1]);
    if (i < plan.chunks.length - 1) assert.equal(c.frames, 719);
  });
  // A short piece at the end joins the one before rather than costing a job of its own.
  assert.ok(plan.chunks.at(-1)!.frames >= 719 / 2, JSON.stringify(plan.chunks));
});

test('VFR: the frames of the proxy are its duration at the nominal rate', () => {
  const media = lasting('vfr', 200);
  const plan = planChunks(media, SETTINGS)!;
  const v = media.video!;
  assert.equal(plan.totalFrames, Math.round((200 * v.frameRate[0]) / v.frameRate[1]));
  assert.equal(
    plan.chunks.reduce((n, c) => n + c.frames, 0),
    plan.totalFrames,
  );
});

test('one bar per clip: frames done over all chunks, speed from the frames per second', () => {
  assert.deepEqual(clipProgress(750, 50, 1500, [25, 1]), {
    pct: 50,
    frame: 750,
    fps: 50,
    speed: 2,
    outSec: 30,
  });
  assert.equal(clipProgress(1600, 0, 1500, [25, 1]).pct, 100);
});

test('chunk job ids name their clip and split, never look like a clip id, hold no ":"', () => {
  const clip = jobIdFor({ path: '/media/A001.mov', size: 1, mtimeMs: 2 }, 'prores-proxy');
  const id = chunkJobId(clip, 1_764_000_000_123, 7);
  assert.ok(!id.includes(':'));
  assert.deepEqual(parseChunkJobId(id), {
    clipId: clip,
    generationTag: (1_764_000_000_123).toString(36),
    index: 7,
  });
  assert.equal(isChunkJobId(id), true);
  assert.equal(isChunkJobId(clip), false);
});

test('chunk files are named by clip and range, hidden, and never taken for a stale temp file', () => {
  const name = chunkFileName('A001 take "2"', 'px-abc', 750, 750);
  assert.ok(name.startsWith('.'));
  assert.deepEqual(parseChunkFileName(name), {
    stem: 'A001 take "2"',
    clipId: 'px-abc',
    start: 750,
    frames: 750,
  });
  assert.equal(parseTempName(name), undefined);
  assert.equal(
    staleReason({ name, mtimeMs: 0, jobActive: false }, { nowMs: 10 ** 13 }),
    undefined,
    'a chunk waiting for its clip to be joined is not swept, however old',
  );
  assert.equal(parseChunkFileName(chunkListName('A001', 'px-abc')), undefined);
});

test('a chunk verifies with its exact frames; only the last may end a frame early or late', () => {
  const source = lasting('h264-stereo', 600);
  const preset = PRESETS['prores-proxy'];
  const want = proxyDimensions(source, preset);
  const sized = (frames: number, audio = 0): MediaInfo => ({
    ...source,
    audio: source.audio.slice(0, audio),
    video: { ...source.video!, codec: preset.codec, ...want, frameCount: frames },
  });
  const mid = { index: 3, start: 2250, frames: 750 };
  const last = { index: 19, start: 14_250, frames: 750 };
  const dims = preset;
  assert.deepEqual(verifyChunk(source, sized(750), dims, mid, 15_000), []);
  assert.deepEqual(verifyChunk(source, sized(749), dims, mid, 15_000), [
    '749 frames, expected 750',
  ]);
  assert.deepEqual(verifyChunk(source, sized(749), dims, last, 15_000), []);
  assert.deepEqual(verifyChunk(source, sized(751), dims, last, 15_000), []);
  assert.deepEqual(verifyChunk(source, sized(752), dims, last, 15_000), [
    '752 frames, expected 750',
  ]);
  assert.equal(chunkTolerance(mid, 15_000), 0);
  assert.equal(chunkTolerance(last, 15_000), 1);
  assert.ok(
    verifyChunk(source, sized(750, 1), dims, mid, 15_000).some((p) => p.includes('audio')),
    'a chunk is video only',
  );
});
