import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../core/config/schema.ts';
import { MediaError } from '../core/errors.ts';
import {
  batchEventSchema,
  enqueueResponseSchema,
  healthResponseSchema,
  type BatchEvent,
  type EnqueueResponse,
} from '../core/job/contract.ts';
import { encodeJobError } from '../core/job/job-error.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import type { QueueEvent } from '../gateway/queue/job-queue.ts';
import { startGateway } from '../gateway/server.ts';
import {
  encodeResult,
  freshQueueName,
  gatewayHarness,
  post,
  silentLogger,
  sourceRef,
  startTestWorker,
  until,
  type GatewayHarness,
} from './helpers/gateway-fixture.ts';
import { sseReader, type SseReader } from './helpers/gateway-sse.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

async function enqueue(h: GatewayHarness, paths: string[]): Promise<EnqueueResponse> {
  const res = await post(h.app, '/v1/batches', {
    v: PROTOCOL_VERSION,
    sources: paths.map((p) => sourceRef(p)),
  });
  assert.equal(res.status, 201);
  return enqueueResponseSchema.parse(await res.json());
}

async function openEvents(h: GatewayHarness, batchId: string): Promise<SseReader> {
  const res = await h.app.request(`/v1/batches/${batchId}/events`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.ok(res.body);
  return sseReader(res.body);
}

/** The next event, checked against the contract, with the SSE event name matching its type. */
async function nextEvent(reader: SseReader): Promise<BatchEvent | null> {
  const m = await reader.next();
  if (!m) return null;
  const event = batchEventSchema.parse(JSON.parse(m.data));
  assert.equal(m.event, event.type);
  return event;
}

async function eventsUntilEnd(reader: SseReader): Promise<BatchEvent[]> {
  const events: BatchEvent[] = [];
  for (let e = await nextEvent(reader); e; e = await nextEvent(reader)) events.push(e);
  return events;
}

test('the event stream follows a batch from snapshot to done, then ends', async () => {
  const h = await gatewayHarness(redis.url, { config: { worker: { attempts: 1 } } });
  try {
    // Another batch on the same queue, queued first so the worker runs it while the stream is
    // open: its events must not leak into this stream.
    const foreign = await enqueue(h, ['/media/ev/foreign.mp4']);
    const foreignId = foreign.batch.jobs[0]!.id;
    const { batch } = await enqueue(h, ['/media/ev/good.mp4', '/media/ev/bad.mp4']);
    const [goodId, badId] = batch.jobs.map((j) => j.id) as [string, string];
    const reader = await openEvents(h, batch.id);
    const first = await nextEvent(reader);
    assert.equal(first?.type, 'snapshot');
    assert.deepEqual(first.type === 'snapshot' && first.batch, batch);

    const proxyPath = batch.jobs[0]!.proxyPath;
    const w = startTestWorker(redis.url, h.config.broker.queue, async (job) => {
      if (job.id === foreignId) {
        await job.updateProgress({ pct: 10, frame: 1, fps: 1, speed: 1, outSec: 1 });
        return encodeResult('/p/foreign.mov');
      }
      if (job.id === badId) {
        throw new Error(
          encodeJobError(
            new MediaError('NO_VIDEO', 'bad.mp4 has no video stream', 'queue video files only'),
          ),
        );
      }
      await job.updateProgress({ pct: 50, frame: 24, fps: 48, speed: 2, outSec: 1 });
      await job.updateProgress({ pct: 100, frame: 48, fps: 48, speed: 2, outSec: 2 });
      return encodeResult(proxyPath);
    });
    let events: BatchEvent[];
    try {
      events = await eventsUntilEnd(reader);
    } finally {
      await w.close();
    }

    const ids = (e: BatchEvent) => ('jobId' in e ? e.jobId : null);
    assert.ok(!events.some((e) => ids(e) === foreignId), 'no events of another batch');
    assert.ok(events.every((e) => e.type !== 'snapshot'));
    const progress = events.filter((e) => e.type === 'progress');
    assert.ok(progress.length >= 1, 'at least one progress event');
    assert.ok(progress.every((e) => e.jobId === goodId));
    assert.deepEqual(progress.at(-1)?.type === 'progress' && progress.at(-1)!.progress, {
      pct: 100,
      frame: 48,
      fps: 48,
      speed: 2,
      outSec: 2,
    });
    assert.deepEqual(
      events.find((e) => e.type === 'completed'),
      { type: 'completed', jobId: goodId, result: encodeResult(proxyPath) },
    );
    assert.deepEqual(
      events.find((e) => e.type === 'failed'),
      {
        type: 'failed',
        jobId: badId,
        error: {
          code: 'NO_VIDEO',
          message: 'bad.mp4 has no video stream',
          hint: 'queue video files only',
        },
      },
    );
    // Finished jobs come before done, and done is last with the final counts.
    const types = events.map((e) => e.type);
    assert.ok(types.indexOf('completed') < types.indexOf('done'));
    assert.ok(types.indexOf('failed') < types.indexOf('done'));
    assert.deepEqual(events.at(-1), {
      type: 'done',
      counts: { total: 2, waiting: 0, active: 0, completed: 1, failed: 1 },
    });
    assert.equal(await reader.next(), null, 'the stream ends after done');
  } finally {
    await h.close();
  }
});

test('a finished batch gets its snapshot and done at once', async () => {
  const h = await gatewayHarness(redis.url);
  try {
    const { batch } = await enqueue(h, ['/media/fin/a.mp4']);
    const w = startTestWorker(redis.url, h.config.broker.queue, async () =>
      encodeResult('/p/a.mov'),
    );
    await until(
      async () => (await h.inspect.getJobState(batch.jobs[0]!.id)) === 'completed',
      'the job to complete',
    );
    await w.close();

    const events = await eventsUntilEnd(await openEvents(h, batch.id));
    assert.deepEqual(
      events.map((e) => e.type),
      ['snapshot', 'done'],
    );
    const snapshot = events[0]!;
    assert.ok(snapshot.type === 'snapshot');
    assert.equal(snapshot.batch.jobs[0]!.state, 'completed');
    assert.deepEqual(snapshot.batch.jobs[0]!.result, encodeResult('/p/a.mov'));
    assert.deepEqual(events[1], {
      type: 'done',
      counts: { total: 1, waiting: 0, active: 0, completed: 1, failed: 0 },
    });
  } finally {
    await h.close();
  }
});

test('purging a watched batch ends its stream with a fresh snapshot and done', async () => {
  const h = await gatewayHarness(redis.url);
  try {
    const { batch } = await enqueue(h, ['/media/pg/a.mp4', '/media/pg/b.mp4']);
    const reader = await openEvents(h, batch.id);
    assert.equal((await nextEvent(reader))?.type, 'snapshot');
    assert.equal((await post(h.app, '/v1/purge', {})).status, 200);
    const events = await eventsUntilEnd(reader);
    const last = events.at(-1);
    assert.deepEqual(last, {
      type: 'done',
      counts: { total: 2, waiting: 0, active: 0, completed: 0, failed: 0 },
    });
    const snapshot = events.filter((e) => e.type === 'snapshot').at(-1);
    assert.ok(snapshot?.type === 'snapshot');
    assert.deepEqual(
      snapshot.batch.jobs.map((j) => j.state),
      ['unknown', 'unknown'],
    );
  } finally {
    await h.close();
  }
});

test('idle streams get heartbeat comments and read nothing of the queue meanwhile; a client that leaves is unsubscribed', async () => {
  let subscribed = 0;
  let reads = 0;
  const h = await gatewayHarness(redis.url, {
    options: { heartbeatMs: 40 },
    wrap: (repos) => ({
      ...repos,
      queue: {
        ...repos.queue,
        states(ids: readonly string[]) {
          reads++;
          return repos.queue.states(ids);
        },
        getJobs(ids: readonly string[]) {
          reads++;
          return repos.queue.getJobs(ids);
        },
        subscribe(listener: (e: QueueEvent) => void) {
          subscribed++;
          const off = repos.queue.subscribe(listener);
          return () => {
            subscribed--;
            off();
          };
        },
      },
    }),
  });
  try {
    const { batch } = await enqueue(h, ['/media/hb/a.mp4']);
    const reader = await openEvents(h, batch.id);
    assert.equal((await nextEvent(reader))?.type, 'snapshot');
    assert.equal(subscribed, 1);
    const readsBefore = reads;
    // No event comes while nothing happens, but heartbeats (every 40 ms) do.
    await assert.rejects(reader.next(400), /timed out/);
    assert.ok(
      reader.comments.filter((c) => c === 'heartbeat').length >= 2,
      `heartbeats: ${JSON.stringify(reader.comments)}`,
    );
    // However many jobs the batch has, an idle stream costs the broker nothing.
    assert.equal(reads - readsBefore, 0);

    await reader.cancel();
    await until(() => subscribed === 0 || undefined, 'the stream to unsubscribe', 5_000);
  } finally {
    await h.close();
  }
});

test('startGateway serves on a real port, streams over HTTP and closes open streams', async () => {
  const proxyRoot = mkdtempSync(path.join(tmpdir(), 'proxima-proxies-'));
  const config = configSchema.parse({
    paths: { proxy_root: proxyRoot },
    broker: { url: redis.url, queue: freshQueueName() },
    gateway: { listen: '127.0.0.1:0', token: 'tok' },
  });
  const gateway = await startGateway({ config, logger: silentLogger, brokerUrl: redis.url });
  let closed = false;
  try {
    assert.match(gateway.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.doesNotMatch(gateway.url, /:0$/);
    const health = await fetch(`${gateway.url}/v1/health`);
    assert.equal(health.status, 200);
    assert.equal(healthResponseSchema.parse(await health.json()).ok, true);

    const auth = { authorization: 'Bearer tok' };
    const res = await fetch(`${gateway.url}/v1/batches`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ v: PROTOCOL_VERSION, sources: [sourceRef('/media/http/a.mp4')] }),
    });
    assert.equal(res.status, 201);
    const { batch } = enqueueResponseSchema.parse(await res.json());

    const stream = await fetch(`${gateway.url}/v1/batches/${batch.id}/events`, {
      headers: { ...auth, accept: 'text/event-stream' },
    });
    assert.equal(stream.status, 200);
    const reader = sseReader(stream.body!);
    const snapshot = batchEventSchema.parse(JSON.parse((await reader.next())!.data));
    assert.equal(snapshot.type, 'snapshot');

    // Nothing will finish the job: closing the gateway must still end the open stream.
    const closing = gateway.close();
    assert.equal(await reader.next(5_000).catch(() => null), null);
    await closing;
    closed = true;
    await assert.rejects(fetch(`${gateway.url}/v1/health`));
  } finally {
    if (!closed) await gateway.close();
  }
});

