import assert from 'node:assert/strict';
import { jobQueueName } from '../core/job/keys.ts';
import { mkdtempSync } from 'node:fs';
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
  realtimeFfmpeg,
  startWorkerProc,
  waitFor,
  waitGone,
  type WorkerProc,
} from './helpers/worker-procs.ts';

// A machine paused past the lock (a laptop lid, a frozen VM): when it wakes its worker has lost
// the job to another one and must stop its ffmpeg at once, and neither hand the job back nor
// complete it: the other worker's result is the one that counts.
let redis: TestRedis;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-lock-'));
let clip: string;
let ffmpeg: string;

before(async () => {
  redis = await startRedis();
  clip = path.join(work, 'wide shot.mov');
  // Encoded in real time (-re): 20 s, whatever the machine's load.
  await runFfmpeg(sampleClipArgs('h264-stereo', clip, { width: 320, height: 180, seconds: 20 }));
  ffmpeg = realtimeFfmpeg(work);
});
after(async () => {
  await redis.stop();
});

test('a worker paused past lock_seconds stops its ffmpeg as soon as it wakes, and leaves the job to the worker that took it over', async () => {
  const lockSeconds = 3;
  const queue = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const sandbox = cliSandbox({
    broker: { url: redis.url, queue },
    worker: { nice: 0, lock_seconds: lockSeconds },
    ffmpeg: { path: ffmpeg },
    log: { level: 'info' },
  });
  const connection = { url: redis.url };
  const q = new Queue<EncodeJob>(jobQueueName(queue), { connection });
  const events = new QueueEvents(jobQueueName(queue), { connection });
  await events.waitUntilReady();
  const workers: WorkerProc[] = [startWorkerProc(sandbox.env), startWorkerProc(sandbox.env)];
  let paused: number[] = [];
  try {
    await Promise.all(workers.map((w) => w.waitLog(/worker ready/)));
    const j = jobFor(clip, sandbox.proxyRoot);
    const progressed = new Promise<void>((resolve) =>
      events.on('progress', ({ jobId }) => jobId === j.id && resolve()),
    );
    await q.add('encode', j.data, { jobId: j.id, attempts: 3 });
    await progressed;
    const [sleeper, sleeperFfmpeg] = await waitFor(
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
    const other = workers.find((w) => w !== sleeper)!;
    const takenOver = new Promise<number>((resolve) =>
      events.on('active', ({ jobId }) => jobId === j.id && resolve(Date.now())),
    );

    // The whole machine pauses: the worker and its ffmpeg.
    const pausedAt = Date.now();
    paused = [sleeperFfmpeg, sleeper.pid];
    for (const pid of paused) process.kill(pid, 'SIGSTOP');
    const takeover = ((await takenOver) - pausedAt) / 1000;
    console.log(
      `FIGURE: paused worker's job taken over after ${takeover.toFixed(1)} s (worker.lock_seconds ${lockSeconds})`,
    );
    assert.ok(takeover <= lockSeconds + 5, `taken over after ${takeover} s`);
    await waitFor('the other worker encoding', () => childrenNamed(other.pid, 'ffmpeg')[0], 10_000);

    const wokeAt = Date.now();
    for (const pid of paused) process.kill(pid, 'SIGCONT');
    paused = [];
    const stoppedAfter = await waitGone(sleeperFfmpeg, 10_000);
    console.log(
      `FIGURE: ffmpeg of a job whose lock was lost stopped ${stoppedAfter ?? 'never'} s after its worker woke`,
    );
    assert.notEqual(stoppedAfter, null, 'the woken worker kept encoding a job it no longer holds');
    assert.ok(stoppedAfter! <= 3, `its ffmpeg ran on for ${stoppedAfter} s`);
    await sleeper.waitLog(/lock lost/, 5000);
    assert.ok(Date.now() - wokeAt < 60_000);

    const result = encodeResultSchema.parse(
      await (await q.getJob(j.id))!.waitUntilFinished(events, 120_000),
    );
    assert.match(result.worker, new RegExp(`-${other.pid}-`), 'the result is the other worker’s');
    const job = (await q.getJob(j.id))!;
    assert.equal(await job.getState(), 'completed');
    assert.equal(job.attemptsMade, 1, 'the woken worker neither failed nor retried the job');
    assert.doesNotMatch(sleeper.log(), /job handed back|proxy written/, sleeper.log());
    const proxy = await probeFile(j.data.proxyPath);
    const source = await probeFile(clip);
    assert.equal(proxy.video?.codec, 'prores');
    assert.ok(Math.abs(proxy.video!.frameCount! - source.video!.frameCount!) <= 1);
    // The woken worker is still a worker: it takes the next job.
    const next = jobFor(clip, path.join(sandbox.root, 'second-root'));
    await q.add('encode', { ...next.data }, { jobId: `${next.id}-again`, attempts: 1 });
    await (await q.getJob(`${next.id}-again`))!.waitUntilFinished(events, 120_000);
  } finally {
    for (const pid of paused) process.kill(pid, 'SIGCONT');
    await Promise.all(workers.map(killWorker));
    await events.close();
    await q.obliterate({ force: true });
    await q.close();
  }
});
