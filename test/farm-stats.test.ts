import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DelayedError, Queue, QueueEvents, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import {
  bucketBound,
  busyRatio,
  createFarmStats,
  minuteOf,
  minuteStarts,
  safeCode,
  THROUGHPUT_MAX_MINUTES,
  type JobOutcome,
} from '../core/broker/farm-stats.ts';
import { encodeJobError } from '../core/job/job-error.ts';
import { keys } from '../core/job/keys.ts';
import { MediaError, ProximaError } from '../core/errors.ts';
import { createJobStats } from '../encoder-image/job-stats.ts';
import { encodeResult, freshQueueName, silentLogger, until } from './helpers/gateway-fixture.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
let client: Redis;

before(async () => {
  redis = await startRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: null });
});
after(async () => {
  client.disconnect();
  await redis.stop();
});

const MINUTE = 60_000;

/** Statistics on a queue name of their own, and the time to record at. */
function freshStats() {
  const queue = freshQueueName();
  return { queue, stats: createFarmStats(client, queue), now: Date.now() };
}

function outcome(extra: Partial<JobOutcome>): JobOutcome {
  return {
    kind: 'clip',
    status: 'completed',
    waitSec: 0.5,
    runSec: 2,
    proxies: 1,
    frames: 100,
    ...extra,
  };
}

test('job ends add up: counters by kind and code, cumulative buckets, minutes, workers', async () => {
  const { stats, now } = freshStats();
  await stats.record({
    at: now,
    worker: { id: 'w1', busyMs: 2000, jobsDone: 1 },
    outcome: outcome({}),
  });
  await stats.record({
    at: now,
    worker: { id: 'w1', busyMs: 300, jobsDone: 1 },
    outcome: outcome({ waitSec: 20, runSec: 0.3, proxies: 0, frames: 0 }),
  });
  await stats.record({
    at: now - 2 * MINUTE,
    worker: { id: 'w2', busyMs: 40_000, jobsDone: 1 },
    outcome: outcome({ kind: 'chunk', waitSec: 4000, runSec: 40, proxies: 0, frames: 750 }),
  });
  await stats.record({
    at: now,
    worker: { id: 'w2', busyMs: 100, jobsDone: 1 },
    outcome: outcome({
      status: 'failed',
      code: 'MEDIA_CORRUPT',
      runSec: 0.1,
      proxies: 0,
      frames: 0,
    }),
  });
  // A retried attempt: busy time only.
  await stats.record({ at: now, worker: { id: 'w2', busyMs: 50, jobsDone: 0 } });

  const totals = await stats.totals();
  assert.deepEqual(totals.completed, [
    { kind: 'chunk', count: 1 },
    { kind: 'clip', count: 2 },
  ]);
  assert.deepEqual(totals.failed, [{ kind: 'clip', code: 'MEDIA_CORRUPT', count: 1 }]);
  assert.equal(totals.proxies, 1);
  assert.equal(totals.frames, 850);
  const wait = totals.durations.find((d) => d.name === 'wait' && d.kind === 'clip')!.histogram;
  // 0.5, 20, 0.5 s: two in le=1, the 20 s one from le=30 on; cumulative like Prometheus's.
  assert.deepEqual(wait.buckets, [2, 2, 2, 3, 3, 3, 3, 3, 3, 3]);
  assert.equal(wait.count, 3);
  assert.equal(wait.sum, 21);
  const chunkWait = totals.durations.find((d) => d.name === 'wait' && d.kind === 'chunk')!;
  assert.deepEqual(chunkWait.histogram.buckets, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'above 3600: +Inf');
  assert.equal(chunkWait.histogram.count, 1);
  const run = totals.durations.find((d) => d.name === 'run' && d.kind === 'clip')!.histogram;
  assert.deepEqual(run.buckets, [2, 3, 3, 3, 3, 3, 3, 3, 3, 3]);

  const minutes = await stats.throughput(4, now);
  assert.deepEqual(
    minutes.map((m) => m.at),
    [3, 2, 1, 0].map((i) => minuteOf(now) - i * MINUTE),
    'oldest first, one per minute, ending with the current one',
  );
  assert.deepEqual(
    minutes.map((m) => [m.proxies, m.frames]),
    [
      [0, 0],
      [0, 750],
      [0, 0],
      [1, 100],
    ],
  );
  assert.deepEqual(await stats.jobsDone(['w2', 'nobody', 'w1']), [2, 0, 2]);
  assert.deepEqual(await stats.workers(['w2']), [{ jobsDone: 2, busyMs: 40_150 }]);
  assert.deepEqual(await stats.jobsDone([]), []);
});

