import assert from 'node:assert/strict';
import { jobQueueName } from '../core/job/keys.ts';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createRedis } from '../core/broker/connection.ts';
import { configSchema } from '../core/config/schema.ts';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import {
  batchListResponseSchema,
  batchViewSchema,
  enqueueResponseSchema,
} from '../core/job/contract.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { startWorker, type RunningWorker } from '../encoder-image/worker.ts';
import {
  gatewayHarness,
  post,
  silentLogger,
  until,
  type GatewayHarness,
} from './helpers/gateway-fixture.ts';
import { runFfmpeg } from './helpers/media.ts';
import { startRedis } from './helpers/redis.ts';

const work = mkdtempSync(path.join(tmpdir(), 'proxima-retention-'));
const clip = path.join(work, 'clip.mov');

before(async () => {
  // The smallest real camera-like clip: every job still runs ffprobe, ffmpeg and the verify.
  await runFfmpeg(sampleClipArgs('h264-stereo', clip, { width: 64, height: 36, seconds: 0.2 }));
});
after(() => rmSync(work, { recursive: true, force: true }));

function worker(h: GatewayHarness, brokerUrl: string, concurrency: number): Promise<RunningWorker> {
  return startWorker({
    brokerUrl,
    config: configSchema.parse({
      paths: { proxy_root: h.proxyRoot },
      broker: { url: brokerUrl, queue: h.config.broker.queue },
      worker: { lock_seconds: 10, nice: 0 },
    }),
    logger: silentLogger,
    concurrency,
    searchPath: process.env.PATH ?? '',
  });
}

/** n distinct sources of one clip (hard links: distinct paths, so distinct jobs and proxies). */
let made = 0;
function sources(n: number) {
  const dir = path.join(work, 'media', `set-${made}`);
  mkdirSync(dir, { recursive: true });
  const st = statSync(clip);
  return Array.from({ length: n }, () => {
    const file = path.join(dir, `C${String(made++).padStart(5, '0')}.mov`);
    linkSync(clip, file);
    return { path: file, size: st.size, mtimeMs: st.mtimeMs };
  });
}

async function queueAndFinish(h: GatewayHarness, n: number): Promise<void> {
  for (let left = n; left > 0; left -= 200) {
    const res = await post(h.app, '/v1/batches', {
      v: PROTOCOL_VERSION,
      sources: sources(Math.min(200, left)),
      label: 'retention',
    });
    assert.equal(res.status, 201);
  }
  await until(
    async () => {
      const c = await h.inspect.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
      return Object.values(c).every((v) => v === 0);
    },
    `${n} jobs to finish`,
    300_000,
  );
  assert.equal(await h.inspect.getJobCountByTypes('failed'), 0);
}

interface Memory {
  used: number;
  keys: number;
  stream: number;
  streamLength: number;
}

async function memory(brokerUrl: string, queue: string): Promise<Memory> {
  const client = createRedis(brokerUrl);
  try {
    const info = await client.info('memory');
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1]);
    const events = `bull:${jobQueueName(queue)}:events`;
    const stream = Number((await client.call('MEMORY', 'USAGE', events)) ?? 0);
    return { used, keys: await client.dbsize(), stream, streamLength: await client.xlen(events) };
  } finally {
    await client.quit();
  }
}

