import assert from 'node:assert/strict';
import { mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isAlive, markAlive, staleReason } from '../encoder-image/health-file.ts';

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
