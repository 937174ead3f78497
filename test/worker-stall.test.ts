import assert from 'node:assert/strict';
import { jobQueueName } from '../core/job/keys.ts';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { decodeJobError } from '../core/job/job-error.ts';
import type { EncodeJob } from '../core/job/contract.ts';
import { cliSandbox } from './helpers/cli-run.ts';
import { runFfmpeg, TEST_SIZE } from './helpers/media.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { jobFor } from './helpers/worker-jobs.ts';
import {
  childrenNamed,
  hungProgram,
  killWorker,
  startWorkerProc,
  waitFor,
  waitGone,
} from './helpers/worker-procs.ts';

// A hung ffmpeg or ffprobe must not hold its job (and the encoder) for ever: it is killed
// after worker.stall_seconds / worker.probe_seconds, the job is retried, then failed with
// the reason, and the encoder's healthcheck reports the stall meanwhile.
let redis: TestRedis;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-stall-'));
let clip: string;

before(async () => {
  redis = await startRedis();
  clip = path.join(work, 'clip.mov');
  await runFfmpeg(sampleClipArgs('h264-stereo', clip, TEST_SIZE));
});
after(async () => {
  await redis.stop();
});

/** The encoder container's entry, as the image runs it, with a health file of its own. */
async function startEncoder(config: Record<string, unknown>) {
  const queue = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const sandbox = cliSandbox({
    broker: { url: redis.url, queue },
    log: { level: 'info' },
    ...config,
    worker: { nice: 0, lock_seconds: 30, ...(config.worker as object) },
  });
  const healthFile = path.join(sandbox.root, 'alive');
  const w = startWorkerProc(
    sandbox.env,
    ['--health-file', healthFile],
    ['--import', 'tsx', 'encoder-image/main.ts'],
  );
  const connection = { url: redis.url };
  const q = new Queue<EncodeJob>(jobQueueName(queue), { connection });
  const events = new QueueEvents(jobQueueName(queue), { connection });
  await events.waitUntilReady();
  await w.waitLog(/worker started/);
  const cleanup = async () => {
    await killWorker(w);
    await events.close();
    await q.obliterate({ force: true });
    await q.close();
  };
  return { sandbox, healthFile, w, q, events, cleanup };
}

/** The image's HEALTHCHECK command against that health file. */
function healthcheck(file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'encoder-image/healthcheck.ts', file],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('close', (code) => resolve({ code, out }));
  });
}

test('a hung ffmpeg is killed after worker.stall_seconds; the job is retried, then failed with the reason; the healthcheck says stalled meanwhile', async () => {
  const { sandbox, healthFile, w, q, events, cleanup } = await startEncoder({
    worker: { stall_seconds: 5 },
    ffmpeg: { path: hungProgram(work, 'ffmpeg') },
  });
  try {
    assert.equal((await healthcheck(healthFile)).code, 0, 'healthy before any job');
    const j = jobFor(clip, sandbox.proxyRoot);
    const added = Date.now();
    await q.add('encode', j.data, { jobId: j.id, attempts: 2 });
    const finished = (await q.getJob(j.id))!.waitUntilFinished(events, 120_000).then(
      () => assert.fail('a job whose ffmpeg hangs cannot complete'),
      () => Date.now(),
    );

    // The stand-in ffmpeg execs `sleep`: that process is the hung encoder.
    const hung = await waitFor('the hung ffmpeg', () => childrenNamed(w.pid, 'sleep')[0], 20_000);
    const unhealthy = await waitFor(
      'the healthcheck reporting the stall',
      async () => {
        const r = await healthcheck(healthFile);
        return r.code === 1 && /stalled/.test(r.out) ? r : undefined;
      },
      30_000,
    );
    assert.match(unhealthy.out, /ffmpeg made no progress for 5 s/);
    assert.notEqual(await waitGone(hung, 1000), null, 'the hung ffmpeg was killed');

    const failedAt = await finished;
    const seconds = (failedAt - added) / 1000;
    console.log(
      `FIGURE: hung ffmpeg, 2 attempts at worker.stall_seconds 5: failed after ${seconds.toFixed(1)} s`,
    );
    const failed = (await q.getJob(j.id))!;
    assert.equal(failed.attemptsMade, 2, 'retried once, then failed');
    assert.match(decodeJobError(failed.failedReason).message, /ffmpeg made no progress for 5 s/);
    assert.ok(seconds >= 10, `two stalls of 5 s each took only ${seconds} s`);
    assert.equal(existsSync(j.data.proxyPath), false, 'no proxy');
    assert.deepEqual(childrenNamed(w.pid, 'sleep'), [], 'no hung process left');

    // The job has failed for good: nothing is stalling any more.
    const healthy = await waitFor(
      'the healthcheck passing again',
      async () => ((await healthcheck(healthFile)).code === 0 ? true : undefined),
      15_000,
    );
    assert.ok(healthy);
    assert.match(w.log(), /ffmpeg made no progress for 5 s: killed it/);
  } finally {
    await cleanup();
  }
});

test('a hung ffprobe is killed after worker.probe_seconds; the job is retried, then failed with the reason', async () => {
  const { sandbox, w, q, events, cleanup } = await startEncoder({
    worker: { probe_seconds: 5 },
    ffprobe: { path: hungProgram(work, 'ffprobe') },
  });
  try {
    const j = jobFor(clip, sandbox.proxyRoot);
    const added = Date.now();
    await q.add('encode', j.data, { jobId: j.id, attempts: 2 });
    const hung = await waitFor('the hung ffprobe', () => childrenNamed(w.pid, 'sleep')[0], 20_000);
    await assert.rejects((await q.getJob(j.id))!.waitUntilFinished(events, 120_000));
    const seconds = (Date.now() - added) / 1000;
    console.log(
      `FIGURE: hung ffprobe, 2 attempts at worker.probe_seconds 5: failed after ${seconds.toFixed(1)} s`,
    );
    assert.notEqual(await waitGone(hung, 1000), null, 'the hung ffprobe was killed');
    const failed = (await q.getJob(j.id))!;
    assert.equal(failed.attemptsMade, 2, 'retried once, then failed');
    const e = decodeJobError(failed.failedReason);
    assert.match(e.message, /ffprobe of .* took longer than worker\.probe_seconds \(5 s\)/);
    assert.ok(seconds >= 10, `two probes of 5 s each took only ${seconds} s`);
    assert.deepEqual(childrenNamed(w.pid, 'sleep'), [], 'no hung process left');
  } finally {
    await cleanup();
  }
});