test('finished jobs and batch records expire: Redis stays flat 2,000 jobs past broker.result_expires', async () => {
  const redis = await startRedis();
  const keep = 1;
  const h = await gatewayHarness(redis.url, { config: { broker: { result_expires: keep } } });
  // Three slots on two cores: each job is mostly process start-up, which overlaps well.
  const w = await worker(h, redis.url, 3);
  try {
    /** Past the window, then one more job: BullMQ drops old jobs when a later one finishes. */
    const settled = async () => {
      await new Promise((r) => setTimeout(r, keep * 1000 + 1500));
      await queueAndFinish(h, 1);
      await new Promise((r) => setTimeout(r, keep * 1000 + 1500));
      return memory(redis.url, h.config.broker.queue);
    };

    await queueAndFinish(h, 200);
    const warm = await settled();
    const started = performance.now();
    await queueAndFinish(h, 2_000);
    const seconds = (performance.now() - started) / 1000;
    const later = await settled();

    const mb = (n: number) => (n / 1024 / 1024).toFixed(2);
    console.log(`FIGURE: 2,000 real jobs (64x36, 0.2 s clips, 3 slots) in ${seconds.toFixed(0)} s`);
    console.log(
      `FIGURE: Redis used_memory after 200 jobs: ${mb(warm.used)} MiB, ${warm.keys} keys; after 2,200: ${mb(later.used)} MiB, ${later.keys} keys (broker.result_expires ${keep} s)`,
    );
    console.log(
      `FIGURE: BullMQ event stream: ${warm.streamLength} -> ${later.streamLength} entries, ${mb(warm.stream)} -> ${mb(later.stream)} MiB (capped by BullMQ at about 10,000)`,
    );
    console.log(
      `FIGURE: Redis used_memory besides the event stream: ${mb(warm.used - warm.stream)} -> ${mb(later.used - later.stream)} MiB`,
    );
    // Same keys: the jobs and batch records of the window are gone, only the queue's own remain.
    assert.ok(later.keys <= warm.keys + 2, `${warm.keys} -> ${later.keys} keys`);
    // Memory outside the capped event stream does not grow with the jobs done.
    const rest = (m: Memory) => m.used - m.stream;
    assert.ok(
      rest(later) < rest(warm) + 512 * 1024,
      `${mb(rest(warm))} -> ${mb(rest(later))} MiB besides the event stream`,
    );
    assert.ok(later.streamLength <= 11_000, `${later.streamLength} events`);
    const batches = batchListResponseSchema.parse(
      await (await h.app.request('/v1/batches?limit=100')).json(),
    ).batches;
    assert.ok(batches.length <= 1, `${batches.length} batch records left`);
  } finally {
    await w.close();
    await h.close();
    await redis.stop();
  }
});

test('a batch summary (done, failed with reasons, skipped with reasons) survives Redis and gateway restarts', async () => {
  const redis = await startRedis({ durable: true });
  const h = await gatewayHarness(redis.url);
  let again: GatewayHarness | undefined;
  let first: GatewayHarness | undefined = h;
  try {
    const [good] = sources(1);
    const broken = path.join(work, 'media', 'broken.mp4');
    const whole = path.join(work, 'whole.mp4');
    await runFfmpeg(sampleClipArgs('vfr', whole, { width: 64, height: 36, seconds: 0.5 }));
    const bytes = readFileSync(whole);
    writeFileSync(broken, bytes.subarray(0, Math.floor(bytes.length * 0.4)));
    const st = statSync(broken);
    const skipped = [
      { path: path.join(work, 'media', 'poster.png'), reason: 'a still image' },
      { path: path.join(work, 'media', 'room tone.wav'), reason: 'audio only' },
    ];
    const res = await post(h.app, '/v1/batches', {
      v: PROTOCOL_VERSION,
      sources: [good, { path: broken, size: st.size, mtimeMs: st.mtimeMs }],
      skipped,
      label: 'Day 1',
    });
    assert.equal(res.status, 201);
    const { batch } = enqueueResponseSchema.parse(await res.json());
    assert.deepEqual(batch.skipped, skipped);

    const w = await worker(h, redis.url, 1);
    const view = async (harness: GatewayHarness) =>
      batchViewSchema.parse(await (await harness.app.request(`/v1/batches/${batch.id}`)).json());
    let before;
    try {
      before = await until(
        async () => {
          const v = await view(h);
          return v.counts.completed + v.counts.failed === 2 && v;
        },
        'both jobs to finish',
        60_000,
      );
    } finally {
      await w.close();
    }
    assert.deepEqual(before.counts, { total: 2, waiting: 0, active: 0, completed: 1, failed: 1 });
    const failed = before.jobs.find((j) => j.state === 'failed')!;
    assert.equal(failed.source, broken);
    assert.ok(failed.error && failed.error.message.length > 0 && failed.error.hint.length > 0);
    assert.deepEqual(before.skipped, skipped);

    // The gateway goes, Redis is killed and comes back from its append-only file, a new gateway.
    await h.close({ keepQueue: true });
    first = undefined;
    await redis.kill();
    await redis.restart();
    again = await gatewayHarness(redis.url, {
      config: { broker: { queue: h.config.broker.queue } },
    });
    const after = await view(again);
    assert.deepEqual(after, before);
    const listed = batchListResponseSchema
      .parse(await (await again.app.request('/v1/batches')).json())
      .batches.find((b) => b.id === batch.id);
    assert.deepEqual(listed?.skipped, skipped);
    assert.deepEqual(listed?.counts, before.counts);
  } finally {
    await first?.close();
    await again?.close();
    await redis.stop();
  }
});
