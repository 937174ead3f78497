import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { planChunks } from '../core/chunks/plan.ts';
import { buildFfmpegArgs } from '../core/ffmpeg/build-args.ts';
import { buildAssembleArgs, buildChunkArgs, concatList } from '../core/ffmpeg/chunk-args.ts';
import type { BuiltinPresetName as PresetName } from '../core/presets/names.ts';
import { verifyProxy } from '../core/media/verify-proxy.ts';
import { PRESETS } from '../core/presets/presets.ts';
import {
  audioSampleCounts,
  makeChunkSource,
  probeTimecode,
  videoFrameMd5s,
  type ChunkSourceOptions,
} from './helpers/chunk-media.ts';
import { probeFile, runFfmpeg } from './helpers/media.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'proxima-chunk-exact-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs a chunk encode. A worker takes "Error while decoding stream" on stderr for a corrupt
 * source, so a chunk's seek must never start it decoding where the frames cannot be decoded.
 */
async function encodeChunk(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out = await runFfmpeg(args);
  assert.doesNotMatch(out.stderr, /Error while decoding stream/);
  return out;
}

interface Kind {
  title: string;
  source: ChunkSourceOptions;
  preset: PresetName;
  chunkSeconds: number;
}

const kinds: Kind[] = [
  {
    title: 'long-GOP 25 fps, 250-frame open GOP with B-frames, two audio streams, timecode',
    source: {
      name: 'long-gop',
      seconds: 12,
      rate: '25',
      width: 320,
      height: 180,
      gop: 250,
      audioStreams: 2,
      timecode: '01:00:00:00',
    },
    preset: 'prores-proxy',
    chunkSeconds: 3,
  },
  {
    title: '29.97 fps, chunks of a fractional number of frames',
    source: {
      name: 'ntsc',
      seconds: 8,
      rate: '30000/1001',
      width: 320,
      height: 180,
      gop: 60,
      audioStreams: 1,
      timecode: '00:59:59;00',
    },
    preset: 'dnxhr-lb',
    chunkSeconds: 2.5,
  },
  {
    title: 'interlaced top field first, deinterlaced with pre-roll',
    source: {
      name: 'interlaced',
      seconds: 8,
      rate: '25',
      width: 320,
      height: 180,
      gop: 50,
      interlaced: true,
      audioStreams: 1,
      timecode: '10:00:00:00',
    },
    preset: 'prores-proxy',
    chunkSeconds: 2,
  },
  {
    title: 'chunks of two GOPs, each starting on a keyframe, open GOP with B-frames',
    source: {
      name: 'gop-aligned',
      seconds: 6,
      rate: '25',
      width: 320,
      height: 180,
      gop: 25,
      audioStreams: 1,
    },
    preset: 'prores-proxy',
    chunkSeconds: 2,
  },
  {
    title: 'chunks of two GOPs, each starting on a keyframe, P-frames only',
    source: {
      name: 'gop-aligned-p',
      seconds: 6,
      rate: '25',
      width: 320,
      height: 180,
      gop: 25,
      bFrames: 0,
      audioStreams: 1,
    },
    preset: 'prores-proxy',
    chunkSeconds: 2,
  },
  {
    title: 'VFR phone-style timing (uneven gaps, jitter), conformed to the nominal rate',
    source: {
      name: 'vfr',
      seconds: 8,
      rate: '30000/1001',
      width: 320,
      height: 180,
      gop: 60,
      vfr: true,
      audioStreams: 1,
    },
    preset: 'dnxhr-lb',
    chunkSeconds: 2,
  },
];

test('a video that starts after its audio keeps its place against the sound', async () => {
  const preset = PRESETS['prores-proxy'];
  const delay = 0.2;
  const source = await makeChunkSource(dir, {
    name: 'late-video',
    seconds: 6,
    rate: '25',
    width: 320,
    height: 180,
    gop: 50,
    audioStreams: 1,
    timecode: '01:00:00:00',
    videoDelay: delay,
  });
  const media = await probeFile(source);
  assert.equal(media.video?.startOffsetSec, delay);
  const single = path.join(dir, 'late-video.single.mov');
  await runFfmpeg(buildFfmpegArgs(media, preset, { input: source, output: single }));
  const plan = planChunks(media, { chunkSeconds: 2, minSeconds: 1 });
  assert.ok(plan);
  const files: string[] = [];
  for (const range of plan.chunks) {
    const out = path.join(dir, `late-video.${range.index}.mov`);
    await encodeChunk(buildChunkArgs(media, preset, range, { input: source, output: out }));
    files.push(out);
  }
  const list = path.join(dir, 'late-video.ffconcat');
  writeFileSync(list, concatList(files));
  const joined = path.join(dir, 'late-video.joined.mov');
  await runFfmpeg(buildAssembleArgs(media, { list, source, output: joined }));

  // A single pass fills the 0.2 s before the first frame with repeats of it (ffmpeg's
  // constant-rate output); the joined proxy starts its track that late instead. Every
  // source frame is at the same time in both, with the same picture.
  const [want, got] = await Promise.all([videoFrameMd5s(single), videoFrameMd5s(joined)]);
  const lead = Math.round(delay * 25);
  assert.equal(got.length, want.length - lead);
  for (let i = 0; i < got.length; i++) assert.equal(got[i], want[i + lead], `frame ${i}`);
  assert.deepEqual(await audioSampleCounts(joined), await audioSampleCounts(single));
  assert.equal(await probeTimecode(joined), '01:00:00:00');
  assert.deepEqual(verifyProxy(media, await probeFile(joined), preset), []);
});