test('buckets, minute windows and busy ratios are decided by pure functions', () => {
  assert.equal(bucketBound(0), '1');
  assert.equal(bucketBound(1), '1');
  assert.equal(bucketBound(1.001), '5');
  assert.equal(bucketBound(3600), '3600');
  assert.equal(bucketBound(3600.5), 'inf');
  assert.equal(minuteStarts(0, 10 * MINUTE + 5).length, 1);
  assert.equal(minuteStarts(10_000, Date.now()).length, THROUGHPUT_MAX_MINUTES);
  assert.deepEqual(minuteStarts(2, 10 * MINUTE + 5), [9 * MINUTE, 10 * MINUTE]);
  assert.equal(safeCode('MEDIA_CORRUPT'), 'MEDIA_CORRUPT');
  for (const junk of [
    undefined,
    '',
    'job stalled more than allowable limit',
    'a:b',
    'X'.repeat(80),
  ]) {
    assert.equal(safeCode(junk), 'OTHER', String(junk));
  }
  // Two slots for 10 s, busy 5 s: a quarter.
  assert.equal(busyRatio(5000, 0, 2, 10_000), 0.25);
  assert.equal(busyRatio(50_000, 0, 1, 10_000), 1, 'never above 1');
  assert.equal(busyRatio(0, 10_000, 1, 10_000), 0, 'just started');
});

test('what it keeps is bounded: minutes and workers expire, codes cannot grow the hash', async () => {
  const { queue, stats, now } = freshStats();
  await stats.record({
    at: now,
    worker: { id: 'w1', busyMs: 10, jobsDone: 1 },
    outcome: outcome({}),
  });
  const minuteTtl = await client.pttl(keys.statsMinute(queue, minuteOf(now)));
  assert.ok(minuteTtl > 0, 'a minute expires');
  assert.ok(minuteTtl <= (THROUGHPUT_MAX_MINUTES + 5) * MINUTE, `${minuteTtl} ms`);
  assert.ok(minuteTtl >= (THROUGHPUT_MAX_MINUTES - 1) * MINUTE, 'kept for the longest window');
  const workerTtl = await client.ttl(keys.statsWorker(queue, 'w1'));
  assert.ok(workerTtl > 0 && workerTtl <= 7 * 24 * 3600, `${workerTtl} s`);

  // An end recorded long after it happened (a worker cut off from Redis) leaves no minute behind.
  const late = now - 4 * 3600_000;
  await stats.record({ at: late, outcome: outcome({}) });
  assert.equal(await client.exists(keys.statsMinute(queue, minuteOf(late))), 0);

  for (let i = 0; i < 50; i++) {
    await stats.record({
      at: now,
      outcome: outcome({ status: 'failed', code: `not a code ${i}`, proxies: 0, frames: 0 }),
    });
  }
  const fields = await client.hkeys(keys.stats(queue));
  assert.deepEqual(
    fields.filter((f) => f.startsWith('failed:')),
    ['failed:clip:OTHER'],
  );
  assert.ok(fields.length < 40, `${fields.length} fields`);
  assert.equal(await client.ttl(keys.stats(queue)), -1, 'the totals outlive any gateway');
  const totals = await stats.totals();
  assert.deepEqual(totals.failed, [{ kind: 'clip', code: 'OTHER', count: 50 }]);
  await assert.rejects(
    stats.record({ at: Number.NaN, outcome: outcome({}) }),
    /at/,
    'a bad end is refused, not stored',
  );
});

/**
 * A queue with a real BullMQ worker whose job ends go through the recorder, as
 * encoder-image/worker.ts wires it; everything is closed and removed after `body`.
 */
