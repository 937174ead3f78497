import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { createFarmStats } from '../core/broker/farm-stats.ts';
import { configSchema } from '../core/config/schema.ts';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { enqueueResponseSchema, type ScaleDecisionView } from '../core/job/contract.ts';
import { decodeJobError } from '../core/job/job-error.ts';
import { throughputResponseSchema } from '../core/job/monitor-contract.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { startWorker, type RunningWorker } from '../encoder-image/worker.ts';
import { createApp } from '../gateway/app.ts';
import { createMetrics } from '../gateway/metrics.ts';
import {
  freshQueueName,
  gatewayHarness,
  post,
  silentLogger,
  until,
  type GatewayHarness,
} from './helpers/gateway-fixture.ts';
import { runFfmpeg } from './helpers/media.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

const TOKEN = 'metrics-test-token';
const bearer = { authorization: `Bearer ${TOKEN}` };

let redis: TestRedis;
let h: GatewayHarness;
let app: ReturnType<typeof createApp>;
let worker: RunningWorker | undefined;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-metrics-'));
const good: string[] = [];
let corrupt = '';

before(async () => {
  redis = await startRedis();
  const media = path.join(work, 'media');
  mkdirSync(media, { recursive: true });
  // Three clips of different lengths, and one whose index was cut off: nothing can decode it.
  for (const [i, seconds] of [0.4, 0.6, 0.8].entries()) {
    const file = path.join(media, `A00${i + 1}.mov`);
    await runFfmpeg(sampleClipArgs('h264-stereo', file, { width: 320, height: 180, seconds }));
    good.push(file);
  }
  const whole = path.join(work, 'whole.mp4');
  await runFfmpeg(sampleClipArgs('vfr', whole, { width: 320, height: 180, seconds: 1 }));
  corrupt = path.join(media, 'B001.mp4');
  const bytes = readFileSync(whole);
  writeFileSync(corrupt, bytes.subarray(0, Math.floor(bytes.length * 0.4)));

  h = await gatewayHarness(redis.url, { config: { gateway: { token: TOKEN } } });
  // The gateway's own statistics repository, on its fail-fast command connection.
  app = createApp({ ...h.deps, stats: h.repos.stats });
  worker = await realWorker(h);
});
after(async () => {
  await worker?.close();
  await h.close();
  await redis.stop();
  rmSync(work, { recursive: true, force: true });
});

/** An encoder as `proxima work` runs it, on the harness's queue and proxy root. */
function realWorker(harness: GatewayHarness): Promise<RunningWorker> {
  return startWorker({
    brokerUrl: redis.url,
    config: configSchema.parse({
      paths: { proxy_root: harness.proxyRoot },
      broker: { url: redis.url, queue: harness.config.broker.queue },
      worker: { lock_seconds: 5, nice: 0, stop_seconds: 5 },
    }),
    logger: silentLogger,
    concurrency: 2,
    searchPath: process.env.PATH ?? '',
  });
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE_LINE = new RegExp(
  `^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (-?[0-9]+(?:\\.[0-9]+)?(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$`,
);
const HELP_LINE = new RegExp(`^# HELP (${NAME}) .+$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

/**
 * Prometheus's text format, strictly: every line a HELP or TYPE comment, a blank line, or
 * `name{label="value",...} number`; each sample of a family declared by a TYPE line before it
 * (a histogram's as name_bucket with an le label, name_sum and name_count). Throws on the first
 * line that is not.
 */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    if (line === '' || HELP_LINE.test(line)) continue;
    const type = TYPE_LINE.exec(line);
    if (type) {
      assert.ok(!types.has(type[1]!), `line ${i + 1}: ${type[1]} declared twice`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    const m = SAMPLE_LINE.exec(line);
    assert.ok(m, `line ${i + 1} is not a sample: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!;
    }
    const name = m[1]!;
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(family), `line ${i + 1}: ${name} has no TYPE before it`);
    if (types.get(family) === 'histogram') {
      assert.notEqual(name, family, `line ${i + 1}: a histogram sample needs its suffix`);
      if (name.endsWith('_bucket')) assert.ok('le' in labels, `line ${i + 1}: bucket without le`);
    }
    samples.push({ name, labels, value: Number(m[3]!.replace('Inf', 'Infinity')) });
  }
  return { samples, types };
}