test('a VFR video that starts after its audio: the lead is filled as a single pass fills it', async () => {
  const preset = PRESETS['dnxhr-lb'];
  const source = await makeChunkSource(dir, {
    name: 'late-vfr',
    seconds: 5,
    rate: '30000/1001',
    width: 320,
    height: 180,
    gop: 60,
    vfr: true,
    audioStreams: 1,
    // Longer than the VFR pre-roll, so a chunk's seek lands inside the lead.
    videoDelay: 1.3,
  });
  const media = await probeFile(source);
  assert.equal(media.video?.vfr, true);
  const single = path.join(dir, 'late-vfr.single.mov');
  await runFfmpeg(buildFfmpegArgs(media, preset, { input: source, output: single }));
  const plan = planChunks(media, { chunkSeconds: 1.5, minSeconds: 1 });
  assert.ok(plan);
  const files: string[] = [];
  for (const range of plan.chunks) {
    const out = path.join(dir, `late-vfr.${range.index}.mov`);
    await encodeChunk(buildChunkArgs(media, preset, range, { input: source, output: out }));
    files.push(out);
  }
  const list = path.join(dir, 'late-vfr.ffconcat');
  writeFileSync(list, concatList(files));
  const joined = path.join(dir, 'late-vfr.joined.mov');
  await runFfmpeg(buildAssembleArgs(media, { list, source, output: joined }));
  assert.deepEqual(await videoFrameMd5s(joined), await videoFrameMd5s(single));
  assert.deepEqual(await audioSampleCounts(joined), await audioSampleCounts(single));
  assert.deepEqual(verifyProxy(media, await probeFile(joined), preset), []);
});

const sources = new Map<string, Promise<string>>();
/** Each source is made once, for the tests that share it. */
function sourceFile(opts: ChunkSourceOptions): Promise<string> {
  let made = sources.get(opts.name);
  if (!made) {
    made = makeChunkSource(dir, opts);
    sources.set(opts.name, made);
  }
  return made;
}

test('chunks cut at and around a far open-GOP keyframe, one frame long included', async () => {
  const kind = kinds[0] as Kind;
  const preset = PRESETS[kind.preset];
  const file = await sourceFile(kind.source);
  const media = await probeFile(file);
  const single = path.join(dir, 'gop-cuts.single.mov');
  await runFfmpeg(buildFfmpegArgs(media, preset, { input: file, output: single }));
  const want = await videoFrameMd5s(single);
  // Frame 250 is the second keyframe; 247-249 are its leading B-frames, decoded after it
  // from the GOP before.
  const cuts = [0, 1, 2, 246, 247, 249, 250, 251, 253, want.length];
  const files: string[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const range = {
      index: i,
      start: cuts[i] as number,
      frames: (cuts[i + 1] as number) - (cuts[i] as number),
    };
    const out = path.join(dir, `gop-cuts.${i}.mov`);
    await encodeChunk(buildChunkArgs(media, preset, range, { input: file, output: out }));
    files.push(out);
  }
  const list = path.join(dir, 'gop-cuts.ffconcat');
  writeFileSync(list, concatList(files));
  const joined = path.join(dir, 'gop-cuts.joined.mov');
  await runFfmpeg(buildAssembleArgs(media, { list, source: file, output: joined }));
  assert.deepEqual(await videoFrameMd5s(joined), want);
});

