import assert from 'node:assert/strict';
import { jobQueueName } from '../core/job/keys.ts';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { pino } from 'pino';
import { decodeJobError } from '../core/job/job-error.ts';
import { encodeResultSchema, type EncodeJob, type Progress } from '../core/job/contract.ts';
import { startWorker, type RunningWorker } from '../encoder-image/worker.ts';
import { makeTestMedia, probeFile, type TestMedia } from './helpers/media.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { jobFor, testConfig } from './helpers/worker-jobs.ts';

let redis: TestRedis;
let media: TestMedia;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-worker-'));
const root = path.join(work, 'proxies');

before(async () => {
  redis = await startRedis();
  media = await makeTestMedia(path.join(work, 'media'));
});
after(async () => {
  await redis.stop();
});

function allFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

async function runQueue(
  files: string[],
  fn: (q: Queue<EncodeJob>, events: QueueEvents, worker: RunningWorker) => Promise<void>,
) {
  const config = testConfig(redis.url, root);
  const connection = { url: redis.url };
  const q = new Queue<EncodeJob>(jobQueueName(config.broker.queue), { connection });
  const events = new QueueEvents(jobQueueName(config.broker.queue), { connection });
  await events.waitUntilReady();
  const worker = await startWorker({
    brokerUrl: redis.url,
    config,
    logger: pino({ level: 'silent' }),
    concurrency: 2,
    searchPath: process.env.PATH ?? '',
  });
  try {
    void files;
    await fn(q, events, worker);
  } finally {
    await worker.close();
    await events.close();
    await q.obliterate({ force: true });
    await q.close();
  }
}

const opts = { attempts: 3, backoff: { type: 'fixed', delay: 200 } };

test('every kind of camera file becomes a verified proxy; bad ones fail once with a reason', async () => {
  const good = [
    'h264-stereo',
    'h264-10bit-422-4mono',
    'no-audio',
    'h264-23976',
    'vfr',
    'interlaced-mpeg2-mxf',
    'rotated-phone',
    'nonAscii',
  ] as const;
  await runQueue([], async (q, events) => {
    const progress = new Map<string, Progress>();
    events.on('progress', ({ jobId, data }) => progress.set(jobId, data as Progress));
    const jobs = [...good.map((k) => jobFor(media[k], root))];
    const bad = {
      truncated: jobFor(media.truncated, root),
      missing: jobFor(path.join(work, 'media', 'gone.mov'), root),
      still: jobFor(media['still-png'], root),
    };
    for (const j of [...jobs, ...Object.values(bad)])
      await q.add('encode', j.data, { ...opts, jobId: j.id });

    for (const j of jobs) {
      const job = (await q.getJob(j.id))!;
      const result = encodeResultSchema.parse(await job.waitUntilFinished(events, 120_000));
      assert.equal(result.reused, false);
      assert.equal(result.proxyPath, j.data.proxyPath);
      const source = await probeFile(j.data.source.path);
      const proxy = await probeFile(j.data.proxyPath);
      const name = path.basename(j.data.source.path);
      assert.equal(proxy.video?.codec, 'prores', name);
      assert.equal(proxy.video!.height % 2, 0, name);
      assert.equal(proxy.video!.width % 2, 0, name);
      assert.ok(proxy.video!.height <= 720, name);
      assert.equal(proxy.audio.length, source.audio.length, name);
      for (const a of proxy.audio) assert.equal(a.sampleRate, 48000, name);
      assert.equal(proxy.timecode, source.timecode, name);
      const frames = source.video!.frameCount!;
      assert.ok(
        Math.abs(proxy.video!.frameCount! - frames) <= 1,
        `${name}: ${proxy.video!.frameCount} vs ${frames}`,
      );
    }
    const phone = await probeFile(jobFor(media['rotated-phone'], root).data.proxyPath);
    assert.ok(phone.video!.height > phone.video!.width, 'phone proxy is portrait');
    assert.equal(phone.video!.rotation, 0);
    assert.ok(progress.size > 0, 'progress was reported');

    for (const [name, j] of Object.entries(bad)) {
      const job = (await q.getJob(j.id))!;
      await assert.rejects(job.waitUntilFinished(events, 60_000));
      const failed = (await q.getJob(j.id))!;
      assert.equal(failed.attemptsMade, 1, `${name} is not retried`);
      const e = decodeJobError(failed.failedReason);
      assert.ok(e.message.length > 10 && e.hint.length > 5, name);
      assert.ok(!existsSync(j.data.proxyPath), `${name}: nothing at the proxy path`);
    }
    assert.equal(
      decodeJobError((await q.getJob(bad.missing.id))!.failedReason).code,
      'SOURCE_MISSING',
    );
    assert.equal(decodeJobError((await q.getJob(bad.still.id))!.failedReason).code, 'STILL_IMAGE');
    const truncated = decodeJobError((await q.getJob(bad.truncated.id))!.failedReason);
    assert.match(truncated.code, /MEDIA_/);
    // The reason names the file once, however ffprobe words its line.
    assert.equal(truncated.message.split(media.truncated).length - 1, 1, truncated.message);
    assert.deepEqual(
      allFiles(root).filter((f) => f.includes('.partial')),
      [],
      'no temp files left',
    );

    // Queueing the same clip again encodes nothing: same id, and a fresh job reuses the proxy.
    const again = jobFor(media['h264-stereo'], root);
    const before = statSync(again.data.proxyPath).mtimeMs;
    await q.add('encode', again.data, { ...opts, jobId: again.id });
    assert.equal((await q.getJobCounts('wait', 'active')).wait ?? 0, 0);
    await q.add('encode', again.data, { ...opts, jobId: `${again.id}-fresh` });
    const reused = encodeResultSchema.parse(
      await (await q.getJob(`${again.id}-fresh`))!.waitUntilFinished(events, 60_000),
    );
    assert.equal(reused.reused, true);
    assert.equal(statSync(again.data.proxyPath).mtimeMs, before);
  });
});

test('dnxhr-lb proxies are DNxHR in a mov with the source timecode', async () => {
  await runQueue([], async (q, events) => {
    const j = jobFor(media['h264-stereo'], path.join(root, 'dnx'), 'dnxhr-lb');
    await q.add('encode', j.data, { ...opts, jobId: j.id });
    await (await q.getJob(j.id))!.waitUntilFinished(events, 60_000);
    const proxy = await probeFile(j.data.proxyPath);
    assert.equal(proxy.video?.codec, 'dnxhd');
    assert.equal(proxy.timecode, '01:00:00:00');
  });
});
