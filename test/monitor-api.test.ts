import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { enqueueResponseSchema, batchViewSchema, jobViewSchema } from '../core/job/contract.ts';
import {
  cancelBatchResponseSchema,
  monitorOverviewSchema,
  retryBatchResponseSchema,
  searchResponseSchema,
  sessionResponseSchema,
} from '../core/job/monitor-contract.ts';
import { startWorker, type RunningWorker } from '../encoder-image/worker.ts';
import { csrfOf, issueSession, sessionValid, SESSION_SECONDS } from '../gateway/session.ts';
import { makeClip, truncatedCopy } from './helpers/cli-media.ts';
import { gatewayHarness, post, until, type GatewayHarness } from './helpers/gateway-fixture.ts';
import { sseReader } from './helpers/gateway-sse.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-monitor-api-'));

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

const ref = (p: string) => {
  const s = statSync(p);
  return { path: p, size: s.size, mtimeMs: s.mtimeMs };
};

test('a session cookie is signed with the token, expires, and says nothing of the token', () => {
  const now = 1_800_000_000_000;
  const cookie = issueSession('s3cret-token', now);
  assert.equal(cookie.includes('s3cret'), false);
  assert.equal(sessionValid('s3cret-token', cookie, now + 1000), true);
  assert.equal(sessionValid('s3cret-token', cookie, now + SESSION_SECONDS * 1000), false);
  assert.equal(sessionValid('other-token', cookie, now + 1000), false);
  const [exp, mac] = cookie.split('.');
  // A later expiry with the old MAC is refused.
  assert.equal(sessionValid('s3cret-token', `${Number(exp) + 10}.${mac}`, now), false);
  assert.equal(sessionValid('s3cret-token', undefined, now), false);
  assert.equal(sessionValid('s3cret-token', 'garbage', now), false);
  assert.notEqual(
    csrfOf('s3cret-token', cookie),
    csrfOf('s3cret-token', issueSession('s3cret-token', now + 5000)),
  );
});

test('signing in trades the token for an HttpOnly, SameSite=Strict cookie; writes with it need the CSRF header', async () => {
  const gw = await gatewayHarness(redis.url, { config: { gateway: { token: 'tok-123456' } } });
  try {
    const { app } = gw;
    assert.equal((await app.request('/v1/session')).status, 401);
    assert.equal((await app.request('/v1/status')).status, 401);
    const wrong = await post(app, '/v1/session', { token: 'nope' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);

    const ok = await post(app, '/v1/session', { token: 'tok-123456' });
    assert.equal(ok.status, 204);
    const setCookie = ok.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^proxima_session=[^;]+/);
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    assert.match(setCookie, /Path=\//);
    assert.equal(setCookie.includes('tok-123456'), false);
    const cookie = setCookie.split(';')[0]!;

    const session = await app.request('/v1/session', { headers: { cookie } });
    assert.equal(session.status, 200);
    const { csrf, tokenRequired } = sessionResponseSchema.parse(await session.json());
    assert.equal(tokenRequired, true);
    assert.ok(csrf.length > 20);
    assert.equal((await app.request('/v1/status', { headers: { cookie } })).status, 200);

    // A write with the cookie but without the CSRF header: what a cross-site page would send.
    const forged = await post(app, '/v1/purge', {}, { cookie });
    assert.equal(forged.status, 403);
    assert.equal(
      ((await forged.json()) as { error: { code: string } }).error.code,
      'CSRF_MISMATCH',
    );
    const wrongCsrf = await post(app, '/v1/purge', {}, { cookie, 'x-proxima-csrf': 'x' + csrf });
    assert.equal(wrongCsrf.status, 403);
    const allowed = await post(app, '/v1/purge', {}, { cookie, 'x-proxima-csrf': csrf });
    assert.equal(allowed.status, 200);
    // The CLI's bearer token needs no CSRF header.
    const bearer = await post(app, '/v1/purge', {}, { authorization: 'Bearer tok-123456' });
    assert.equal(bearer.status, 200);

    // A cookie of another token (the token was changed) no longer works.
    const stale = `proxima_session=${issueSession('old-token', Date.now())}`;
    assert.equal((await app.request('/v1/status', { headers: { cookie: stale } })).status, 401);

    const out = await app.request('/v1/session', {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /proxima_session=;/);
  } finally {
    await gw.close();
  }
});

test('without a token nobody signs in: the session says so and writes need no CSRF header', async () => {
  const gw = await gatewayHarness(redis.url);
  try {
    const res = await gw.app.request('/v1/session');
    assert.deepEqual(sessionResponseSchema.parse(await res.json()), {
      tokenRequired: false,
      csrf: '',
    });
    assert.equal((await post(gw.app, '/v1/purge', {})).status, 200);
  } finally {
    await gw.close();
  }
});

/** The whole batch as GET /v1/batches/:id shows it. */
async function readBatch(app: GatewayHarness['app'], id: string) {
  return batchViewSchema.parse(await (await app.request(`/v1/batches/${id}`)).json());
}

async function withWorker(gw: GatewayHarness, fn: (w: RunningWorker) => Promise<void>) {
  const worker = await startWorker({
    brokerUrl: redis.url,
    config: gw.config,
    logger: pino({ level: 'silent' }),
    concurrency: 1,
    searchPath: process.env.PATH ?? '',
  });
  try {
    await fn(worker);
  } finally {
    await worker.close();
  }
}

/** Every file (not folder) below root: a cancelled clip leaves none, temp or chunk or proxy. */
function tempFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) =>
    statSync(path.join(root, f)).isFile(),
  );
}