for (const kind of kinds) {
  test(`chunks joined equal a single pass: ${kind.title}`, async () => {
    const preset = PRESETS[kind.preset];
    const source = await sourceFile(kind.source);
    const media = await probeFile(source);
    if (kind.source.interlaced) assert.equal(media.video?.fieldOrder, 'tt');
    if (kind.source.vfr) assert.equal(media.video?.vfr, true);

    const single = path.join(dir, `${kind.source.name}.single.mov`);
    await runFfmpeg(buildFfmpegArgs(media, preset, { input: source, output: single }));

    const plan = planChunks(media, { chunkSeconds: kind.chunkSeconds, minSeconds: 1 });
    assert.ok(plan && plan.chunks.length >= 2, 'the clip is split');
    const files: string[] = [];
    for (const range of plan.chunks) {
      // Quotes, a backslash and spaces: the concat list must give the name back as it is.
      const out = path.join(dir, `${kind.source.name} "chunk" ${range.index}'s \\ #1.mov`);
      const args = buildChunkArgs(media, preset, range, { input: source, output: out });
      const { stdout } = await encodeChunk(args);
      const frames = [...stdout.matchAll(/^frame=(\d+)$/gm)].map((m) => Number(m[1]));
      assert.equal(frames.at(-1), range.frames, `chunk ${range.index} progress counts its frames`);
      files.push(out);
    }
    const list = path.join(dir, `${kind.source.name}.ffconcat`);
    writeFileSync(list, concatList(files));
    const joined = path.join(dir, `${kind.source.name}.joined.mov`);
    await runFfmpeg(buildAssembleArgs(media, { list, source, output: joined }));

    const [want, got] = await Promise.all([videoFrameMd5s(single), videoFrameMd5s(joined)]);
    assert.equal(got.length, want.length, 'frame count');
    for (let i = 0; i < want.length; i++) assert.equal(got[i], want[i], `frame ${i}`);

    const [wantAudio, gotAudio] = await Promise.all([
      audioSampleCounts(single),
      audioSampleCounts(joined),
    ]);
    assert.equal(gotAudio.length, wantAudio.length, 'audio streams');
    wantAudio.forEach((n, i) => {
      assert.ok(Math.abs((gotAudio[i] ?? 0) - n) <= 1024, `audio ${i}: ${gotAudio[i]} vs ${n}`);
    });
    assert.equal(await probeTimecode(joined), await probeTimecode(single));
    if (kind.source.timecode) assert.equal(await probeTimecode(joined), kind.source.timecode);
    const [singleInfo, joinedInfo] = await Promise.all([probeFile(single), probeFile(joined)]);
    assert.deepEqual(verifyProxy(media, joinedInfo, preset), []);
    // The colour tags and field order the editor reads come through the stream copy.
    const tags = (m: typeof joinedInfo) => {
      const v = m.video;
      return [v?.codec, v?.colorPrimaries, v?.colorTransfer, v?.colorSpace, v?.fieldOrder];
    };
    assert.deepEqual(tags(joinedInfo), tags(singleInfo));
  });
}

/** The time, in frames, of the first frame ffmpeg decodes with a chunk's input options. */
async function firstDecoded(args: string[]): Promise<number> {
  const input = args.slice(args.indexOf('error') + 1, args.indexOf('-map'));
  const { stdout } = await runFfmpeg([
    ...['-hide_banner', '-nostdin', '-v', 'error', ...input, '-map', '0:v:0'],
    ...['-vsync', 'passthrough', '-frames:v', '1', '-f', 'framemd5', '-'],
  ]);
  const line = stdout.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#')) ?? '';
  return Number(line.split(',')[2]);
}

for (const bFrames of [3, 0]) {
  test(`chunks cut on, just after and just before keyframes (${bFrames} B-frames)`, async () => {
    const preset = PRESETS['prores-proxy'];
    const file = await sourceFile({
      name: bFrames ? 'gop-aligned' : 'gop-aligned-p',
      seconds: 6,
      rate: '25',
      width: 320,
      height: 180,
      gop: 25,
      bFrames,
      audioStreams: 1,
    });
    const media = await probeFile(file);
    const single = path.join(dir, `kf-cuts-${bFrames}.single.mov`);
    await runFfmpeg(buildFfmpegArgs(media, preset, { input: file, output: single }));
    const want = await videoFrameMd5s(single);
    // Keyframes every 25 frames: chunks that start on one (25, 50, 100), one frame after
    // (26, 51, 101), one frame before (49, 99), and a GOP long (75 to 100).
    const cuts = [0, 25, 26, 49, 50, 51, 75, 99, 100, 101, want.length];
    const files: string[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const start = cuts[i] as number;
      const range = { index: i, start, frames: (cuts[i + 1] as number) - start };
      const out = path.join(dir, `kf-cuts-${bFrames}.${i}.mov`);
      const args = buildChunkArgs(media, preset, range, { input: file, output: out });
      if (bFrames === 0 && start > 0 && start % 25 === 0) {
        // Nothing before the chunk's keyframe is read, let alone decoded.
        assert.equal(await firstDecoded(args), start, `chunk at ${start} starts on its keyframe`);
      }
      await encodeChunk(args);
      files.push(out);
    }
    const list = path.join(dir, `kf-cuts-${bFrames}.ffconcat`);
    writeFileSync(list, concatList(files));
    const joined = path.join(dir, `kf-cuts-${bFrames}.joined.mov`);
    await runFfmpeg(buildAssembleArgs(media, { list, source: file, output: joined }));
    assert.deepEqual(await videoFrameMd5s(joined), want);
  });
}
