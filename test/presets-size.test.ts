import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { enqueueResponseSchema, type EnqueueResponse } from '../core/job/contract.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import {
  gatewayHarness,
  post,
  until,
  type GatewayHarness,
  startRealWorker,
} from './helpers/gateway-fixture.ts';
import { probeFile, runFfmpeg } from './helpers/media.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-size-'));
const clip = path.join(work, 'media', 'A001.mov');

before(async () => {
  redis = await startRedis();
  mkdirSync(path.dirname(clip), { recursive: true });
  await runFfmpeg(sampleClipArgs('h264-stereo', clip, { width: 640, height: 360, seconds: 0.5 }));
});
after(async () => {
  await redis.stop();
  rmSync(work, { recursive: true, force: true });
});

async function queue(h: GatewayHarness): Promise<EnqueueResponse> {
  const st = statSync(clip);
  const res = await post(h.app, '/v1/batches', {
    v: PROTOCOL_VERSION,
    sources: [{ path: clip, size: st.size, mtimeMs: st.mtimeMs }],
  });
  assert.equal(res.status, 201);
  return enqueueResponseSchema.parse(await res.json());
}

async function finished(h: GatewayHarness, jobId: string): Promise<void> {
  await until(
    async () => (await h.inspect.getJobState(jobId)) === 'completed',
    `job ${jobId} to complete`,
    60_000,
  );
}

test("the gateway's encoding.size and preset reach the worker; another size re-encodes", async () => {
  const half = await gatewayHarness(redis.url, {
    config: { encoding: { preset: 'h264-intra', size: 'half' } },
  });
  const worker = await startRealWorker(half, redis.url);
  let full: GatewayHarness | undefined;
  try {
    const first = await queue(half);
    const job = first.batch.jobs[0]!;
    await finished(half, job.id);
    const small = await probeFile(job.proxyPath);
    assert.equal(small.video?.codec, 'h264');
    assert.equal(`${small.video?.width}x${small.video?.height}`, '320x180');

    // The same size again: one job, nothing encoded.
    assert.equal((await queue(half)).deduplicated, 1);

    // Same queue, the size given as YAML's string "720": a new job, a new proxy.
    full = await gatewayHarness(redis.url, {
      config: {
        encoding: { preset: 'h264-intra', size: '720' },
        broker: { queue: half.config.broker.queue },
      },
    });
    const second = await queue(full);
    assert.notEqual(second.batch.jobs[0]!.id, job.id);
    await finished(full, second.batch.jobs[0]!.id);
    const big = await probeFile(second.batch.jobs[0]!.proxyPath);
    assert.equal(`${big.video?.width}x${big.video?.height}`, '640x360');
  } finally {
    await worker.close();
    await full?.close({ keepQueue: true });
    await half.close();
  }
});
