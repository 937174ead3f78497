import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createRedis } from '../core/broker/connection.ts';
import { MediaError } from '../core/errors.ts';
import {
  apiErrorSchema,
  batchListResponseSchema,
  batchViewSchema,
  encodeJobSchema,
  enqueueResponseSchema,
  healthResponseSchema,
  jobViewSchema,
  purgeResponseSchema,
  statusResponseSchema,
  workerListResponseSchema,
  type WorkerInfo,
} from '../core/job/contract.ts';
import { encodeJobError } from '../core/job/job-error.ts';
import { jobIdFor } from '../core/job/job-id.ts';
import { keys } from '../core/job/keys.ts';
import { PROTOCOL_VERSION, PROXIMA_VERSION } from '../core/version.ts';
import {
  encodeResult,
  gatewayHarness,
  post,
  sourceRef,
  startTestWorker,
  until,
  type GatewayHarness,
} from './helpers/gateway-fixture.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

async function withGateway(
  fn: (h: GatewayHarness) => Promise<void>,
  opts?: Parameters<typeof gatewayHarness>[1],
): Promise<void> {
  const h = await gatewayHarness(redis.url, opts);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

async function apiError(res: Response, status: number) {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return apiErrorSchema.parse(await res.json()).error;
}

function enqueueBody(paths: string[], extra: Record<string, unknown> = {}) {
  return { v: PROTOCOL_VERSION, sources: paths.map((p) => sourceRef(p)), ...extra };
}

test('health answers without a token and names version and protocol', async () => {
  await withGateway(
    async ({ app }) => {
      const res = await app.request('/v1/health');
      assert.equal(res.status, 200);
      assert.deepEqual(healthResponseSchema.parse(await res.json()), {
        ok: true,
        version: PROXIMA_VERSION,
        protocol: PROTOCOL_VERSION,
      });
    },
    { config: { gateway: { token: 's3cret' } } },
  );
});

test('a queued batch reads back with mirrored proxy paths and deterministic job ids', async () => {
  await withGateway(async ({ app, config, proxyRoot, inspect }) => {
    const sources = [
      sourceRef('/media/day1/A001.mp4', { nameClash: true }),
      sourceRef('/media/day1/A001.mxf', { nameClash: true }),
      sourceRef('/media/day2/B002.mov'),
    ];
    const res = await post(app, '/v1/batches', {
      v: PROTOCOL_VERSION,
      sources,
      label: 'Timeline 1',
    });
    assert.equal(res.status, 201);
    const { batch, deduplicated } = enqueueResponseSchema.parse(await res.json());
    assert.equal(deduplicated, 0);
    assert.match(batch.id, /^b-[a-z0-9]+-[0-9a-f]{8}$/);
    assert.equal(batch.label, 'Timeline 1');
    assert.equal(batch.preset, config.encoding.preset);
    assert.deepEqual(batch.counts, { total: 3, waiting: 3, active: 0, completed: 0, failed: 0 });
    assert.deepEqual(
      batch.jobs.map((j) => [j.id, j.source, j.proxyPath, j.state]),
      [
        [
          jobIdFor(sources[0]!, 'prores-proxy', 2),
          '/media/day1/A001.mp4',
          path.join(proxyRoot, 'media/day1/A001_mp4.mov'),
          'waiting',
        ],
        [
          jobIdFor(sources[1]!, 'prores-proxy', 2),
          '/media/day1/A001.mxf',
          path.join(proxyRoot, 'media/day1/A001_mxf.mov'),
          'waiting',
        ],
        [
          jobIdFor(sources[2]!, 'prores-proxy', 2),
          '/media/day2/B002.mov',
          path.join(proxyRoot, 'media/day2/B002.mov'),
          'waiting',
        ],
      ],
    );

    // What a worker will receive.
    const job = await inspect.getJob(batch.jobs[2]!.id);
    assert.ok(job);
    assert.equal(job.name, 'encode');
    const payload = encodeJobSchema.parse(job.data);
    assert.equal(payload.batchId, batch.id);
    assert.equal(payload.proxyPath, path.join(proxyRoot, 'media/day2/B002.mov'));
    assert.ok(Math.abs(payload.queuedAt - Date.now()) < 60_000);
    assert.equal(job.opts.attempts, config.worker.attempts);
    assert.deepEqual(job.opts.backoff, { type: 'exponential', delay: 5000 });
    assert.deepEqual(job.opts.removeOnComplete, { age: config.broker.result_expires });
    assert.deepEqual(job.opts.removeOnFail, { age: config.broker.result_expires });

    const again = await app.request(`/v1/batches/${batch.id}`);
    assert.equal(again.status, 200);
    assert.deepEqual(batchViewSchema.parse(await again.json()), batch);

    const one = await app.request(`/v1/jobs/${batch.jobs[0]!.id}`);
    assert.equal(one.status, 200);
    assert.deepEqual(jobViewSchema.parse(await one.json()), batch.jobs[0]);

    const dnx = await post(app, '/v1/batches', {
      ...enqueueBody(['/media/day3/C003.mov']),
      preset: 'dnxhr-lb',
    });
    const second = enqueueResponseSchema.parse(await dnx.json()).batch;
    assert.equal(second.preset, 'dnxhr-lb');
    assert.equal(second.jobs[0]!.id, jobIdFor(sourceRef('/media/day3/C003.mov'), 'dnxhr-lb', 2));

    const list = await app.request('/v1/batches?limit=5');
    assert.equal(list.status, 200);
    const { batches } = batchListResponseSchema.parse(await list.json());
    assert.deepEqual(
      batches.map((b) => [b.id, b.counts.total]),
      [
        [second.id, 1],
        [batch.id, 3],
      ],
    );
    const limited = batchListResponseSchema.parse(
      await (await app.request('/v1/batches?limit=1')).json(),
    );
    assert.deepEqual(
      limited.batches.map((b) => b.id),
      [second.id],
    );
  });
});

test('a batch queued from Resolve keeps which clip each job is for; others carry none', async () => {
  await withGateway(async ({ app, repos }) => {
    const a = sourceRef('/media/day1/A001.mov');
    const b = sourceRef('/media/day1/B001.mov');
    const resolve = {
      project: 'Feature',
      timelines: ['Edit', 'Trailer'],
      clips: [
        { mediaId: 'm-a', name: 'A001.mov', source: a.path, timelines: ['Edit'] },
        // The same file imported twice: two media-pool clips, one job.
        { mediaId: 'm-a2', name: 'A001.mov', source: a.path, timelines: ['Trailer'] },
        { mediaId: 'm-b', name: 'B001.mov', source: b.path },
        {
          mediaId: 'm-e',
          name: 'E001.mov',
          source: '/media/day1/E001.mov',
          proxyPath: '/proxies/media/day1/E001.mov',
          timelines: ['Edit'],
        },
      ],
    };
    const res = await post(app, '/v1/batches', { v: PROTOCOL_VERSION, sources: [a, b], resolve });
    assert.equal(res.status, 201);
    const { batch } = enqueueResponseSchema.parse(await res.json());
    const [jobA, jobB] = [jobIdFor(a, 'prores-proxy', 2), jobIdFor(b, 'prores-proxy', 2)];
    const expected = {
      project: 'Feature',
      timelines: ['Edit', 'Trailer'],
      clips: [
        { mediaId: 'm-a', name: 'A001.mov', source: a.path, timelines: ['Edit'], jobId: jobA },
        { mediaId: 'm-a2', name: 'A001.mov', source: a.path, timelines: ['Trailer'], jobId: jobA },
        { mediaId: 'm-b', name: 'B001.mov', source: b.path, timelines: [], jobId: jobB },
        { ...resolve.clips[3], jobId: null },
      ],
    };
    assert.deepEqual(batch.resolve, expected);
    // Kept in Redis with the batch record, for `proxima link` after the queueing CLI is gone.
    assert.deepEqual((await repos.batches.get(batch.id))?.resolve, expected);
    const again = batchViewSchema.parse(
      await (await app.request(`/v1/batches/${batch.id}`)).json(),
    );
    assert.deepEqual(again.resolve, expected);

    // A batch from an older CLI, or from plain paths, has no resolve key at all.
    const plainRes = await post(app, '/v1/batches', enqueueBody(['/media/day2/C001.mov']));
    const plainBody = (await plainRes.json()) as { batch: Record<string, unknown> };
    assert.ok(!('resolve' in plainBody.batch));

    // The list names project and timelines only; the clips stay with the batch.
    const list = batchListResponseSchema.parse(await (await app.request('/v1/batches')).json());
    assert.deepEqual(
      list.batches.map((s) => [s.id === batch.id, s.resolve]),
      [
        [false, undefined],
        [true, { project: 'Feature', timelines: ['Edit', 'Trailer'] }],
      ],
    );

    const orphan = await post(app, '/v1/batches', {
      v: PROTOCOL_VERSION,
      sources: [a],
      resolve: { ...resolve, clips: [{ mediaId: 'm-x', name: 'X', source: '/media/X.mov' }] },
    });
    const err = await apiError(orphan, 400);
    assert.match(
      err.message,
      /^resolve\.clips\[0\]\.source: \/media\/X\.mov is not among the sources/,
    );
    const bad = await post(app, '/v1/batches', {
      v: PROTOCOL_VERSION,
      sources: [a],
      resolve: { ...resolve, clips: [{ mediaId: '', name: 'A', source: a.path }] },
    });
    assert.match((await apiError(bad, 400)).message, /^resolve\.clips\[0\]\.mediaId: /);
  });
});

test('queueing the same sources again adds no jobs and counts them as deduplicated', async () => {
  await withGateway(async ({ app, inspect }) => {
    const paths = ['/media/x/1.mp4', '/media/x/2.mp4', '/media/x/3.mp4'];
    const first = enqueueResponseSchema.parse(
      await (await post(app, '/v1/batches', enqueueBody(paths))).json(),
    );
    assert.equal(first.deduplicated, 0);

    // Duplicates inside one request collapse too.
    const res = await post(app, '/v1/batches', enqueueBody([...paths, paths[0]!]));
    assert.equal(res.status, 201);
    const second = enqueueResponseSchema.parse(await res.json());
    assert.equal(second.deduplicated, 3);
    assert.notEqual(second.batch.id, first.batch.id);
    assert.deepEqual(
      second.batch.jobs.map((j) => j.id),
      first.batch.jobs.map((j) => j.id),
    );
    const counts = await inspect.getJobCounts('waiting', 'active', 'completed', 'failed');
    assert.deepEqual(counts, { waiting: 3, active: 0, completed: 0, failed: 0 });
    // The stored payload still belongs to the batch that queued it.
    const stored = await inspect.getJob(first.batch.jobs[0]!.id);
    assert.equal(encodeJobSchema.parse(stored?.data).batchId, first.batch.id);
  });
});

test('a big batch waits largest file first, across every part it is added in', async () => {
  await withGateway(async ({ app, inspect }) => {
    // More than one part of the bulk add, with sizes in no order: a worker takes from the
    // right end of the wait list, so reversed it is the order the jobs are taken in.
    const n = 1_234;
    const sizeOf = (i: number) => 1_000_000 + ((i * 7_919) % n) * 1_000;
    const sources = Array.from({ length: n }, (_, i) =>
      sourceRef(`/media/big/C${String(i).padStart(4, '0')}.mov`, { size: sizeOf(i) }),
    );
    const res = await post(app, '/v1/batches', { v: PROTOCOL_VERSION, sources });
    assert.equal(res.status, 201);
    const batch = enqueueResponseSchema.parse(await res.json()).batch;
    const sizeOfJob = new Map(batch.jobs.map((j, i) => [j.id, sizeOf(i)]));
    const client = createRedis(redis.url);
    const taken = (await client.lrange(inspect.toKey('wait'), 0, -1)).reverse();
    client.disconnect();
    assert.equal(taken.length, n);
    const sizes = taken.map((id) => sizeOfJob.get(id));
    assert.deepEqual(
      sizes,
      [...sizeOfJob.values()].sort((a, b) => b - a),
      'jobs are taken largest first',
    );
  });
});

test('a batch reads back a page at a time, filtered by state or text, with the whole batch counted', async () => {
  await withGateway(
    async ({ app, inspect, config }) => {
      const paths = Array.from(
        { length: 250 },
        (_, i) => `/media/pg/clip-${String(i).padStart(3, '0')}.mp4`,
      );
      const queued = enqueueResponseSchema.parse(
        await (await post(app, '/v1/batches', enqueueBody(paths))).json(),
      );
      const id = queued.batch.id;
      // Every file ending in 7 fails; the rest are encoded.
      const w = startTestWorker(redis.url, config.broker.queue, async (job) => {
        const data = encodeJobSchema.parse(job.data);
        if (data.source.path.endsWith('7.mp4')) {
          throw new Error(
            encodeJobError(new MediaError('SOURCE_CORRUPT', 'corrupt', 'copy it again')),
          );
        }
        return encodeResult(data.proxyPath);
      });
      await until(
        async () => {
          const c = await inspect.getJobCounts('completed', 'failed');
          return (c.completed ?? 0) + (c.failed ?? 0) === 250;
        },
        'the batch to finish',
        60_000,
      );
      await w.close();
      const get = async (query: string) => {
        const res = await app.request(`/v1/batches/${id}${query}`);
        assert.equal(res.status, 200, query);
        return batchViewSchema.parse(await res.json());
      };

      const first = await get('?limit=100');
      assert.deepEqual(first.counts, {
        total: 250,
        waiting: 0,
        active: 0,
        completed: 225,
        failed: 25,
      });
      assert.deepEqual(first.page, { offset: 0, limit: 100, matched: 250 });
      assert.deepEqual(
        first.jobs.map((j) => j.source),
        paths.slice(0, 100),
      );
      const last = await get('?limit=100&offset=200');
      assert.deepEqual(
        last.jobs.map((j) => j.source),
        paths.slice(200),
      );

      const failed = await get('?state=failed&limit=10&offset=20');
      assert.deepEqual(failed.page, { offset: 20, limit: 10, matched: 25 });
      assert.deepEqual(
        failed.jobs.map((j) => [j.source, j.state, j.error?.code]),
        [207, 217, 227, 237, 247].map((n) => [
          `/media/pg/clip-${n}.mp4`,
          'failed',
          'SOURCE_CORRUPT',
        ]),
      );
      // Text matches the source path, whatever its case; the counts stay the whole batch's.
      const found = await get('?q=CLIP-12');
      assert.equal(found.page?.matched, 10);
      assert.deepEqual(
        found.jobs.map((j) => j.source),
        paths.slice(120, 130),
      );
      assert.equal(found.counts.total, 250);
      assert.equal(
        (await get('?q=clip-12&state=failed')).jobs[0]?.source,
        '/media/pg/clip-127.mp4',
      );

      // Without paging, the whole batch as before.
      const whole = await get('');
      assert.equal(whole.jobs.length, 250);
      assert.equal(whole.page, undefined);
      const bad = await apiError(await app.request(`/v1/batches/${id}?state=done`), 400);
      assert.match(bad.message, /state/);
    },
    { config: { worker: { attempts: 1 } } },
  );
});

test('a job that failed is retried when its source is queued again', async () => {
  await withGateway(
    async ({ app, inspect, config }) => {
      const first = enqueueResponseSchema.parse(
        await (await post(app, '/v1/batches', enqueueBody(['/media/f/bad.mp4']))).json(),
      );
      const jobId = first.batch.jobs[0]!.id;
      const w = startTestWorker(redis.url, config.broker.queue, async () => {
        throw new Error(
          encodeJobError(new MediaError('SOURCE_CORRUPT', 'bad.mp4 is corrupt', 'copy it again')),
        );
      });
      await until(async () => (await inspect.getJobState(jobId)) === 'failed', 'job to fail');
      await w.close();

      const view = jobViewSchema.parse(await (await app.request(`/v1/jobs/${jobId}`)).json());
      assert.equal(view.state, 'failed');
      assert.deepEqual(view.error, {
        code: 'SOURCE_CORRUPT',
        message: 'bad.mp4 is corrupt',
        hint: 'copy it again',
      });
      assert.equal(view.attempts, 1);

      const res = await post(app, '/v1/batches', enqueueBody(['/media/f/bad.mp4']));
      assert.equal(res.status, 201);
      const second = enqueueResponseSchema.parse(await res.json());
      assert.equal(second.deduplicated, 0);
      assert.equal(second.batch.jobs[0]!.id, jobId);
      assert.equal(second.batch.jobs[0]!.state, 'waiting');
      assert.equal(second.batch.jobs[0]!.attempts, 0);
      assert.equal(second.batch.jobs[0]!.error, null);
      const stored = await inspect.getJob(jobId);
      const payload = encodeJobSchema.parse(stored?.data);
      assert.equal(payload.batchId, second.batch.id);
      assert.ok(payload.queuedAt >= first.batch.createdAt);
    },
    { config: { worker: { attempts: 1 } } },
  );
});

test('hostile request bodies get a 400 with one line naming the field', async () => {
  await withGateway(async ({ app, inspect }) => {
    const ok = sourceRef('/media/ok.mp4');
    const cases: { name: string; body: unknown; field: RegExp; code?: string }[] = [
      { name: 'missing sources', body: { v: PROTOCOL_VERSION }, field: /^sources: missing/ },
      { name: 'missing v', body: { sources: [ok] }, field: /^v: / },
      {
        name: 'missing path',
        body: { v: PROTOCOL_VERSION, sources: [{ size: 1, mtimeMs: 1 }] },
        field: /^sources\[0\]\.path: missing/,
      },
      {
        name: 'relative path',
        body: enqueueBody(['media/rel.mp4']),
        field: /^sources\[0\]\.path: expected an absolute path/,
      },
      {
        name: 'dot-dot segments',
        body: enqueueBody(['/media/ok.mp4', '/media/../etc/passwd']),
        field: /^sources\[1\]\.path: expected no "\.\." segments/,
      },
      {
        name: 'NUL in path',
        body: enqueueBody(['/media/a\u0000b.mp4']),
        field: /^sources\[0\]\.path: expected no NUL characters/,
      },
      {
        name: 'wrong protocol version',
        body: { ...enqueueBody(['/media/ok.mp4']), v: 99 },
        field: new RegExp(`^v: expected ${PROTOCOL_VERSION}, got 99`),
      },
      {
        name: 'unknown preset',
        body: enqueueBody(['/media/ok.mp4'], { preset: 'h264-fast' }),
        field:
          /^preset: expected one of "prores-proxy", "prores-lt", "dnxhr-lb", "dnxhr-sq", "h264-intra", got "h264-fast"/,
      },
      {
        name: 'too many sources',
        body: { v: PROTOCOL_VERSION, sources: Array.from({ length: 10_001 }, () => ok) },
        field: /^sources: expected at most 10000 items, got 10001 items/,
      },
      {
        name: 'extra keys',
        body: { ...enqueueBody(['/media/ok.mp4']), priority: 1 },
        field: /^priority: unknown field/,
      },
      {
        name: 'extra keys in a source',
        body: { v: PROTOCOL_VERSION, sources: [{ ...ok, owner: 'x' }] },
        field: /^sources\[0\]\.owner: unknown field/,
      },
      {
        name: 'negative size',
        body: { v: PROTOCOL_VERSION, sources: [{ ...ok, size: -1 }] },
        field: /^sources\[0\]\.size: expected at least 0, got -1/,
      },
      { name: 'not an object', body: [ok], field: /^body: expected an object, got 1 items/ },
      {
        name: 'two sources, one proxy',
        body: enqueueBody(['/media/d/A001.mp4', '/media/d/A001.mov']),
        field: /^sources\[1\]\.path: .* same proxy as sources\[0\]\.path/,
        code: 'PROXY_PATH_CLASH',
      },
      {
        name: 'non-JSON',
        body: '{"v": 1, "sources": [',
        field: /^request body is not valid JSON/,
        code: 'BAD_JSON',
      },
    ];
    for (const c of cases) {
      const res = await post(app, '/v1/batches', c.body);
      const err = await apiError(res, 400);
      assert.match(err.message, c.field, `${c.name}: ${err.message}`);
      assert.doesNotMatch(err.message, /\n/, c.name);
      assert.ok(err.hint.length > 0, c.name);
      assert.equal(err.code, c.code ?? 'INVALID_REQUEST', c.name);
    }

    const wrongType = await app.request('/v1/batches', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(enqueueBody(['/media/ok.mp4'])),
    });
    const typeErr = await apiError(wrongType, 415);
    assert.equal(typeErr.code, 'BAD_CONTENT_TYPE');
    assert.match(typeErr.message, /content-type application\/json.*"text\/plain"/);

    const noType = await app.request('/v1/batches', {
      method: 'POST',
      body: new Blob([JSON.stringify(enqueueBody(['/media/ok.mp4']))]),
    });
    assert.equal((await apiError(noType, 415)).code, 'BAD_CONTENT_TYPE');

    // None of it reached the queue.
    assert.equal(await inspect.count(), 0);
  });
});

