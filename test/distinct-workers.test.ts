import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { encodeResultSchema, type EncodeJob } from '../core/job/contract.ts';
import { decodeJobError } from '../core/job/job-error.ts';
import { jobQueueName, keys } from '../core/job/keys.ts';
import { sameAsQueued } from '../core/paths/source-file.ts';
import { unseenVerdict } from '../encoder-image/source-visibility.ts';
import { BIN, cliSandbox } from './helpers/cli-run.ts';
import { probeFile, runFfmpeg } from './helpers/media.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { jobFor } from './helpers/worker-jobs.ts';
import {
  followWorker,
  killWorker,
  realtimeFfmpeg,
  sleep,
  startWorkerProc,
  type WorkerProc,
} from './helpers/worker-procs.ts';

// Two workers on one machine that see the storage differently: "bay-a" sees the media folder,
// "bay-b" runs in a mount namespace of its own where an empty folder is bind-mounted over it,
// as a machine without that share mounted. They tell each other apart by encoder.instance.
let redis: TestRedis;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-distinct-'));
const media = path.join(work, 'media');
const empty = path.join(work, 'empty');
let busyClip: string;
let longClip: string;
let clip: string;

before(async () => {
  redis = await startRedis();
  mkdirSync(media, { recursive: true });
  mkdirSync(empty, { recursive: true });
  busyClip = path.join(media, 'B001.mov');
  clip = path.join(media, 'A001.mov');
  longClip = path.join(media, 'C001.mov');
  await runFfmpeg(
    sampleClipArgs('h264-stereo', longClip, { width: 320, height: 180, seconds: 20 }),
  );
  // bay-a encodes in real time (-re): this keeps it busy for 8 s, whatever the machine's load,
  // while bay-b is offered the other job.
  await runFfmpeg(sampleClipArgs('h264-stereo', busyClip, { width: 320, height: 180, seconds: 8 }));
  await runFfmpeg(sampleClipArgs('h264-stereo', clip, { width: 320, height: 180, seconds: 1 }));
});
after(async () => {
  await redis.stop();
});