function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = find(samples, name, labels);
  assert.equal(found.length, 1, `one ${name}${JSON.stringify(labels)}: ${JSON.stringify(found)}`);
  return found[0]!.value;
}

async function scrape(headers: Record<string, string> = bearer) {
  const res = await app.request('/metrics', { headers });
  const text = await res.text();
  return {
    res,
    text,
    ...(res.status === 200 ? parseExposition(text) : { samples: [], types: new Map() }),
  };
}

let jobIds: string[] = [];

test('a real batch through a real worker: /metrics counts what completed and what failed, once', async () => {
  const sources = [...good, corrupt].map((p) => {
    const st = statSync(p);
    return { path: p, size: st.size, mtimeMs: st.mtimeMs };
  });
  const res = await post(h.app, '/v1/batches', { v: PROTOCOL_VERSION, sources }, bearer);
  assert.equal(res.status, 201, await res.clone().text());
  const queued = enqueueResponseSchema.parse(await res.json());
  jobIds = queued.batch.jobs.map((j) => j.id);
  const states = await until(
    async () => {
      const s = await Promise.all(jobIds.map((id) => h.inspect.getJobState(id)));
      return s.every((x) => x === 'completed' || x === 'failed') ? s : undefined;
    },
    'the batch to finish',
    120_000,
  );
  assert.equal(states.filter((s) => s === 'completed').length, 3);
  assert.equal(states.filter((s) => s === 'failed').length, 1);
  const failedJob = (await h.inspect.getJob(jobIds[states.indexOf('failed')]!))!;
  const code = decodeJobError(failedJob.failedReason).code;
  assert.match(code, /^MEDIA_/);
  let frames = 0;
  for (const [i, id] of jobIds.entries()) {
    if (states[i] === 'completed')
      frames += ((await h.inspect.getJob(id))!.returnvalue as { frames: number }).frames;
  }
  assert.ok(frames > 20, `${frames} frames`);

  // Workers record a job's end right after BullMQ moved it: a moment later than its state.
  const {
    res: ok,
    text,
    samples,
    types,
  } = await until(async () => {
    const s = await scrape();
    const done = find(s.samples, 'proxima_jobs_completed_total', { kind: 'clip' })[0];
    const bad = find(s.samples, 'proxima_jobs_failed_total', { kind: 'clip' })[0];
    return done?.value === 3 && bad?.value === 1 ? s : undefined;
  }, 'the job ends in /metrics');
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  console.log(`FIGURE: /metrics after a batch of 4: ${text.split('\n').length} lines`);

  assert.equal(value(samples, 'proxima_redis_up'), 1);
  assert.equal(value(samples, 'proxima_jobs_completed_total', { kind: 'clip' }), 3);
  assert.equal(value(samples, 'proxima_jobs_failed_total', { kind: 'clip', code }), 1);
  assert.equal(find(samples, 'proxima_jobs_failed_total').length, 1, 'no other failure');
  assert.equal(find(samples, 'proxima_jobs_completed_total', { kind: 'chunk' }).length, 0);
  assert.equal(value(samples, 'proxima_queue_jobs', { state: 'completed' }), 3);
  assert.equal(value(samples, 'proxima_queue_jobs', { state: 'failed' }), 1);
  assert.equal(value(samples, 'proxima_queue_jobs', { state: 'waiting' }), 0);
  for (const hist of ['proxima_queue_wait_seconds', 'proxima_encode_duration_seconds']) {
    assert.equal(types.get(hist), 'histogram');
    assert.equal(value(samples, `${hist}_count`, { kind: 'clip' }), 4, `${hist}: one per job run`);
    assert.equal(value(samples, `${hist}_bucket`, { kind: 'clip', le: '+Inf' }), 4);
    const buckets = find(samples, `${hist}_bucket`, { kind: 'clip' }).map((s) => s.value);
    assert.deepEqual(
      buckets,
      [...buckets].sort((a, b) => a - b),
      `${hist}: cumulative`,
    );
    assert.ok(value(samples, `${hist}_sum`, { kind: 'clip' }) > 0);
  }
  assert.equal(value(samples, 'proxima_proxies_written_total'), 3);
  assert.equal(value(samples, 'proxima_frames_encoded_total'), frames);
  assert.ok(value(samples, 'proxima_encoded_frames_per_second') >= 0);
  const labels = { worker: worker!.id };
  assert.equal(value(samples, 'proxima_worker_jobs_done', labels), 4);
  const busy = value(samples, 'proxima_worker_busy_ratio', labels);
  assert.ok(busy > 0 && busy <= 1, `busy ratio ${busy}`);
  assert.ok(find(samples, 'proxima_worker_busy_ratio', labels)[0]!.labels.host);
  // No autoscaler: no made-up encoder counts.
  assert.equal(find(samples, 'proxima_encoders_desired').length, 0);
  assert.equal(find(samples, 'proxima_encoders_actual').length, 0);

  // The monitor's chart: the same proxies and frames, in the minutes they were written.
  const tr = await app.request('/v1/throughput?minutes=5', { headers: bearer });
  assert.equal(tr.status, 200);
  const { minutes } = throughputResponseSchema.parse(await tr.json());
  assert.equal(minutes.length, 5);
  assert.deepEqual(
    minutes.map((m) => m.at),
    [...minutes.map((m) => m.at)].sort((a, b) => a - b),
  );
  assert.equal(
    minutes.reduce((s, m) => s + m.proxies, 0),
    3,
  );
  assert.equal(
    minutes.reduce((s, m) => s + m.frames, 0),
    frames,
  );
  const dflt = throughputResponseSchema.parse(
    await (await app.request('/v1/throughput', { headers: bearer })).json(),
  );
  assert.equal(dflt.minutes.length, 60);
  for (const bad of ['0', '181', 'x', '1.5']) {
    const r = await app.request(`/v1/throughput?minutes=${bad}`, { headers: bearer });
    assert.equal(r.status, 400, bad);
  }
});

