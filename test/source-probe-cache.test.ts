import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { sourceProbeCache } from '../encoder-image/source-probe-cache.ts';
import { countingProber } from './helpers/counting-prober.ts';
import { runFfmpeg, TEST_SIZE } from './helpers/media.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'proxima-probe-cache-'));
const clip = path.join(dir, 'A001.mov');
const other = path.join(dir, 'A002.mov');
after(() => rmSync(dir, { recursive: true, force: true }));
before(async () => {
  await runFfmpeg(sampleClipArgs('h264-stereo', clip, TEST_SIZE));
  copyFileSync(clip, other);
});

test('a source probed once is not probed again while its size and time are the same', async () => {
  const { prober, runs } = countingProber();
  const cached = sourceProbeCache(prober);
  const first = await cached.probe(clip);
  const again = await cached.probe(clip);
  assert.deepEqual(again, first);
  assert.equal(first.video?.width, TEST_SIZE.width);
  assert.deepEqual(runs, ['A001.mov']);
  // Touched (a camera card copied over it): probed again.
  const later = new Date(Date.now() + 5000);
  utimesSync(clip, later, later);
  await cached.probe(clip);
  assert.deepEqual(runs, ['A001.mov', 'A001.mov']);
});

test('the oldest file is forgotten past the limit; a missing file is the prober error', async () => {
  const { prober, runs } = countingProber();
  const cached = sourceProbeCache(prober, 1);
  await cached.probe(clip);
  await cached.probe(other);
  await cached.probe(clip);
  assert.deepEqual(runs, ['A001.mov', 'A002.mov', 'A001.mov']);
  await assert.rejects(cached.probe(path.join(dir, 'gone.mov')), { code: 'SOURCE_MISSING' });
  // A failure is not kept: the file appears, and is probed.
  const late = path.join(dir, 'late.mov');
  await assert.rejects(cached.probe(late), { code: 'SOURCE_MISSING' });
  copyFileSync(clip, late);
  assert.equal((await cached.probe(late)).video?.height, TEST_SIZE.height);
});
