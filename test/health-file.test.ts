import assert from 'node:assert/strict';
import { mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  createHealthFile,
  healthText,
  isAlive,
  markAlive,
  staleReason,
  stallsIn,
} from '../encoder-image/health-file.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'proxima-health-'));

test('a fresh health file is alive; a missing or old one is not, with a reason', () => {
  const file = path.join(dir, 'alive');
  assert.equal(isAlive(file, 45_000), false);
  assert.match(staleReason(file, 45_000) ?? '', /does not exist/);

  markAlive(file);
  assert.equal(isAlive(file, 45_000), true);
  assert.equal(staleReason(file, 45_000), null);

  const written = Date.now();
  assert.equal(isAlive(file, 45_000, written + 44_000), true);
  assert.equal(isAlive(file, 45_000, written + 60_000), false);
  assert.match(staleReason(file, 45_000, written + 60_000) ?? '', /s old \(limit 45 s\)/);

  const old = new Date(Date.now() - 120_000);
  utimesSync(file, old, old);
  assert.equal(isAlive(file, 45_000), false);
  markAlive(file);
  assert.equal(isAlive(file, 45_000), true, 'markAlive refreshes an existing file');
});

test('markAlive never throws, even where the file cannot be written', () => {
  assert.doesNotThrow(() => markAlive(path.join(dir, 'no', 'such', 'folder', 'alive')));
  assert.doesNotThrow(() => markAlive(dir));
});

test('a health file naming a stall is unhealthy however fresh; the stall lines round-trip', () => {
  const file = path.join(dir, 'stalled');
  const reason = 'job px-1: ffmpeg made no progress for 5 s';
  markAlive(file, [reason]);
  assert.equal(isAlive(file, 45_000), false);
  assert.equal(staleReason(file, 45_000), `the worker is stalled: ${reason}`);
  assert.deepEqual(stallsIn(healthText(new Date(), ['a', 'b\nc'])), ['a', 'b c']);
  markAlive(file);
  assert.equal(staleReason(file, 45_000), null, 'a heartbeat without stalls is healthy again');
});

test('createHealthFile keeps its stalls across heartbeats and writes nothing before the first', () => {
  const file = path.join(dir, 'kept');
  const health = createHealthFile(file);
  health.stalls(['job px-2: ffmpeg made no progress for 5 s']);
  assert.match(staleReason(file, 45_000) ?? '', /does not exist/, 'no broker reached yet');
  health.alive();
  assert.match(staleReason(file, 45_000) ?? '', /stalled: job px-2/);
  health.alive();
  assert.match(staleReason(file, 45_000) ?? '', /stalled: job px-2/, 'kept by the heartbeat');
  health.stalls([]);
  assert.equal(staleReason(file, 45_000), null);
});