test('/metrics follows the API token rules', async () => {
  const none = await app.request('/metrics');
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /Bearer/);
  const wrong = await app.request('/metrics', { headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
  assert.equal((await app.request('/metrics', { headers: bearer })).status, 200);
  assert.equal((await app.request('/v1/throughput')).status, 401);
});

test('a chunked clip: its chunks count their frames, the clip its proxy, each once', async () => {
  const long = path.join(work, 'media', 'L001.mov');
  await runFfmpeg(sampleClipArgs('h264-stereo', long, { width: 320, height: 180, seconds: 3 }));
  const hc = await gatewayHarness(redis.url, {
    config: { gateway: { token: TOKEN }, chunking: { min_seconds: 1, chunk_seconds: 1 } },
  });
  const appc = createApp({ ...hc.deps, stats: hc.repos.stats });
  const w = await realWorker(hc);
  try {
    const st = statSync(long);
    const res = await post(
      hc.app,
      '/v1/batches',
      { v: PROTOCOL_VERSION, sources: [{ path: long, size: st.size, mtimeMs: st.mtimeMs }] },
      bearer,
    );
    assert.equal(res.status, 201);
    const id = enqueueResponseSchema.parse(await res.json()).batch.jobs[0]!.id;
    await until(
      async () => (await hc.inspect.getJobState(id)) === 'completed',
      'the clip',
      120_000,
    );
    const result = (await hc.inspect.getJob(id))!.returnvalue as { frames: number; chunks: number };
    assert.ok(result.chunks >= 2, `${result.chunks} chunks`);
    const samples = await until(async () => {
      const r = await appc.request('/metrics', { headers: bearer });
      const s = parseExposition(await r.text()).samples;
      return find(s, 'proxima_jobs_completed_total', { kind: 'clip' })[0]?.value === 1 &&
        find(s, 'proxima_jobs_completed_total', { kind: 'chunk' })[0]?.value === result.chunks
        ? s
        : undefined;
    }, 'the clip and its chunks in /metrics');
    assert.equal(value(samples, 'proxima_proxies_written_total'), 1);
    assert.equal(value(samples, 'proxima_frames_encoded_total'), result.frames, 'not twice');
    assert.equal(
      value(samples, 'proxima_queue_wait_seconds_count', { kind: 'chunk' }),
      result.chunks,
    );
    assert.equal(value(samples, 'proxima_queue_wait_seconds_count', { kind: 'clip' }), 1);
    // The clip waited until it was split, not until it was taken again to be joined.
    const wait = value(samples, 'proxima_queue_wait_seconds_sum', { kind: 'clip' });
    const run = value(samples, 'proxima_encode_duration_seconds_sum', { kind: 'clip' });
    assert.ok(wait < run, `clip waited ${wait} s, ran ${run} s`);
    assert.equal(value(samples, 'proxima_worker_jobs_done', { worker: w.id }), result.chunks + 1);
  } finally {
    await w.close();
    await hc.close();
  }
});

test('with Redis gone a scrape still answers at once, with redis_up 0', async () => {
  await worker?.close();
  worker = undefined;
  await redis.kill();
  try {
    const started = performance.now();
    const { res, samples } = await scrape();
    const ms = performance.now() - started;
    console.log(`FIGURE: /metrics with Redis down: ${Math.round(ms)} ms`);
    assert.equal(res.status, 200);
    assert.ok(ms < 3000, `${ms} ms`);
    assert.equal(value(samples, 'proxima_redis_up'), 0);
    for (const name of [
      'proxima_jobs_completed_total',
      'proxima_queue_jobs',
      'proxima_frames_encoded_total',
      'proxima_queue_wait_seconds_count',
    ]) {
      assert.equal(find(samples, name).length, 0, `${name}: no sample without Redis`);
    }
  } finally {
    await redis.restart();
  }
  await until(async () => {
    const s = await scrape();
    return find(s.samples, 'proxima_redis_up')[0]?.value === 1;
  }, 'redis_up 1 again');
  // BullMQ's QueueEvents.close() hangs while its connection is still coming back, so the
  // harness closes only once the gateway's blocking event read is there again.
  const look = new Redis(redis.url);
  try {
    await until(
      async () => String(await look.client('LIST')).includes('cmd=xread'),
      'events again',
    );
  } finally {
    look.disconnect();
  }
});

test('the text parses, with encoder counts from the autoscaler and stored buckets', async () => {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    const queue = freshQueueName();
    const stats = createFarmStats(client, queue);
    await stats.record({
      at: Date.now(),
      outcome: {
        kind: 'chunk',
        status: 'completed',
        waitSec: 7,
        runSec: 45,
        proxies: 0,
        frames: 750,
      },
    });
    const decision = { desired: 3, current: 1 } as ScaleDecisionView;
    const metrics = createMetrics({
      queue: {
        counts: async () => ({ waiting: 2, active: 1, delayed: 0, completed: 0, failed: 0 }),
        ping: async () => {},
      },
      workers: { list: async () => [] },
      stats,
      autoscaler: { backend: { kind: 'docker' }, reconciler: { decisions: () => [decision] } },
      logger: silentLogger,
    });
    const { samples, types } = parseExposition(await metrics.render());
    assert.equal(value(samples, 'proxima_encoders_desired', { backend: 'docker' }), 3);
    assert.equal(value(samples, 'proxima_encoders_actual', { backend: 'docker' }), 1);
    assert.equal(
      value(samples, 'proxima_queue_wait_seconds_bucket', { kind: 'chunk', le: '5' }),
      0,
    );
    assert.equal(
      value(samples, 'proxima_queue_wait_seconds_bucket', { kind: 'chunk', le: '15' }),
      1,
    );
    assert.equal(value(samples, 'proxima_encode_duration_seconds_sum', { kind: 'chunk' }), 45);
    assert.equal(value(samples, 'proxima_queue_jobs', { state: 'waiting' }), 2);
    assert.ok(
      [...types.keys()].every((n) => n.startsWith('proxima_')),
      'every name is ours',
    );

    // The dashboard has a panel for every metric the gateway exports.
    const dashboard = JSON.parse(
      readFileSync(new URL('../docs/grafana-proxima.json', import.meta.url), 'utf8'),
    ) as { panels: { targets?: { expr: string }[]; datasource?: unknown }[]; templating: unknown };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const name of types.keys()) assert.ok(exprs.includes(name), `no panel shows ${name}`);
    assert.match(JSON.stringify(dashboard.templating), /"type":"datasource"/);
    for (const p of dashboard.panels.filter((p) => p.targets)) {
      assert.match(JSON.stringify(p.datasource), /\$\{datasource\}|\$\{DS_PROMETHEUS\}/);
    }
  } finally {
    client.disconnect();
  }
});