test('cancel removes waiting clips and stops the running one; retry queues failed clips again; search finds a clip', async () => {
  const media = path.join(work, 'cancel');
  // Long enough at 1080p that it is still encoding when the batch is cancelled.
  const long = await makeClip(media, 'A001_LONG', 'h264-stereo', {
    width: 1920,
    height: 1080,
    seconds: 20,
  });
  const shorts = await Promise.all(
    ['B001', 'B002', 'B003'].map((n) => makeClip(media, n, 'h264-stereo')),
  );
  const corrupt = truncatedCopy(shorts[0]!, path.join(media, 'C001_BROKEN.mov'));
  const gw = await gatewayHarness(redis.url, { config: { chunking: { enabled: false } } });
  try {
    const { app } = gw;
    await withWorker(gw, async () => {
      const res = await post(app, '/v1/batches', {
        v: PROTOCOL_VERSION,
        label: 'Interview / day 1',
        sources: [long, ...shorts, corrupt].map(ref),
      });
      assert.equal(res.status, 201);
      const { batch } = enqueueResponseSchema.parse(await res.json());
      const read = () => readBatch(app, batch.id);
      const longId = batch.jobs.find((j) => j.source === long)!.id;

      // The monitor's live view: the overview and the batch page arrive over SSE.
      const sse = await app.request(`/v1/monitor/events?batch=${batch.id}&limit=10`);
      assert.equal(sse.status, 200);
      const reader = sseReader(sse.body!);
      const events = [await reader.next(5000), await reader.next(5000)].filter((e) => e !== null);
      await reader.cancel();
      const overview = monitorOverviewSchema.parse(
        JSON.parse(events.find((e) => e.event === 'overview')!.data),
      );
      assert.equal(overview.batches[0]?.id, batch.id);
      assert.equal(overview.batches[0]?.label, 'Interview / day 1');
      assert.equal(overview.workers.length, 1);
      const page = batchViewSchema.parse(JSON.parse(events.find((e) => e.event === 'batch')!.data));
      assert.equal(page.jobs.length, 5);

      await until(
        async () => (await read()).jobs.find((j) => j.id === longId)?.state === 'active',
        'the long clip to start',
        20_000,
      );
      const cancel = await post(app, `/v1/batches/${batch.id}/cancel`, {});
      assert.equal(cancel.status, 200);
      assert.deepEqual(cancelBatchResponseSchema.parse(await cancel.json()), {
        removed: 4,
        stopped: 1,
      });
      const stoppedAt = Date.now();
      const ended = await until(
        async () => {
          const j = (await read()).jobs.find((x) => x.id === longId);
          return j?.state === 'failed' ? j : undefined;
        },
        'the running clip to stop',
        10_000,
      );
      assert.ok(Date.now() - stoppedAt < 5000, 'stopped within a few seconds');
      assert.equal(ended.error?.code, 'CANCELLED');
      assert.match(ended.error?.hint ?? '', /retry/);
      assert.ok(ended.startedAt && ended.finishedAt && ended.finishedAt >= ended.startedAt);
      const after = await read();
      assert.deepEqual(after.counts, { total: 5, waiting: 0, active: 0, completed: 0, failed: 1 });
      assert.deepEqual(tempFiles(gw.proxyRoot), [], 'no temp file left');
      assert.equal(existsSync(ended.farmProxyPath!), false, 'no proxy written');

      // Search across batches by name.
      const found = searchResponseSchema.parse(
        await (await app.request('/v1/search?q=a001_long')).json(),
      );
      assert.deepEqual(
        found.jobs.map((j) => [j.batchId, j.batchLabel, j.job.id]),
        [[batch.id, 'Interview / day 1', longId]],
      );
      assert.equal((await app.request('/v1/search?q=')).status, 400);

      // Retry the cancelled clip alone: it encodes this time.
      const one = await post(app, `/v1/jobs/${longId}/retry`, {});
      assert.equal(one.status, 200);
      assert.match(
        jobViewSchema.parse(((await one.json()) as { job: unknown }).job).state,
        /^(waiting|active)$/,
      );
      const again = await post(app, `/v1/jobs/${longId}/retry`, {});
      assert.equal(again.status, 409, 'a clip that is not failed is not retried');
      await until(async () => (await read()).counts.completed === 1, 'the retried clip', 120_000);
      assert.ok(existsSync(batch.jobs.find((j) => j.id === longId)!.farmProxyPath!));
    });
  } finally {
    await gw.close();
  }
});

