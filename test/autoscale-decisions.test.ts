import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { configSchema } from '../core/config/schema.ts';
import { autoscaleResponseSchema } from '../core/job/contract.ts';
import { monitorOverviewSchema } from '../core/job/monitor-contract.ts';
import { distinctDecisions } from '../gateway/monitor-overview.ts';
import { startGateway } from '../gateway/server.ts';
import { startFakeKube, type FakeKube } from './helpers/fake-kube.ts';
import { freshQueueName, silentLogger, until } from './helpers/gateway-fixture.ts';
import { sseReader } from './helpers/gateway-sse.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
let kube: FakeKube;
before(async () => {
  redis = await startRedis();
  kube = await startFakeKube();
});
after(async () => {
  await kube.stop();
  kube.cleanup();
  await redis.stop();
});

test("the autoscaler's decisions and their reasons survive a gateway restart, and the monitor shows them", async () => {
  kube.deployments.set('proxima/proxima-encoder', 0);
  const config = configSchema.parse({
    gateway: { listen: '127.0.0.1:0' },
    broker: { url: redis.url, queue: freshQueueName() },
    paths: { proxy_root: mkdtempSync(path.join(tmpdir(), 'proxima-decisions-')) },
    autoscale: { backend: 'kubernetes', min: 1, max: 3, interval_seconds: 1 },
    kubernetes: { kubeconfig: kube.kubeconfig },
  });
  const start = () => startGateway({ config, logger: silentLogger, brokerUrl: redis.url });
  const view = async (url: string) =>
    autoscaleResponseSchema.parse(await (await fetch(`${url}/v1/autoscale`)).json());

  const first = await start();
  let before: ReturnType<typeof autoscaleResponseSchema.parse>['decisions'];
  try {
    before = await until(async () => {
      const v = await view(first.url);
      return v.decisions.length >= 2 ? v.decisions : undefined;
    }, 'decisions of the first gateway');
    assert.equal(kube.deployments.get('proxima/proxima-encoder'), 1, 'scaled to min');
    assert.match(before.at(-1)!.reason, /./);
  } finally {
    await first.close();
  }

  const second = await start();
  try {
    // At once, before its own passes could have made as many: the earlier ones are read back.
    const after = await view(second.url);
    const oldest = before.at(-1)!;
    assert.ok(
      after.decisions.some((d) => d.at === oldest.at && d.reason === oldest.reason),
      JSON.stringify(after.decisions.slice(0, 5)),
    );
    const res = await fetch(`${second.url}/v1/monitor/events`);
    const reader = sseReader(res.body!);
    const event = await reader.next(5000);
    await reader.cancel();
    const overview = monitorOverviewSchema.parse(JSON.parse(event!.data));
    assert.equal(overview.autoscale?.backend, 'kubernetes');
    assert.equal(overview.autoscale?.desired, 1);
    assert.equal(overview.autoscale?.current, 1);
    assert.ok(overview.autoscale!.decisions.some((d) => d.at === oldest.at));
  } finally {
    await second.close();
  }
});

test('the monitor folds runs of passes that decided the same into the newest of them', () => {
  const d = (at: number, current: number, desired: number, reason: string) => ({
    at,
    load: { waiting: 0, prioritized: 0, delayedDue: 0, active: 0 },
    encoders: { starting: 0, idle: 0, busy: 0, exiting: 0 },
    current,
    desired,
    reason,
  });
  const newestFirst = [
    d(6, 1, 1, 'right'),
    d(5, 1, 1, 'right'),
    d(4, 0, 1, 'up to 1'),
    d(3, 0, 0, 'right'),
    d(2, 0, 0, 'right'),
    d(1, 0, 0, 'right'),
  ];
  assert.deepEqual(
    distinctDecisions(newestFirst).map((x) => x.at),
    [6, 4, 3],
  );
});
