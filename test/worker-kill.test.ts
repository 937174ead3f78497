import assert from 'node:assert/strict';
import { jobQueueName } from '../core/job/keys.ts';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { encodeResultSchema, type EncodeJob } from '../core/job/contract.ts';
import { cliSandbox } from './helpers/cli-run.ts';
import { probeFile, runFfmpeg } from './helpers/media.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { jobFor } from './helpers/worker-jobs.ts';
import {
  childrenNamed,
  killWorker,
  startWorkerProc,
  waitFor,
  waitGone,
  type WorkerProc,
} from './helpers/worker-procs.ts';

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

function partials(root: string): string[] {
  return existsSync(root)
    ? readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.includes('.partial'))
    : [];
}

async function setup(worker: object) {
  const queue = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const sandbox = cliSandbox({
    broker: { url: redis.url, queue },
    worker: { nice: 0, ...worker },
    log: { level: 'info' },
  });
  const connection = { url: redis.url };
  const q = new Queue<EncodeJob>(jobQueueName(queue), { connection });
  const events = new QueueEvents(jobQueueName(queue), { connection });
  await events.waitUntilReady();
  const j = jobFor(clip, sandbox.proxyRoot);
  const cleanup = async () => {
    await events.close();
    await q.obliterate({ force: true });
    await q.close();
  };
  return { sandbox, q, events, j, cleanup };
}

test('a worker killed -9 mid-encode takes its ffmpeg with it; another worker has the job within lock_seconds + 5 s and writes a verified proxy', async () => {
  const lockSeconds = 10;
  const { sandbox, q, events, j, cleanup } = await setup({ lock_seconds: lockSeconds });
  const workers: WorkerProc[] = [startWorkerProc(sandbox.env), startWorkerProc(sandbox.env)];
  try {
    await Promise.all(workers.map((w) => w.waitLog(/worker ready/)));
    const progressed = new Promise<void>((resolve) =>
      events.on('progress', ({ jobId }) => jobId === j.id && resolve()),
    );
    await q.add('encode', j.data, { jobId: j.id, attempts: 3 });
    await progressed;

    // The worker encoding is the one with an ffmpeg child.
    const [victim, ffmpegPid] = await waitFor(
      'an ffmpeg child of a worker',
      () => {
        for (const w of workers) {
          const [pid] = childrenNamed(w.pid, 'ffmpeg');
          if (pid) return [w, pid] as const;
        }
        return undefined;
      },
      10_000,
    );
    const survivor = workers.find((w) => w !== victim)!;
    const activeAgain = new Promise<number>((resolve) =>
      events.on('active', ({ jobId }) => jobId === j.id && resolve(Date.now())),
    );

    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    const ffmpegGone = await waitGone(ffmpegPid, 10_000);
    console.log(`FIGURE: ffmpeg gone after its worker was killed -9: ${ffmpegGone ?? 'never'} s`);
    assert.notEqual(ffmpegGone, null, `ffmpeg ${ffmpegPid} outlived its worker`);
    assert.ok(ffmpegGone! <= 2, `ffmpeg took ${ffmpegGone} s to die`);
    assert.equal(existsSync(j.data.proxyPath), false, 'nothing at the proxy path after the kill');

    const requeue = ((await activeAgain) - killedAt) / 1000;
    console.log(
      `FIGURE: requeue after kill -9: ${requeue.toFixed(1)} s (worker.lock_seconds ${lockSeconds})`,
    );
    assert.ok(requeue <= lockSeconds + 5, `the job came back after ${requeue} s`);

    const result = encodeResultSchema.parse(
      await (await q.getJob(j.id))!.waitUntilFinished(events, 180_000),
    );
    assert.match(result.worker, new RegExp(`-${survivor.pid}-`), 'finished by the other worker');
    const proxy = await probeFile(j.data.proxyPath);
    const source = await probeFile(clip);
    assert.equal(proxy.video?.codec, 'prores');
    assert.equal(proxy.video?.height, 720);
    assert.ok(Math.abs(proxy.video!.frameCount! - source.video!.frameCount!) <= 1);
    assert.equal(proxy.timecode, source.timecode);
    // The attempt that finished removed the temp file the killed one left.
    assert.deepEqual(partials(sandbox.proxyRoot), []);
  } finally {
    await Promise.all(workers.map(killWorker));
    await cleanup();
  }
});

test('SIGTERM mid-encode lets the running job finish, then the worker exits 0', async () => {
  const { sandbox, q, events, j, cleanup } = await setup({ lock_seconds: 3 });
  const w = startWorkerProc(sandbox.env);
  try {
    await w.waitLog(/worker ready/);
    const progressed = new Promise<void>((resolve) =>
      events.on('progress', ({ jobId }) => jobId === j.id && resolve()),
    );
    await q.add('encode', j.data, { jobId: j.id, attempts: 3 });
    await progressed;
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 0, w.log());
    const job = (await q.getJob(j.id))!;
    assert.equal(await job.getState(), 'completed');
    assert.equal((await probeFile(j.data.proxyPath)).video?.codec, 'prores');
    assert.match(w.log(), new RegExp(`worker stopped after [0-9.]+ s; finished: ${j.id}`));
  } finally {
    await killWorker(w);
    await cleanup();
  }
});

test('a starting worker sweeps the temp files killed attempts left under its proxy root', async () => {
  const { sandbox, cleanup } = await setup({});
  const folder = path.join(sandbox.proxyRoot, 'media', 'day1');
  mkdirSync(folder, { recursive: true });
  const hex = (c: string) => c.repeat(32);
  // A killed attempt of a job that no longer exists, and one of an unknown job untouched for an hour.
  const dead = path.join(folder, `.A001.px-000000000000000000000dead.${hex('a')}.partial`);
  const old = path.join(folder, `.A002.=0123456789abcdef.${hex('b')}.partial`);
  // A fresh one of a job id that cannot be looked up: kept, it may still be written.
  const fresh = path.join(folder, `.A003.=fedcba9876543210.${hex('c')}.partial`);
  const other = path.join(folder, 'notes.txt');
  for (const f of [dead, old, fresh, other]) writeFileSync(f, 'x');
  const hourAgo = new Date(Date.now() - 3600_000);
  utimesSync(old, hourAgo, hourAgo);
  const w = startWorkerProc(sandbox.env);
  try {
    await w.waitLog(/worker ready/);
    await waitFor('stale temp files swept', () => !existsSync(dead) && !existsSync(old), 20_000);
    assert.ok(existsSync(fresh), 'a recent temp file of an unknown job is kept');
    assert.ok(existsSync(other), 'other files are never touched');
    assert.match(w.log(), /removed a stale temp file/);
  } finally {
    await killWorker(w);
    await cleanup();
  }
});