test('retry of a batch queues every failed clip again and they run', async () => {
  const media = path.join(work, 'retry');
  const good = await makeClip(media, 'D001', 'h264-stereo');
  const corrupt = truncatedCopy(good, path.join(media, 'D002_BROKEN.mov'));
  const gw = await gatewayHarness(redis.url);
  try {
    const { app } = gw;
    await withWorker(gw, async () => {
      const res = await post(app, '/v1/batches', {
        v: PROTOCOL_VERSION,
        sources: [good, corrupt].map(ref),
      });
      const { batch } = enqueueResponseSchema.parse(await res.json());
      const read = () => readBatch(app, batch.id);
      await until(
        async () => {
          const c = (await read()).counts;
          return c.completed === 1 && c.failed === 1;
        },
        'the batch to finish',
        30_000,
      );
      const failed = (await read()).jobs.find((j) => j.state === 'failed')!;
      assert.equal(failed.source, corrupt);
      const firstEnd = failed.finishedAt!;
      const retry = await post(app, `/v1/batches/${batch.id}/retry`, {});
      assert.deepEqual(retryBatchResponseSchema.parse(await retry.json()), { retried: 1 });
      // It ran again (a new end) and failed again with the same reason: the file is corrupt.
      const again = await until(
        async () => {
          const j = (await read()).jobs.find((x) => x.id === failed.id);
          return j?.state === 'failed' && j.finishedAt! > firstEnd ? j : undefined;
        },
        'the retried clip to run',
        30_000,
      );
      assert.equal(again.error?.code, failed.error?.code);
      assert.equal((await post(app, '/v1/batches/b-zzz-00000000/retry', {})).status, 404);
      assert.equal((await post(app, '/v1/batches/nope/cancel', {})).status, 400);
    });
  } finally {
    await gw.close();
  }
});

test('cancelling a batch stops a long clip encoded in chunks: its chunks drop, nothing of it stays, nothing waits', async () => {
  const media = path.join(work, 'chunked');
  const long = await makeClip(media, 'E001_LONG', 'h264-stereo', {
    width: 1280,
    height: 720,
    seconds: 24,
  });
  const gw = await gatewayHarness(redis.url, {
    config: { chunking: { enabled: true, chunk_seconds: 4, min_seconds: 8 } },
  });
  try {
    const { app, inspect } = gw;
    await withWorker(gw, async () => {
      const res = await post(app, '/v1/batches', { v: PROTOCOL_VERSION, sources: [ref(long)] });
      const { batch } = enqueueResponseSchema.parse(await res.json());
      const read = () => readBatch(app, batch.id);
      // Split, and its first chunk encoding.
      await until(
        async () => (await read()).jobs[0]?.chunks?.some((c) => c.state === 'active'),
        'a chunk to start',
        30_000,
      );
      const chunking = Date.now();
      const cancel = await post(app, `/v1/batches/${batch.id}/cancel`, {});
      assert.deepEqual(cancelBatchResponseSchema.parse(await cancel.json()), {
        removed: 0,
        stopped: 1,
      });
      const clip = await until(
        async () => {
          const j = (await read()).jobs[0];
          return j?.state === 'failed' ? j : undefined;
        },
        'the chunked clip to stop',
        20_000,
      );
      assert.equal(clip.error?.code, 'CANCELLED');
      // Its time counts from its split, not from when it was taken again after its chunks.
      assert.ok(clip.startedAt! < chunking, `${clip.startedAt} < ${chunking}`);
      await until(
        async () => {
          const c = await inspect.getJobCounts(
            'waiting',
            'active',
            'waiting-children',
            'prioritized',
          );
          return Object.values(c).every((n) => n === 0);
        },
        'no chunk left waiting',
        10_000,
      );
      assert.deepEqual(tempFiles(gw.proxyRoot), [], 'no chunk, temp or proxy file left');
    });
  } finally {
    await gw.close();
  }
});