test('a body over the limit is refused with 413', async () => {
  await withGateway(async ({ app, inspect }) => {
    const long = `/media/${'x'.repeat(4000)}.mp4`;
    const body = JSON.stringify({
      v: PROTOCOL_VERSION,
      sources: Array.from({ length: 2200 }, (_, i) => sourceRef(`${long}${i}`)),
    });
    assert.ok(body.length > 8 * 1024 * 1024);
    const err = await apiError(await post(app, '/v1/batches', body), 413);
    assert.equal(err.code, 'BODY_TOO_LARGE');
    assert.equal(await inspect.count(), 0);
  });
});

test('with a token set, every route but health needs the right bearer token', async () => {
  await withGateway(
    async ({ app }) => {
      const routes: [string, string][] = [
        ['GET', '/v1/status'],
        ['GET', '/v1/workers'],
        ['GET', '/v1/batches'],
        ['POST', '/v1/purge'],
        ['GET', '/v1/batches/b-abc-0123abcd'],
        ['GET', '/v1/batches/b-abc-0123abcd/events'],
        ['GET', `/v1/jobs/px-${'0'.repeat(24)}`],
      ];
      for (const [method, route] of routes) {
        const none = await apiError(await app.request(route, { method }), 401);
        assert.equal(none.code, 'UNAUTHORIZED', route);
        assert.match(none.hint, /gateway\.token/);
        const wrong = await app.request(route, {
          method,
          headers: { authorization: 'Bearer s3cred' },
        });
        assert.equal((await apiError(wrong, 401)).code, 'UNAUTHORIZED', route);
        assert.match(wrong.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
      const basic = await app.request('/v1/status', {
        headers: { authorization: `Basic ${btoa('user:s3cret')}` },
      });
      assert.equal(basic.status, 401);

      const good = { authorization: 'Bearer s3cret' };
      assert.equal((await app.request('/v1/status', { headers: good })).status, 200);
      const queued = await post(app, '/v1/batches', enqueueBody(['/media/t.mp4']), good);
      assert.equal(queued.status, 201);
      assert.equal((await post(app, '/v1/batches', enqueueBody(['/media/t.mp4']))).status, 401);
      assert.equal((await app.request('/v1/health')).status, 200);
    },
    { config: { gateway: { token: 's3cret' } } },
  );
});

test('unknown batches, jobs and routes are 404s with a hint; malformed ids are 400s', async () => {
  await withGateway(async ({ app }) => {
    const batch = await apiError(await app.request('/v1/batches/b-zzz-0123abcd'), 404);
    assert.equal(batch.code, 'NOT_FOUND');
    assert.match(batch.message, /b-zzz-0123abcd/);
    assert.match(batch.hint, /result_expires/);

    const events = await apiError(await app.request('/v1/batches/b-zzz-0123abcd/events'), 404);
    assert.equal(events.code, 'NOT_FOUND');

    const job = await apiError(await app.request(`/v1/jobs/px-${'a'.repeat(24)}`), 404);
    assert.equal(job.code, 'NOT_FOUND');

    for (const route of [
      '/v1/batches/proxima:x:batch:*',
      '/v1/batches/b-abc-0123ABCD',
      '/v1/jobs/1',
      `/v1/jobs/px-${'g'.repeat(24)}`,
    ]) {
      const err = await apiError(await app.request(route.replace('*', '%2A')), 400);
      assert.equal(err.code, 'INVALID_ID', route);
    }
    assert.equal(
      (await apiError(await app.request('/v1/batches?limit=1000'), 400)).message,
      'limit: expected at most 100, got 1000',
    );

    const route = await apiError(await app.request('/v1/nope'), 404);
    assert.equal(route.code, 'NOT_FOUND');
    assert.match(route.hint, /gateway\.url/);
    const del = { method: 'DELETE', headers: { 'content-type': 'application/json' } };
    assert.equal((await app.request('/', del)).status, 404);
  });
});

test('purge removes waiting jobs and leaves running and finished ones', async () => {
  await withGateway(
    async ({ app, config, inspect }) => {
      const q = config.broker.queue;
      const first = enqueueResponseSchema.parse(
        await (await post(app, '/v1/batches', enqueueBody(['/m/done.mp4', '/m/fail.mp4']))).json(),
      );
      const [doneId, failId] = first.batch.jobs.map((j) => j.id) as [string, string];
      const w1 = startTestWorker(redis.url, q, async (job) => {
        if (job.id === failId) throw new Error('no');
        return encodeResult('/p/done.mov');
      });
      await until(
        async () =>
          (await inspect.getJobState(doneId)) === 'completed' &&
          (await inspect.getJobState(failId)) === 'failed',
        'first batch to finish',
      );
      await w1.close();

      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const second = enqueueResponseSchema.parse(
        await (
          await post(app, '/v1/batches', enqueueBody(['/m/run.mp4', '/m/w1.mp4', '/m/w2.mp4']))
        ).json(),
      );
      const [runId, w1Id, w2Id] = second.batch.jobs.map((j) => j.id) as [string, string, string];
      const w2 = startTestWorker(redis.url, q, async () => {
        await gate;
        return encodeResult('/p/run.mov');
      });
      try {
        await until(async () => (await inspect.getJobState(runId)) === 'active', 'job to start');

        const res = await post(app, '/v1/purge', {});
        assert.equal(res.status, 200);
        assert.deepEqual(purgeResponseSchema.parse(await res.json()), { removed: 2 });
        assert.equal(await inspect.getJobState(doneId), 'completed');
        assert.equal(await inspect.getJobState(failId), 'failed');
        assert.equal(await inspect.getJobState(runId), 'active');
        assert.equal(await inspect.getJobState(w1Id), 'unknown');
        assert.equal(await inspect.getJobState(w2Id), 'unknown');

        const view = batchViewSchema.parse(
          await (await app.request(`/v1/batches/${second.batch.id}`)).json(),
        );
        assert.deepEqual(
          view.jobs.map((j) => j.state),
          ['active', 'unknown', 'unknown'],
        );
        const again = purgeResponseSchema.parse(await (await post(app, '/v1/purge', {})).json());
        assert.equal(again.removed, 0);
      } finally {
        release();
        await until(async () => (await inspect.getJobState(runId)) === 'completed', 'release');
        await w2.close();
      }
    },
    { config: { worker: { attempts: 1 } } },
  );
});

test('status reports queue counts and the workers registered at keys.worker', async () => {
  await withGateway(async ({ app, config }) => {
    const q = config.broker.queue;
    await post(app, '/v1/batches', enqueueBody(['/m/s1.mp4', '/m/s2.mp4']));
    const info: WorkerInfo = {
      id: 'edit-bay-2:4242',
      host: 'edit-bay-2',
      pid: 4242,
      version: PROXIMA_VERSION,
      protocol: PROTOCOL_VERSION,
      concurrency: 2,
      startedAt: Date.now() - 5000,
      current: [{ jobId: `px-${'1'.repeat(24)}`, source: '/m/s0.mp4' }],
      seenAt: Date.now(),
    };
    const client = createRedis(redis.url);
    try {
      await client.set(keys.worker(q, info.id), JSON.stringify(info), 'EX', 30);
      // Junk under the same pattern and a worker of another queue are not listed.
      await client.set(keys.worker(q, 'broken'), '{"id": 1', 'EX', 30);
      await client.set(keys.worker(`${q}-other`, 'x'), JSON.stringify({ ...info, id: 'x' }));

      const res = await app.request('/v1/status');
      assert.equal(res.status, 200);
      const status = statusResponseSchema.parse(await res.json());
      assert.equal(status.version, PROXIMA_VERSION);
      assert.equal(status.protocol, PROTOCOL_VERSION);
      assert.equal(status.queue, q);
      assert.deepEqual(status.counts, {
        waiting: 2,
        active: 0,
        delayed: 0,
        completed: 0,
        failed: 0,
      });
      assert.deepEqual(status.workers, [info]);

      const workers = workerListResponseSchema.parse(
        await (await app.request('/v1/workers')).json(),
      );
      assert.deepEqual(workers.workers, [info]);
    } finally {
      await client.del(keys.worker(`${q}-other`, 'x'));
      await client.quit();
    }
  });
});

test('a request while Redis is down gets a 503 with a hint, and works again after', async () => {
  const own = await startRedis();
  const h = await gatewayHarness(own.url);
  try {
    assert.equal((await h.app.request('/v1/status')).status, 200);
    await own.kill();
    for (const route of ['/v1/status', '/v1/health', '/v1/batches/b-abc-0123abcd']) {
      const err = await apiError(await h.app.request(route), 503);
      assert.equal(err.code, 'BROKER_UNREACHABLE', route);
      assert.match(err.hint, /redis-server.*broker\.url/);
    }
    await own.restart();
    await until(
      async () => (await h.app.request('/v1/status')).status === 200,
      'the gateway to reconnect',
    );
  } finally {
    await h.close().catch(() => {});
    await own.stop();
  }
});