function farm() {
  const queue = `d${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const sandbox = cliSandbox({
    broker: { url: redis.url, queue },
    worker: { nice: 0, lock_seconds: 10, distinct_attempts: 3 },
    log: { level: 'info' },
  });
  const envOf = (instance: string) => ({ ...sandbox.env, PROXIMA_ENCODER__INSTANCE: instance });
  const realtime = realtimeFfmpeg(sandbox.root);
  const seeing = () => startWorkerProc({ ...envOf('bay-a'), PROXIMA_FFMPEG__PATH: realtime });
  // No shell string: the script is fixed, the paths reach it as arguments.
  const blind = () =>
    startProc(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount --bind "$1" "$2" && exec "$3" "$4" work -n 1',
        'sh',
        empty,
        media,
        process.execPath,
        BIN,
      ],
      envOf('bay-b'),
    );
  const connection = { url: redis.url };
  const q = new Queue<EncodeJob>(jobQueueName(queue), { connection });
  const events = new QueueEvents(jobQueueName(queue), { connection });
  return { queue, sandbox, seeing, blind, q, events };
}

test('a source one worker cannot see is handed to the worker that can, which encodes it', async () => {
  const f = farm();
  await f.events.waitUntilReady();
  const workers: WorkerProc[] = [];
  const client = new Redis(redis.url);
  try {
    const a = f.seeing();
    const b = f.blind();
    workers.push(a, b);
    await Promise.all(workers.map((w) => w.waitLog(/worker ready/)));
    // bay-a busy first (only its encode reports progress), so bay-b is the one free when the
    // next job comes.
    const busy = jobFor(busyClip, f.sandbox.proxyRoot);
    const busyEncoding = new Promise<void>((r) =>
      f.events.on('progress', ({ jobId }) => jobId === busy.id && r()),
    );
    await f.q.add('encode', busy.data, { jobId: busy.id, attempts: 3 });
    await busyEncoding;
    const j = jobFor(clip, f.sandbox.proxyRoot);
    const queuedAt = Date.now();
    await f.q.add('encode', j.data, { jobId: j.id, attempts: 3 });
    const result = encodeResultSchema.parse(
      await (await f.q.getJob(j.id))!.waitUntilFinished(f.events, 180_000),
    );
    const seconds = (Date.now() - queuedAt) / 1000;
    const handedOn = b
      .log()
      .split('\n')
      .filter((l) => l.includes(j.id) && /offered to the others/.test(l)).length;
    console.log(
      `FIGURE: job bay-b could not see: done by bay-a in ${seconds.toFixed(1)} s, handed on by bay-b ${handedOn} times`,
    );
    assert.match(result.worker, new RegExp(`-${a.pid}-`), 'encoded by the worker that sees it');
    assert.ok(handedOn >= 1, `bay-b never had the job:\n${b.log()}`);
    assert.deepEqual(
      await client.smembers(keys.unseen(f.queue, j.id, j.data.queuedAt)),
      ['bay-b'],
      'bay-b is on the list once, however often it was offered the job',
    );
    const proxy = await probeFile(j.data.proxyPath);
    assert.equal(proxy.video?.codec, 'prores');
    const done = (await f.q.getJob(j.id))!;
    assert.equal(done.attemptsMade, 1, 'only the encode counts: handing on spends no attempt');
    await (await f.q.getJob(busy.id))!.waitUntilFinished(f.events, 180_000);
  } finally {
    await Promise.all(workers.map(killWorker));
    await client.quit();
    await f.events.close();
    await f.q.obliterate({ force: true });
    await f.q.close();
  }
});

test('a worker restarted on the same machine is known by its instance: it hands the job on without looking', async () => {
  const f = farm();
  await f.events.waitUntilReady();
  const workers: WorkerProc[] = [];
  try {
    const a = f.seeing();
    const b = f.blind();
    workers.push(a, b);
    await Promise.all(workers.map((w) => w.waitLog(/worker ready/)));
    // bay-a busy for 20 s in real time, long enough for bay-b to be stopped and started again.
    const busy = jobFor(longClip, f.sandbox.proxyRoot);
    const busyEncoding = new Promise<void>((r) =>
      f.events.on('progress', ({ jobId }) => jobId === busy.id && r()),
    );
    await f.q.add('encode', busy.data, { jobId: busy.id, attempts: 3 });
    await busyEncoding;
    const j = jobFor(clip, f.sandbox.proxyRoot);
    const offered = (w: WorkerProc) =>
      w
        .log()
        .split('\n')
        .filter((l) => l.includes(j.id) && /offered to the others/.test(l)).length;
    await f.q.add('encode', j.data, { jobId: j.id, attempts: 3 });
    await b.waitLog(new RegExp(`${j.id}.*offered to the others|offered to the others.*${j.id}`));

    b.child.kill('SIGTERM');
    assert.equal(await b.exited, 0, b.log());
    const again = f.blind();
    workers.push(again);
    const t0 = Date.now();
    while (offered(again) === 0) {
      assert.ok(Date.now() - t0 < 60_000, `the restarted bay-b never had the job:\n${again.log()}`);
      assert.equal(again.child.exitCode, null, again.log());
      await sleep(100);
    }
    // The first bay-b looked and did not find it; the restarted one did not look again: the
    // list said it cannot see it.
    const looked = (w: WorkerProc) =>
      w
        .log()
        .split('\n')
        .filter((l) => l.includes(j.id) && /does not exist on this worker/.test(l)).length;
    assert.equal(looked(b), 1, b.log());
    assert.equal(looked(again), 0, again.log());
    const result = encodeResultSchema.parse(
      await (await f.q.getJob(j.id))!.waitUntilFinished(f.events, 180_000),
    );
    console.log(
      `FIGURE: restarted bay-b handed the job on ${offered(again)} times without looking; done by bay-a`,
    );
    assert.match(result.worker, new RegExp(`-${a.pid}-`));
  } finally {
    await Promise.all(workers.map(killWorker));
    await f.events.close();
    await f.q.obliterate({ force: true });
    await f.q.close();
  }
});

test('a source no live worker can see fails once each has tried, naming them, the paths and the fix', async () => {
  const f = farm();
  await f.events.waitUntilReady();
  const workers: WorkerProc[] = [f.seeing(), f.blind()];
  try {
    await Promise.all(workers.map((w) => w.waitLog(/worker ready/)));
    const farmPath = path.join(work, 'farm-only', 'A002.mov');
    const j = jobFor(farmPath, f.sandbox.proxyRoot);
    const data = { ...j.data, editorSource: 'R:\\Footage\\A002.mov' };
    const queuedAt = Date.now();
    await f.q.add('encode', data, { jobId: j.id, attempts: 3 });
    await assert.rejects((await f.q.getJob(j.id))!.waitUntilFinished(f.events, 120_000));
    const failed = (await f.q.getJob(j.id))!;
    const e = decodeJobError(failed.failedReason);
    console.log(
      `FIGURE: source no worker sees: failed after ${((Date.now() - queuedAt) / 1000).toFixed(1)} s: ${e.message} (hint: ${e.hint})`,
    );
    assert.equal(e.code, 'SOURCE_MISSING');
    assert.ok(e.message.includes(farmPath), e.message);
    assert.ok(e.message.includes('R:\\Footage\\A002.mov'), e.message);
    assert.match(e.message, /2 workers \(bay-a, bay-b\)/);
    assert.match(e.hint, /paths\.mappings/);
    assert.match(e.hint, /mount/);
    assert.equal(failed.attemptsMade, 1, 'failed for good, not retried');
  } finally {
    await Promise.all(workers.map(killWorker));
    await f.events.close();
    await f.q.obliterate({ force: true });
    await f.q.close();
  }
});

test('the decisions: enough distinct workers or every live one; a rounded modification time', () => {
  assert.deepEqual(unseenVerdict(['a'], ['a', 'b'], 3), { kind: 'hand-back' });
  assert.deepEqual(unseenVerdict(['a', 'a'], ['a', 'b'], 2), { kind: 'hand-back' });
  assert.deepEqual(unseenVerdict(['a', 'b'], ['a', 'b', 'c'], 2), {
    kind: 'fail',
    because: 'distinct',
  });
  assert.deepEqual(unseenVerdict(['a', 'b'], ['a', 'b', 'c'], 3), { kind: 'hand-back' });
  assert.deepEqual(unseenVerdict(['a', 'b', 'c'], ['a', 'b', 'c', 'd'], 3), {
    kind: 'fail',
    because: 'distinct',
  });
  // Workers gone since: the ones left all tried.
  assert.deepEqual(unseenVerdict(['a'], ['a'], 3), { kind: 'fail', because: 'every-live' });
  assert.deepEqual(unseenVerdict(['a', 'b'], ['b'], 3), { kind: 'fail', because: 'every-live' });

  const queued = { size: 100, mtimeMs: 1_700_000_000_500 };
  assert.ok(sameAsQueued(queued, { size: 100, mtimeMs: 1_700_000_000_000 }, 2), 'SMB rounding');
  assert.ok(sameAsQueued(queued, { size: 100, mtimeMs: 1_700_000_002_400 }, 2), 'FAT 2 s');
  assert.ok(!sameAsQueued(queued, { size: 100, mtimeMs: 1_700_000_003_000 }, 2));
  assert.ok(!sameAsQueued(queued, { size: 101, mtimeMs: queued.mtimeMs }, 2), 'size counts');
  assert.ok(!sameAsQueued(queued, { size: 100, mtimeMs: 1_700_000_000_000 }), 'default exact');
});

/** Like startWorkerProc, for a worker started through another program (unshare). */
function startProc(program: string, args: string[], env: NodeJS.ProcessEnv): WorkerProc {
  return followWorker(spawn(program, args, { env, stdio: ['pipe', 'ignore', 'pipe'] }));
}
