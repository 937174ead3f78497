import assert from 'node:assert/strict';
import { jobQueueName } from '../core/job/keys.ts';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { pino } from 'pino';
import { encodeResultSchema, type EncodeJob } from '../core/job/contract.ts';
import { decodeJobError } from '../core/job/job-error.ts';
import { startWorker, type RunningWorker } from '../encoder-image/worker.ts';
import { makeClip } from './helpers/cli-media.ts';
import { probeFile } from './helpers/media.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { jobFor, testConfig } from './helpers/worker-jobs.ts';

let redis: TestRedis;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-other-preset-'));
const root = path.join(work, 'proxies');

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

test('a proxy of the other preset at the path is reported, not replaced; --reencode replaces it', async () => {
  const clip = await makeClip(path.join(work, 'media'), 'A001', 'h264-stereo');
  const config = testConfig(redis.url, root);
  const queueName = jobQueueName(config.broker.queue);
  const connection = { url: redis.url };
  const q = new Queue<EncodeJob>(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  await events.waitUntilReady();
  let worker: RunningWorker | undefined;
  try {
    worker = await startWorker({
      brokerUrl: redis.url,
      config,
      logger: pino({ level: 'silent' }),
      concurrency: 1,
      searchPath: process.env.PATH ?? '',
    });
    const opts = { attempts: 3, backoff: { type: 'fixed', delay: 200 } };
    const dnx = jobFor(clip, root, 'dnxhr-lb');
    await q.add('encode', dnx.data, { ...opts, jobId: dnx.id });
    const first = encodeResultSchema.parse(
      await (await q.getJob(dnx.id))!.waitUntilFinished(events, 120_000),
    );
    assert.equal(first.codec, 'dnxhd');
    const written = statSync(dnx.data.proxyPath);

    const prores = jobFor(clip, root, 'prores-proxy');
    assert.equal(prores.data.proxyPath, dnx.data.proxyPath, 'both presets share the proxy path');
    await q.add('encode', prores.data, { ...opts, jobId: prores.id });
    await assert.rejects((await q.getJob(prores.id))!.waitUntilFinished(events, 120_000));
    const failed = (await q.getJob(prores.id))!;
    assert.equal(failed.attemptsMade, 1, 'not retried: retrying cannot change what is on disk');
    const e = decodeJobError(failed.failedReason);
    console.log(`FIGURE: other preset at the proxy path: ${e.code}: ${e.message} (${e.hint})`);
    assert.equal(e.code, 'PROXY_OTHER_PRESET');
    assert.ok(e.message.includes(dnx.data.proxyPath), e.message);
    assert.match(e.message, /dnxhr-lb/);
    assert.match(e.hint, /--reencode/);
    const after = statSync(dnx.data.proxyPath);
    assert.equal(after.ino, written.ino, 'the DNxHR proxy is the same file');
    assert.equal(after.mtimeMs, written.mtimeMs, 'and untouched');
    assert.equal((await probeFile(dnx.data.proxyPath)).video?.codec, 'dnxhd');

    const replace = { ...prores.data, reencode: true };
    await q.add('encode', replace, { ...opts, jobId: `${prores.id}-re` });
    const replaced = encodeResultSchema.parse(
      await (await q.getJob(`${prores.id}-re`))!.waitUntilFinished(events, 120_000),
    );
    assert.equal(replaced.reused, false);
    assert.equal((await probeFile(prores.data.proxyPath)).video?.codec, 'prores');
  } finally {
    await worker?.close();
    await events.close();
    await q.obliterate({ force: true });
    await q.close();
  }
});
