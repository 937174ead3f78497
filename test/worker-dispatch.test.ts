import assert from 'node:assert/strict';
import { jobQueueName } from '../core/job/keys.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { pino } from 'pino';
import { decodeJobError } from '../core/job/job-error.ts';
import { startWorker } from '../encoder-image/worker.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { testConfig } from './helpers/worker-jobs.ts';

let redis: TestRedis;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-dispatch-'));

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

test('a worker runs each job by its name: other kinds through their own processor, unknown kinds refused', async () => {
  const config = testConfig(redis.url, path.join(work, 'proxies'));
  const queueName = jobQueueName(config.broker.queue);
  const connection = { url: redis.url };
  const q = new Queue(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  await events.waitUntilReady();
  const seen: string[] = [];
  const worker = await startWorker({
    brokerUrl: redis.url,
    config,
    logger: pino({ level: 'silent' }),
    concurrency: 1,
    searchPath: process.env.PATH ?? '',
    processors: (ctx) => ({
      echo: async (job) => {
        seen.push(ctx.workerId);
        return { echoed: job.data, ffprobe: ctx.ffprobePath !== '' };
      },
    }),
  });
  try {
    const echo = await q.add('echo', { hello: 'farm' });
    const bogus = await q.add('bogus', {}, { attempts: 3 });
    assert.deepEqual(await echo.waitUntilFinished(events, 30_000), {
      echoed: { hello: 'farm' },
      ffprobe: true,
    });
    assert.deepEqual(seen, [worker.id]);
    await assert.rejects(bogus.waitUntilFinished(events, 30_000));
    const failed = await q.getJob(bogus.id!);
    const e = decodeJobError(failed?.failedReason);
    assert.equal(e.code, 'UNKNOWN_JOB_KIND');
    assert.match(e.message, /"bogus"/);
    // Refused for good: no retry of a kind no worker of this version runs.
    assert.equal(failed?.attemptsMade, 1);
  } finally {
    await worker.close();
    await events.close();
    await q.obliterate({ force: true });
    await q.close();
  }
});
