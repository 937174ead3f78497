import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { workerInfoSchema, type EncodeJob } from '../core/job/contract.ts';
import { jobQueueName, keys } from '../core/job/keys.ts';
import { makeClip } from './helpers/cli-media.ts';
import { probeFile } from './helpers/media.ts';
import { freePort, startRedis, type TestRedis } from './helpers/redis.ts';
import { jobFor, testConfig } from './helpers/worker-jobs.ts';

// The container entry as a process, as the image runs it: env config only, exits when idle.
const ENTRY = fileURLToPath(new URL('../encoder-image/main.ts', import.meta.url));

let redis: TestRedis;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-entry-'));
const emptyConfig = path.join(work, 'config.yaml');
writeFileSync(emptyConfig, '');

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

interface Exit {
  code: number | null;
  stderr: string;
  ms: number;
}

function runEntry(env: Record<string, string>): { exited: Promise<Exit> } {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { PATH: process.env.PATH ?? '', HOME: work, PROXIMA_CONFIG: emptyConfig, CI: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return {
    exited: new Promise((resolve) =>
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr, ms: Date.now() - started });
      }),
    ),
  };
}

test('an encoder registers under its instance name, encodes, and exits by itself when idle', async () => {
  const root = path.join(work, 'proxies');
  const config = testConfig(redis.url, root);
  const queueName = config.broker.queue;
  const clip = await makeClip(path.join(work, 'media'), 'A001', 'h264-stereo');
  const job = jobFor(clip, root);
  const q = new Queue<EncodeJob>(jobQueueName(queueName), { connection: { url: redis.url } });
  const r = new Redis(redis.url);
  try {
    await q.add('encode', job.data, { jobId: job.id });
    const run = runEntry({
      PROXIMA_BROKER__URL: redis.url,
      PROXIMA_BROKER__QUEUE: queueName,
      PROXIMA_ENCODER__INSTANCE: 'encoder-test-7',
      PROXIMA_ENCODER__IDLE_EXIT_SECONDS: '2',
      PROXIMA_WORKER__NICE: '0',
    });

    let registered: unknown = null;
    for (let i = 0; i < 100 && !registered; i++) {
      const found = await r.keys(keys.workerPattern(queueName));
      if (found[0]) registered = JSON.parse((await r.get(found[0])) ?? 'null');
      else await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(workerInfoSchema.parse(registered).instance, 'encoder-test-7');

    const exit = await run.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stderr, /no work: stopping/);
    assert.equal(await (await q.getJob(job.id))?.getState(), 'completed');
    const info = await probeFile(job.data.proxyPath);
    assert.equal(info.video?.codec, 'prores');
    assert.deepEqual(await r.keys(keys.workerPattern(queueName)), [], 'registration removed');
  } finally {
    r.disconnect();
    await q.obliterate({ force: true });
    await q.close();
  }
});

test('an encoder without a broker URL stops at once with the key to set', async () => {
  const exit = await runEntry({}).exited;
  assert.equal(exit.code, 2);
  assert.match(exit.stderr, /error: broker\.url is empty/);
  assert.match(exit.stderr, /PROXIMA_BROKER__URL/);
});

test('an encoder that cannot reach its broker says so and stops instead of hanging', async () => {
  const port = await freePort();
  const exit = await runEntry({
    PROXIMA_BROKER__URL: `redis://127.0.0.1:${port}`,
    PROXIMA_WORKER__BROKER_WAIT_SECONDS: '1',
  }).exited;
  assert.equal(exit.code, 1);
  assert.match(
    exit.stderr,
    new RegExp(
      `^error: broker not reachable at redis://127\\.0\\.0\\.1:${port} after 1 s \\(.*ECONNREFUSED`,
      'm',
    ),
  );
  assert.match(exit.stderr, /^hint: .*PROXIMA_BROKER__URL/m);
  assert.ok(exit.ms < 10_000, `stopped after ${exit.ms} ms`);
});
