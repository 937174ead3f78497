import assert from 'node:assert/strict';
import { jobQueueName } from '../core/job/keys.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import type { EncodeJob } from '../core/job/contract.ts';
import { cliSandbox } from './helpers/cli-run.ts';
import { runFfmpeg } from './helpers/media.ts';
import { startRedis } from './helpers/redis.ts';
import { jobFor } from './helpers/worker-jobs.ts';
import {
  childrenNamed,
  killWorker,
  realtimeFfmpeg,
  sleep,
  startWorkerProc,
  waitFor,
  waitGone,
} from './helpers/worker-procs.ts';

// A worker told to stop while its broker is gone exits within worker.stop_seconds, whichever
// way it is told, and says what became of the job it held.
const STOP_SECONDS = 4;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-stop-'));
let clip: string;
let ffmpeg: string;

before(async () => {
  clip = path.join(work, 'interview.mov');
  // Encoded in real time (-re): still running whenever the test acts, with little CPU.
  await runFfmpeg(sampleClipArgs('h264-stereo', clip, { width: 320, height: 180, seconds: 30 }));
  ffmpeg = realtimeFfmpeg(work);
});

const variants = [
  { name: 'SIGTERM', tell: (w: Worker) => w.child.kill('SIGTERM') },
  { name: 'SIGINT', tell: (w: Worker) => w.child.kill('SIGINT') },
  { name: 'stdin EOF from a parent gone', tell: (w: Worker) => w.child.stdin!.end() },
  {
    name: 'SIGTERM, then the broker back',
    tell: (w: Worker) => w.child.kill('SIGTERM'),
    back: true,
  },
];
type Worker = ReturnType<typeof startWorkerProc>;

for (const v of variants) {
  test(`broker gone, ${v.name}: the worker exits within worker.stop_seconds, its ffmpeg too, naming the job it held`, async () => {
    const redis = await startRedis();
    const queue = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const sandbox = cliSandbox({
      broker: { url: redis.url, queue },
      worker: { nice: 0, lock_seconds: 30, stop_seconds: STOP_SECONDS },
      ffmpeg: { path: ffmpeg },
      log: { level: 'info' },
    });
    const connection = { url: redis.url };
    const q = new Queue<EncodeJob>(jobQueueName(queue), { connection });
    const events = new QueueEvents(jobQueueName(queue), { connection });
    q.on('error', () => {});
    events.on('error', () => {});
    let closed = false;
    const w = startWorkerProc(sandbox.env, ['work', '-n', '1', '--exit-with-parent']);
    try {
      await events.waitUntilReady();
      await w.waitLog(/worker ready/);
      const j = jobFor(clip, sandbox.proxyRoot);
      const progressed = new Promise<void>((resolve) =>
        events.on('progress', ({ jobId }) => jobId === j.id && resolve()),
      );
      await q.add('encode', j.data, { jobId: j.id, attempts: 3 });
      await progressed;
      const ffmpegPid = await waitFor('ffmpeg', () => childrenNamed(w.pid, 'ffmpeg')[0], 10_000);
      await events.close();
      await q.close();
      closed = true;

      await redis.kill();
      await sleep(500);
      const toldAt = Date.now();
      v.tell(w);
      if (v.back) {
        await sleep(1000);
        await redis.restart();
      }
      const exit = await Promise.race([w.exited, sleep((STOP_SECONDS + 20) * 1000)]);
      const seconds = (Date.now() - toldAt) / 1000;
      console.log(
        `FIGURE: stop with the broker gone (${v.name}): ${seconds.toFixed(1)} s (worker.stop_seconds ${STOP_SECONDS})`,
      );
      assert.equal(exit, 0, `the worker did not exit within ${STOP_SECONDS + 20} s:\n${w.log()}`);
      assert.ok(seconds <= STOP_SECONDS + 2, `exited after ${seconds} s`);
      assert.notEqual(await waitGone(ffmpegPid, 2000), null, 'ffmpeg outlived its worker');
      const summary = /"msg":"(worker stopped after [^"]*)"/.exec(w.log())?.[1];
      console.log(`stop summary (${v.name}): ${summary}`);
      assert.match(
        w.log(),
        new RegExp(`worker stopped after [0-9.]+ s; [^"]*(abandoned|handed back)[^"]*${j.id}`),
        w.log(),
      );
    } finally {
      await killWorker(w);
      if (!closed) {
        await events.close();
        await q.close();
      }
      await redis.stop();
    }
  });
}

after(() => {});
