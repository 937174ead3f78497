import assert from 'node:assert/strict';
import { jobQueueName } from '../core/job/keys.ts';
import { after, before, test } from 'node:test';
import { Worker } from 'bullmq';
import { autoscaleResponseSchema } from '../core/job/contract.ts';
import { decideScale } from '../gateway/autoscale/policy.ts';
import { activityOf } from '../gateway/autoscale/reconciler.ts';
import { renderStatus } from '../cli/commands/status.ts';
import { gatewayHarness } from './helpers/gateway-fixture.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

test('the load counts waiting, prioritized, due delayed and active jobs, as BullMQ keeps them', async () => {
  const h = await gatewayHarness(redis.url);
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  const worker = new Worker(jobQueueName(h.config.broker.queue), () => held, {
    connection: { url: redis.url },
  });
  try {
    await h.inspect.add('encode', { n: 1 });
    // The first job becomes active and stays so while the processor waits.
    for (let i = 0; i < 100 && (await h.inspect.getActiveCount()) === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await worker.pause(true);
    await h.inspect.add('encode', { n: 2 });
    await h.inspect.add('encode', { n: 3 });
    // Prioritized jobs are in their own sorted set: a wait-list length misses them.
    await h.inspect.add('encode', { n: 4 }, { priority: 5 });
    await h.inspect.add('encode', { n: 5 }, { priority: 1 });
    // A retry's backoff that has run out is due work; one an hour away is not.
    await h.inspect.add('encode', { n: 6 }, { delay: 20 });
    await h.inspect.add('encode', { n: 7 }, { delay: 3_600_000 });
    await new Promise((r) => setTimeout(r, 100));

    const load = await h.repos.queue.load();
    assert.deepEqual(load, { waiting: 2, prioritized: 2, delayedDue: 1, active: 1 });
    const d = decideScale(
      load,
      [],
      {
        min: 0,
        max: 10,
        jobsPerEncoder: 1,
        scaleUpStep: 10,
        cooldownSeconds: 0,
        scaleToZero: true,
      },
      { lastChangeAt: null },
      Date.now(),
    );
    assert.equal(d.desired, 6);
  } finally {
    release();
    await worker.close();
    await h.close();
  }
});

test('without a backend, /v1/autoscale says none and holds no decisions', async () => {
  const h = await gatewayHarness(redis.url);
  try {
    const res = await h.app.request('/v1/autoscale');
    assert.equal(res.status, 200);
    assert.deepEqual(autoscaleResponseSchema.parse(await res.json()), {
      backend: 'none',
      target: '',
      min: 0,
      max: 4,
      decisions: [],
    });
  } finally {
    await h.close();
  }
});

test('registered workers map to their container or pod: busy wins over idle for one name', () => {
  const a = activityOf([
    { host: 'node-1', instance: 'enc-a', current: [{}] },
    { host: 'node-1', instance: 'enc-b', current: [] },
    { host: 'pod-c', current: [] },
    { host: 'node-2', instance: 'enc-b', current: [{}] },
  ]);
  assert.deepEqual([...a.busy].sort(), ['enc-a', 'enc-b']);
  assert.deepEqual([...a.idle], ['pod-c']);
});

test('status shows the autoscaler: its target, encoders and the reason or the error with its fix', () => {
  const decision = {
    at: 0,
    load: { waiting: 4, prioritized: 0, delayedDue: 0, active: 2 },
    encoders: { starting: 1, idle: 0, busy: 2, exiting: 0 },
    current: 3,
    desired: 3,
    reason: '6 jobs waiting or running: 3 encoders is right',
  };
  const base = {
    version: '0.1.0',
    protocol: 1,
    queue: 'proxima',
    counts: { waiting: 4, active: 2, delayed: 0, completed: 0, failed: 0 },
    workers: [],
  };
  const ok = renderStatus(
    { ...base, autoscale: { backend: 'docker', target: '/var/run/docker.sock', last: decision } },
    0,
  );
  assert.match(
    ok,
    /^autoscale: docker \(\/var\/run\/docker\.sock\): 3 encoders \(2 busy, 0 idle, 1 starting\); 6 jobs waiting or running: 3 encoders is right$/m,
  );
  const broken = renderStatus(
    {
      ...base,
      autoscale: {
        backend: 'kubernetes',
        target: 'proxima/proxima-encoder',
        last: {
          ...decision,
          error: { code: 'K8S_FORBIDDEN', message: 'refused', hint: 'grant patch on scale' },
        },
      },
    },
    0,
  );
  assert.match(broken, /K8S_FORBIDDEN: refused\n {2}hint: grant patch on scale\n$/);
});
