import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue, Worker } from 'bullmq';
import { pino } from 'pino';
import { createRedis } from '../core/broker/connection.ts';
import { createFarmStats } from '../core/broker/farm-stats.ts';
import { jobQueueName } from '../core/job/keys.ts';
import { startWorker } from '../encoder-image/worker.ts';
import { until } from './helpers/gateway-fixture.ts';
import { makeClip } from './helpers/cli-media.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { jobFor, testConfig } from './helpers/worker-jobs.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

test('a job failed by the stalled check (its workers died under it too often) is counted once, by the worker whose check failed it', async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'proxima-stalled-'));
  const config = testConfig(redis.url, path.join(work, 'proxies'));
  const name = jobQueueName(config.broker.queue);
  const clip = await makeClip(path.join(work, 'media'), 'F001', 'h264-stereo');
  const { id, data } = jobFor(clip, path.join(work, 'proxies'));
  const client = createRedis(redis.url);
  const queue = new Queue(name, { connection: client });
  // A worker that takes the job and dies with it: its lock runs out, nobody finishes it.
  const doomed = new Worker(name, () => new Promise(() => {}), {
    connection: { url: redis.url },
    lockDuration: 1000,
    // The check is the real worker's to make (one check per interval runs for the queue).
    skipStalledCheck: true,
  });
  doomed.on('error', () => {});
  try {
    await queue.add('encode', data, { jobId: id, attempts: 3 });
    await until(
      async () => (await queue.getJobState(id)) === 'active',
      'the doomed worker to take it',
    );
    // As if its workers had died under it three times already (BullMQ's stalled counter).
    await client.hset(`bull:${name}:${id}`, 'stc', '3');
    await doomed.close(true);
    const worker = await startWorker({
      brokerUrl: redis.url,
      config,
      logger: pino({ level: 'silent' }),
      concurrency: 1,
      searchPath: process.env.PATH ?? '',
    });
    try {
      await until(
        async () => (await queue.getJobState(id)) === 'failed',
        'the stalled check',
        20_000,
      );
      const stats = createFarmStats(client, config.broker.queue);
      const totals = await until(async () => {
        const t = await stats.totals();
        return t.failed.length > 0 ? t : undefined;
      }, 'the failure to be counted');
      assert.deepEqual(totals.failed, [{ kind: 'clip', code: 'JOB_FAILED', count: 1 }]);
      // Still once a few stalled checks later.
      await new Promise((r) => setTimeout(r, 2500));
      assert.deepEqual((await stats.totals()).failed, [
        { kind: 'clip', code: 'JOB_FAILED', count: 1 },
      ]);
    } finally {
      await worker.close();
    }
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await client.quit();
  }
});
