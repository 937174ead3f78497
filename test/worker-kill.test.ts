import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import type { EncodeJob } from '../core/job/contract.ts';
import { startWorker } from '../encoder-image/worker.ts';
import { probeFile, runFfmpeg } from './helpers/media.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { jobFor, testConfig } from './helpers/worker-jobs.ts';

let redis: TestRedis;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-kill-'));
let clip: string;

before(async () => {
  redis = await startRedis();
  clip = path.join(work, 'long take.mov');
  // Long enough to be caught mid-encode on a busy two-core machine.
  await runFfmpeg(sampleClipArgs('h264-stereo', clip, { width: 1280, height: 720, seconds: 12 }));
});
after(async () => {
  await redis.stop();
});

function spawnWorker(configFile: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'encoder-image/main.ts'], {
    env: { ...process.env, PROXIMA_CONFIG: configFile },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

async function setup() {
  // A proxy root per test: a proxy left by an earlier test would be reused, not encoded.
  const root = mkdtempSync(path.join(work, 'proxies-'));
  const config = testConfig(redis.url, root);
  const configFile = path.join(work, `${config.broker.queue}.yaml`);
  writeFileSync(configFile, stringify(config));
  const connection = { url: redis.url };
  const q = new Queue<EncodeJob>(config.broker.queue, { connection });
  const events = new QueueEvents(config.broker.queue, { connection });
  await events.waitUntilReady();
  const j = jobFor(clip, root);
  const progressed = new Promise<void>((resolve) =>
    events.on('progress', ({ jobId }) => {
      if (jobId === j.id) resolve();
    }),
  );
  await q.add('encode', j.data, { jobId: j.id, attempts: 3 });
  return { root, config, configFile, q, events, j, progressed };
}

function partials(root: string): string[] {
  return existsSync(root)
    ? readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.includes('.partial'))
    : [];
}

test('a worker killed -9 mid-encode loses no job and leaves no proxy behind', async () => {
  const { root, config, configFile, q, events, j, progressed } = await setup();
  const child = spawnWorker(configFile);
  const exited = new Promise((r) => child.once('exit', r));
  await progressed;
  child.kill('SIGKILL');
  await exited;
  assert.equal(existsSync(j.data.proxyPath), false, 'nothing at the proxy path after the kill');

  const worker = await startWorker({
    brokerUrl: redis.url,
    config,
    logger: pino({ level: 'silent' }),
    concurrency: 1,
    searchPath: process.env.PATH ?? '',
  });
  try {
    await (await q.getJob(j.id))!.waitUntilFinished(events, 180_000);
    const proxy = await probeFile(j.data.proxyPath);
    const source = await probeFile(clip);
    assert.equal(proxy.video?.codec, 'prores');
    assert.equal(proxy.video?.height, 720);
    assert.ok(Math.abs(proxy.video!.frameCount! - source.video!.frameCount!) <= 1);
    assert.equal(proxy.timecode, source.timecode);
    // The temp name is per job, so the retry took over the killed encode's temp file.
    assert.deepEqual(partials(root), []);
  } finally {
    await worker.close();
    await events.close();
    await q.obliterate({ force: true });
    await q.close();
  }
});

test('SIGTERM mid-encode lets the running job finish, then the worker exits 0', async () => {
  const { configFile, q, events, j, progressed } = await setup();
  const child = spawnWorker(configFile);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await progressed;
  child.kill('SIGTERM');
  try {
    assert.equal(await exited, 0, stderr);
    const job = (await q.getJob(j.id))!;
    assert.equal(await job.getState(), 'completed');
    assert.equal((await probeFile(j.data.proxyPath)).video?.codec, 'prores');
  } finally {
    await events.close();
    await q.obliterate({ force: true });
    await q.close();
  }
});
