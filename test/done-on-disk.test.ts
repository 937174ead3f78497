import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { enqueueResponseSchema, type EnqueueResponse } from '../core/job/contract.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { claimedProxy } from '../gateway/enqueue.ts';
import { createFfprobeInspector, headerMatches } from '../gateway/proxy-inspector.ts';
import {
  encodeResult,
  gatewayHarness,
  post,
  silentLogger,
  until,
  type GatewayHarness,
  startRealWorker,
} from './helpers/gateway-fixture.ts';
import { runFfmpeg } from './helpers/media.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-done-'));
const clip = path.join(work, 'media', 'day1', 'A001.mov');

before(async () => {
  redis = await startRedis();
  mkdirSync(path.dirname(clip), { recursive: true });
  await runFfmpeg(sampleClipArgs('h264-stereo', clip, { width: 320, height: 180, seconds: 0.5 }));
});
after(async () => {
  await redis.stop();
  rmSync(work, { recursive: true, force: true });
});

function source() {
  const st = statSync(clip);
  return { path: clip, size: st.size, mtimeMs: st.mtimeMs };
}

let lastMs = 0;

async function queue(
  h: GatewayHarness,
  preset?: string,
  reencode?: boolean,
): Promise<EnqueueResponse> {
  const started = performance.now();
  const res = await post(h.app, '/v1/batches', {
    v: PROTOCOL_VERSION,
    sources: [source()],
    ...(preset && { preset }),
    ...(reencode && { reencode }),
  });
  assert.equal(res.status, 201);
  lastMs = Math.round(performance.now() - started);
  return enqueueResponseSchema.parse(await res.json());
}

async function finished(h: GatewayHarness, jobId: string): Promise<void> {
  await until(
    async () => (await h.inspect.getJobState(jobId)) === 'completed',
    `job ${jobId} to complete`,
    60_000,
  );
}

/** The job failed because a proxy of the other preset is at its path. */
async function failed(h: GatewayHarness, jobId: string): Promise<void> {
  await until(
    async () => (await h.inspect.getJobState(jobId)) === 'failed',
    `job ${jobId} to fail`,
    60_000,
  );
  assert.match((await h.inspect.getJob(jobId))!.failedReason, /PROXY_OTHER_PRESET/);
}

test('"done" means a proxy of the preset at the path the current config gives', async () => {
  const h = await gatewayHarness(redis.url);
  const worker = await startRealWorker(h, redis.url);
  let moved: GatewayHarness | undefined;
  try {
    const first = await queue(h);
    const jobId = first.batch.jobs[0]!.id;
    const proxy = first.batch.jobs[0]!.proxyPath;
    await finished(h, jobId);
    assert.ok(statSync(proxy).size > 0);

    // Still there and right: done, nothing queued.
    const again = await queue(h);
    assert.equal(again.deduplicated, 1);
    assert.equal(again.batch.jobs[0]!.state, 'completed');
    console.log(`FIGURE: queueing a done clip again, its proxy probed on disk: ${lastMs} ms`);
    await queue(h);
    console.log(`FIGURE: the same once more, the probe's verdict cached: ${lastMs} ms`);

    // Deleted: encoded again.
    rmSync(proxy);
    const afterDelete = await queue(h);
    assert.equal(afterDelete.deduplicated, 0);
    assert.notEqual(afterDelete.batch.jobs[0]!.state, 'completed');
    await finished(h, jobId);
    assert.ok(existsSync(proxy), 'the deleted proxy is back');

    // Emptied, or replaced by something that is no movie: encoded again.
    for (const junk of ['', 'not a movie at all']) {
      writeFileSync(proxy, junk);
      const r = await queue(h);
      assert.equal(r.deduplicated, 0, JSON.stringify(junk));
      await finished(h, jobId);
      assert.ok(statSync(proxy).size > 1000);
    }

    // Another preset writes the same proxy path; queueing ProRes again must not say done.
    // A ProRes proxy is there: the DNxHR job reports it; --reencode replaces it.
    const dnx = await queue(h, 'dnxhr-lb');
    assert.notEqual(dnx.batch.jobs[0]!.id, jobId);
    await failed(h, dnx.batch.jobs[0]!.id);
    await queue(h, 'dnxhr-lb', true);
    await finished(h, dnx.batch.jobs[0]!.id);
    const inspector = createFfprobeInspector({
      ffprobePath: '',
      searchPath: process.env.PATH ?? '',
      logger: silentLogger,
    });
    assert.deepEqual(await inspector.inspect(proxy, 'dnxhr-lb'), { ok: true });
    // Not done, and not silently replaced either: the worker reports the other preset's proxy.
    const prores = await queue(h);
    assert.equal(prores.deduplicated, 0);
    await failed(h, jobId);
    assert.deepEqual(await inspector.inspect(proxy, 'dnxhr-lb'), { ok: true });
    await queue(h, undefined, true);
    await finished(h, jobId);
    assert.deepEqual(await inspector.inspect(proxy, 'prores-proxy'), { ok: true });

    // paths.proxy_root changed: the old result names a path outside the new root.
    moved = await gatewayHarness(redis.url, {
      config: { broker: { queue: h.config.broker.queue } },
    });
    const elsewhere = await queue(moved);
    const newProxy = elsewhere.batch.jobs[0]!.proxyPath;
    assert.ok(newProxy.startsWith(moved.proxyRoot + path.sep), newProxy);
    assert.equal(elsewhere.deduplicated, 0);
    await finished(moved, jobId);
    assert.ok(statSync(newProxy).size > 1000, 'a proxy under the new root');
    const done = await queue(moved);
    assert.equal(done.deduplicated, 1);
    assert.equal(done.batch.jobs[0]!.result?.proxyPath, newProxy);
  } finally {
    await worker.close();
    await moved?.close({ keepQueue: true });
    await h.close();
  }
});

test('the decisions: which result vouches for a path, which header fits a preset', () => {
  const job = (state: 'completed' | 'failed', returnvalue: unknown) => ({
    id: 'px-1',
    state,
    data: {},
    attemptsMade: 1,
    progress: null,
    returnvalue,
    failedReason: null,
  });
  assert.equal(claimedProxy(job('completed', encodeResult('/p/a.mov')), '/p/a.mov'), '/p/a.mov');
  assert.equal(claimedProxy(job('completed', encodeResult('/old/a.mov')), '/p/a.mov'), null);
  assert.equal(claimedProxy(job('completed', { odd: true }), '/p/a.mov'), null);
  assert.equal(claimedProxy(job('failed', encodeResult('/p/a.mov')), '/p/a.mov'), null);
  assert.equal(claimedProxy(null, '/p/a.mov'), null);

  const prores = { codec: 'prores', tag: 'apco', profile: 'Proxy' };
  assert.deepEqual(headerMatches(prores, 'prores-proxy'), { ok: true });
  assert.equal(headerMatches({ ...prores, profile: 'HQ', tag: 'apch' }, 'prores-proxy').ok, false);
  assert.equal(headerMatches(prores, 'dnxhr-lb').ok, false);
  assert.deepEqual(
    headerMatches({ codec: 'dnxhd', tag: 'AVdh', profile: 'DNXHR LB' }, 'dnxhr-lb'),
    { ok: true },
  );
  assert.equal(headerMatches(null, 'dnxhr-lb').ok, false);
});
