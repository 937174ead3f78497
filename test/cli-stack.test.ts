import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import {
  brokerFile,
  readBrokerRecord,
  removeBrokerRecord,
  resolveBrokerUrl,
  writeBrokerRecord,
} from '../cli/stack/broker-url.ts';
import { locateRedisServer, startEmbeddedRedis } from '../cli/stack/embedded-redis.ts';
import { configSchema } from '../core/config/schema.ts';
import { cliSandbox, startCli } from './helpers/cli-run.ts';
import { alive, descendants, killAll, procInfo, until } from './helpers/processes.ts';
import { freePort } from './helpers/redis.ts';

const logger = pino({ level: 'silent' });

test('resolveBrokerUrl: broker.url first, then a live local stack, else a named error', () => {
  const empty = configSchema.parse({});
  const set = configSchema.parse({ broker: { url: 'redis://farm:6379' } });
  const record = { url: 'redis://127.0.0.1:40000', pid: 1234 };
  assert.equal(
    resolveBrokerUrl(set, record, () => true),
    'redis://farm:6379',
  );
  assert.equal(
    resolveBrokerUrl(empty, record, () => true),
    'redis://127.0.0.1:40000',
  );
  assert.throws(() => resolveBrokerUrl(empty, record, () => false), {
    code: 'BROKER_NOT_FOUND',
    hint: 'run `proxima up` on this machine, or set broker.url to the shared redis:// URL',
  });
  assert.throws(() => resolveBrokerUrl(empty, null), { code: 'BROKER_NOT_FOUND' });
});

test('broker.json round-trips, ignores junk and is removed only by its owner', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'proxima-state-'));
  assert.equal(readBrokerRecord(dir), null);
  writeBrokerRecord(dir, { url: 'redis://127.0.0.1:1', pid: 11, ownerPid: 12 });
  assert.deepEqual(readBrokerRecord(dir), { url: 'redis://127.0.0.1:1', pid: 11, ownerPid: 12 });
  removeBrokerRecord(dir, 99);
  assert.ok(existsSync(brokerFile(dir)));
  removeBrokerRecord(dir, 11);
  assert.ok(!existsSync(brokerFile(dir)));
  writeFileSync(brokerFile(dir), '{"url": 5');
  assert.equal(readBrokerRecord(dir), null);
});

test('redis-server missing from PATH is a dependency error with install hints', () => {
  assert.throws(() => locateRedisServer(mkdtempSync(path.join(tmpdir(), 'proxima-empty-'))), {
    code: 'REDIS_NOT_FOUND',
    message: 'redis-server not found on PATH',
    hint: /apt install redis-server.*brew install redis.*broker\.url/,
  });
});

test('the embedded redis keeps queued data across a restart (append-only file)', async () => {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'proxima-state-')), 'redis');
  const searchPath = process.env.PATH ?? '';
  const first = await startEmbeddedRedis({ dataDir, searchPath, logger });
  assert.match(first.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
  const a = new Redis(first.url);
  await a.set('proxima:test', 'kept');
  a.disconnect();
  await first.stop();

  const second = await startEmbeddedRedis({ dataDir, searchPath, logger });
  try {
    const b = new Redis(second.url);
    assert.equal(await b.get('proxima:test'), 'kept');
    b.disconnect();
  } finally {
    await second.stop();
  }
});

test('the embedded redis runs in its own session, out of reach of the terminal Ctrl-C', async () => {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'proxima-state-')), 'redis');
  const redis = await startEmbeddedRedis({ dataDir, searchPath: process.env.PATH ?? '', logger });
  try {
    const me = procInfo(process.pid)!;
    const child = procInfo(redis.pid)!;
    assert.equal(child.ppid, process.pid);
    assert.notEqual(child.pgid, me.pgid);
    assert.notEqual(child.sid, me.sid);
    assert.equal(child.pgid, redis.pid, 'a process group of its own');
  } finally {
    await redis.stop();
  }
  assert.ok(!alive(redis.pid));
});

test('up killed outright: its worker stops by itself, the next up stops the redis-server left behind', async () => {
  const port = await freePort();
  const box = cliSandbox({
    gateway: { listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` },
  });
  const first = startCli(['up', '--workers', '1'], { env: box.env });
  let pids: number[] = [];
  try {
    await first.waitFor(/press Ctrl-C to stop/, 120_000);
    await until(() => descendants(first.child.pid!).some((p) => p.argv.includes('work')), 'worker');
    const below = descendants(first.child.pid!);
    pids = below.map((p) => p.pid);
    const redisPid = below.find((p) => /redis-server/.test(p.argv[0] ?? ''))!.pid;
    const workerPid = below.find((p) => p.argv.includes('work'))!.pid;

    first.child.kill('SIGKILL');
    await first.done;
    // The worker watches its stdin, a pipe from `up`: at EOF it stops as if sent SIGTERM.
    await until(() => !alive(workerPid), 'the orphaned worker to stop', 60_000);
    // redis-server is detached and outlives it, its data intact, until the next `up`.
    assert.ok(alive(redisPid));
    assert.equal(readBrokerRecord(box.stateDir)?.pid, redisPid);

    const second = startCli(['up', '--workers', '0'], { env: box.env });
    try {
      await second.waitFor(/press Ctrl-C to stop/, 120_000);
      assert.ok(!alive(redisPid), 'the left-behind redis-server still runs');
      const record = readBrokerRecord(box.stateDir);
      assert.ok(record && record.pid !== redisPid && record.ownerPid === second.child.pid);
      pids.push(record.pid);
    } finally {
      second.child.kill('SIGINT');
      const r = await second.done;
      assert.equal(r.code, 0, r.stderr);
    }
    assert.ok(!existsSync(brokerFile(box.stateDir)));
  } finally {
    first.child.kill('SIGKILL');
    killAll(pids);
  }
});