async function withRecordingWorker(
  stats: ReturnType<typeof createFarmStats>,
  fn: (job: Job, token: string | undefined) => Promise<unknown>,
  body: (queue: Queue, events: QueueEvents) => Promise<void>,
): Promise<void> {
  const queueName = freshQueueName();
  const connection = { url: redis.url };
  const queue = new Queue(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  await events.waitUntilReady();
  const recorder = createJobStats({ stats, workerId: 'w-test', logger: silentLogger });
  const worker = new Worker(queueName, recorder.wrap(fn), { connection, concurrency: 1 });
  worker.on('error', () => {});
  worker.on('completed', (job, result) => recorder.completed(job, result));
  worker.on('failed', (job, err) => recorder.failed(job, err));
  try {
    await body(queue, events);
  } finally {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

test('a job retried twice then failed counts one failure, with every attempt as busy time', async () => {
  const { stats } = freshStats();
  let runs = 0;
  let handedOn = false;
  const processJob = async (job: Job, token: string | undefined) => {
    await new Promise((r) => setTimeout(r, 60));
    if (job.id === 'flaky') {
      runs++;
      throw new Error(encodeJobError(new ProximaError('NO_SPACE', 'disk full', 'free some')));
    }
    if (job.id === 'corrupt') {
      throw new UnrecoverableError(encodeJobError(new MediaError('MEDIA_CORRUPT', 'bad', 'copy')));
    }
    // Handed on once (like a source this worker cannot see), then done here.
    if (!handedOn) {
      handedOn = true;
      await job.moveToDelayed(Date.now() + 50, token);
      throw new DelayedError();
    }
    return encodeResult('/p/ok.mov');
  };
  await withRecordingWorker(stats, processJob, async (queue, events) => {
    const opts = { attempts: 3, backoff: { type: 'fixed', delay: 50 } };
    await queue.add('encode', {}, { ...opts, jobId: 'flaky' });
    await queue.add('encode', {}, { ...opts, jobId: 'corrupt' });
    await queue.add('encode', {}, { ...opts, jobId: 'ok' });
    // Not one of ours: no counts.
    await queue.add('probe', {}, { jobId: 'probe-1' });
    for (const id of ['flaky', 'corrupt']) {
      await assert.rejects((await queue.getJob(id))!.waitUntilFinished(events, 20_000));
    }
    await (await queue.getJob('ok'))!.waitUntilFinished(events, 20_000);
    assert.equal(runs, 3);

    const totals = await until(async () => {
      const t = await stats.totals();
      const n = t.failed.reduce((s, f) => s + f.count, 0) + t.completed.length;
      return n >= 3 ? t : undefined;
    }, 'the ends to be recorded');
    assert.deepEqual(totals.failed, [
      { kind: 'clip', code: 'MEDIA_CORRUPT', count: 1 },
      { kind: 'clip', code: 'NO_SPACE', count: 1 },
    ]);
    assert.deepEqual(totals.completed, [{ kind: 'clip', count: 1 }]);
    const run = totals.durations.find((d) => d.name === 'run')!.histogram;
    assert.equal(run.count, 3, 'one duration per job, not per attempt');
    await until(async () => (await stats.jobsDone(['w-test']))[0] === 3, 'jobs done');
    // 3 + 1 + 2 runs of at least 60 ms each, the retried and handed-on ones included.
    const [work] = await stats.workers(['w-test']);
    assert.ok(work!.busyMs >= 6 * 60, `busy ${work!.busyMs} ms`);
    assert.equal((await stats.throughput(1, Date.now()))[0]!.proxies, 1);
  });
});

test('a statistics write that fails never fails the job', async () => {
  const dead = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  dead.disconnect();
  const stats = createFarmStats(dead, freshQueueName());
  await assert.rejects(stats.record({ at: Date.now(), outcome: outcome({}) }));
  const processJob = async () => encodeResult('/p/a.mov');
  await withRecordingWorker(stats, processJob, async (queue, events) => {
    const job = await queue.add('encode', {}, { jobId: 'a' });
    const result = (await job.waitUntilFinished(events, 20_000)) as { proxyPath: string };
    assert.equal(result.proxyPath, '/p/a.mov');
    assert.equal(await queue.getJobState('a'), 'completed');
  });
});