test('gateway/main.ts refuses to start without broker.url and stops on SIGTERM', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'proxima-gw-main-'));
  const main = fileURLToPath(new URL('../gateway/main.ts', import.meta.url));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PROXIMA_')) env[k] = v;
  const configFile = path.join(root, 'config.yaml');
  writeFileSync(configFile, `gateway:\n  listen: 127.0.0.1:0\npaths:\n  proxy_root: ${root}/p\n`);
  Object.assign(env, { HOME: root, PROXIMA_CONFIG: configFile });

  const run = (extra: NodeJS.ProcessEnv, onStderr?: (text: string) => void) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...env, ...extra },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr);
    });
    const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
      child.once('exit', (code) => resolve({ code, stderr })),
    );
    return { child, exited };
  };

  const missing = await run({}).exited;
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /broker\.url/);
  assert.match(missing.stderr, /PROXIMA_BROKER__URL/);

  let signalled = false;
  const { child, exited } = run(
    { PROXIMA_BROKER__URL: redis.url, PROXIMA_BROKER__QUEUE: freshQueueName() },
    (text) => {
      if (!signalled && text.includes('gateway listening')) {
        signalled = true;
        child.kill('SIGTERM');
      }
    },
  );
  const result = await exited;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /"msg":"gateway listening"/);
  assert.match(result.stderr, /"msg":"gateway stopped"/);
});
