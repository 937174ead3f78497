import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { createJobLine } from '../encoder-image/job-line.ts';
import { createProbeAhead } from '../encoder-image/probe-ahead.ts';
import { sourceProbeCache } from '../encoder-image/source-probe-cache.ts';
import { countingProber } from './helpers/counting-prober.ts';
import { runFfmpeg, TEST_SIZE } from './helpers/media.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'proxima-probe-ahead-'));
const file = (name: string) => path.join(dir, name);
let redis: TestRedis;
let connection: Redis;
let n = 0;

before(async () => {
  redis = await startRedis();
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  await runFfmpeg(sampleClipArgs('h264-stereo', file('A001.mov'), TEST_SIZE));
  for (const name of ['A002.mov', 'A003.mov', 'A004.mov'])
    copyFileSync(file('A001.mov'), file(name));
  writeFileSync(file('notes.mov'), 'not media');
  execFileSync('mkfifo', [file('pipe.mov')]);
});
after(async () => {
  connection.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh queue with jobs for these files, as the gateway adds them (payload trimmed). */
async function queueWith(entries: { name: string; priority?: number }[]): Promise<string> {
  const name = `ahead-${++n}-${Date.now()}`;
  const queue = new Queue(name, { connection });
  for (const e of entries) {
    await queue.add(
      'encode',
      { source: { path: file(e.name), size: 1, mtimeMs: 1 } },
      e.priority ? { priority: e.priority } : {},
    );
  }
  await queue.close();
  return name;
}

/** A look-ahead over a queue's line with a counting prober behind its cache. */
function lookAhead(name: string, count: number, delayMs = 10) {
  const line = createJobLine({ connection, name });
  const { prober, runs } = countingProber();
  const cached = sourceProbeCache(prober);
  const ahead = createProbeAhead({
    nextSources: (c) => line.nextSources(c),
    prober: cached,
    count,
    delayMs,
    timeoutMs: 10_000,
    logger: pino({ level: 'silent' }),
  });
  return {
    ahead,
    cached,
    runs,
    async close() {
      ahead.stop();
      await line.close();
    },
  };
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the next jobs in line are probed ahead, in the order workers take them, into the cache their jobs read', async () => {
  const name = await queueWith([
    { name: 'A001.mov' },
    { name: 'A002.mov' },
    { name: 'A003.mov', priority: 1 },
    { name: 'A004.mov' },
  ]);
  const { ahead, cached, runs, close } = lookAhead(name, 2);
  try {
    // Two jobs start at once: one look ahead.
    ahead.kick();
    ahead.kick();
    await until(() => runs.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    // The prioritized job goes first, then the oldest waiting one.
    assert.deepEqual(runs, ['A003.mov', 'A001.mov']);
    // The jobs' own probes of those sources run no ffprobe; another source does.
    const media = await cached.probe(file('A003.mov'));
    assert.equal(media.video?.width, TEST_SIZE.width);
    await cached.probe(file('A001.mov'));
    assert.deepEqual(runs, ['A003.mov', 'A001.mov']);
    await cached.probe(file('A004.mov'));
    assert.deepEqual(runs, ['A003.mov', 'A001.mov', 'A004.mov']);
  } finally {
    await close();
  }
});

test('a FIFO is never probed ahead and a file that is not media is left to its job', async () => {
  const name = await queueWith([{ name: 'pipe.mov' }, { name: 'notes.mov' }, { name: 'A002.mov' }]);
  const { ahead, cached, runs, close } = lookAhead(name, 3);
  try {
    ahead.kick();
    await until(() => runs.includes('A002.mov'));
    assert.deepEqual(runs, ['notes.mov', 'A002.mov']);
    // Not kept: its job probes it again and fails with ffprobe's reason.
    await assert.rejects(cached.probe(file('notes.mov')));
    assert.deepEqual(runs, ['notes.mov', 'A002.mov', 'notes.mov']);
  } finally {
    await close();
  }
});

test('a stopped look-ahead probes nothing more', async () => {
  const name = await queueWith([{ name: 'A001.mov' }]);
  const { ahead, runs, close } = lookAhead(name, 1, 50);
  ahead.kick();
  ahead.stop();
  ahead.kick();
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(runs, []);
  await close();
});
