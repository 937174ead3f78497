import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { classifyFile } from '../cli/sources/scan-sources.ts';
import { configSchema } from '../core/config/schema.ts';
import { cliSandbox, runCli } from './helpers/cli-run.ts';
import { freePort } from './helpers/redis.ts';

const DEFAULT_EXTENSIONS = configSchema.parse({}).filters.extensions;

function listedProxies(stdout: string): string[] {
  const lines = stdout.trimEnd().split('\n');
  const start = lines.indexOf('proxies:');
  assert.ok(start >= 0, stdout);
  return lines.slice(start + 1).map((l) => l.trim());
}

test('proxima demo: sample clips through a private stack, twice', async () => {
  const port = await freePort();
  const box = cliSandbox({
    gateway: { listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` },
  });
  const args = ['demo', '--size', '320x180', '--seconds', '1', '--workers', '2'];

  const first = await runCli(args, { env: box.env, timeoutMs: 240_000 });
  assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
  const mediaDir = path.join(box.stateDir, 'demo-media');
  assert.match(first.stdout, new RegExp(`^sample clips in ${mediaDir}\n`));
  const files = readdirSync(mediaDir).filter((f) => !f.startsWith('.'));
  const clips = files.filter((f) => classifyFile(f, DEFAULT_EXTENSIONS) === 'video');
  assert.ok(clips.length >= 4, files.join(', '));
  assert.equal((first.stdout.match(/^ {2}made {3}/gm) ?? []).length, files.length);
  // The demo folder also holds a still and a sound file, skipped with a note.
  assert.match(first.stdout, /^note: skipped .*\.png \(still image\)$/m);
  assert.match(first.stdout, /^note: skipped .*\.wav \(audio only\)$/m);
  assert.match(
    first.stdout,
    new RegExp(`summary: ${clips.length} done, 0 failed of ${clips.length}`),
  );
  const proxies = listedProxies(first.stdout);
  assert.equal(proxies.length, clips.length);
  for (const p of proxies) {
    assert.ok(p.startsWith(box.proxyRoot + path.sep), p);
    assert.ok(statSync(p).size > 0, p);
  }
  // The stack is gone: no broker record left, its data kept for the next run.
  assert.ok(!existsSync(path.join(box.stateDir, 'broker.json')));
  assert.ok(existsSync(path.join(box.stateDir, 'redis', 'appendonlydir')));

  // Again: the clips are reused, and the finished jobs survived the broker's restart.
  const mtimes = proxies.map((p) => statSync(p).mtimeMs);
  const second = await runCli(args, { env: box.env, timeoutMs: 240_000 });
  assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
  assert.equal((second.stdout.match(/^ {2}reused /gm) ?? []).length, files.length);
  assert.match(second.stdout, new RegExp(`${clips.length} deduplicated`));
  assert.deepEqual(listedProxies(second.stdout), proxies);
  assert.deepEqual(
    proxies.map((p) => statSync(p).mtimeMs),
    mtimes,
  );
});
