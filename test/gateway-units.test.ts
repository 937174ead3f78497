import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { configSchema } from '../core/config/schema.ts';
import { loadConfig } from '../core/config/load.ts';
import { encoderEnv } from '../gateway/autoscale/create-backend.ts';
import { DependencyError, InputError, MediaError } from '../core/errors.ts';
import { jobIdFor } from '../core/job/job-id.ts';
import { encodeJobError } from '../core/job/job-error.ts';
import { bearerMatches } from '../gateway/auth.ts';
import { planEnqueue } from '../gateway/enqueue.ts';
import { errorReply, isBrokerDown } from '../gateway/errors.ts';
import { redactUrl } from '../core/broker/connection.ts';
import { parseListen } from '../gateway/server.ts';
import { BAD_RESULT, countStates, jobViewFrom } from '../gateway/views.ts';
import type { StoredJob } from '../gateway/queue/job-queue.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { encodeResult, sourceRef } from './helpers/gateway-fixture.ts';

const config = configSchema.parse({
  paths: { proxy_root: '/proxies' },
  encoding: { preset: 'dnxhr-lb' },
});

test('planEnqueue uses the configured preset, collapses duplicates and mirrors paths', () => {
  const a = sourceRef('/media/a.mp4');
  const plan = planEnqueue(
    { v: PROTOCOL_VERSION, sources: [a, sourceRef('/media/b.mov'), a] },
    config,
  );
  assert.equal(plan.preset, 'dnxhr-lb');
  assert.equal(plan.label, null);
  assert.deepEqual(
    plan.jobs.map((j) => [j.jobId, j.proxyPath]),
    [
      [jobIdFor(a, 'dnxhr-lb', 2), path.resolve('/proxies/media/a.mov')],
      [jobIdFor(sourceRef('/media/b.mov'), 'dnxhr-lb', 2), path.resolve('/proxies/media/b.mov')],
    ],
  );
  const windows = planEnqueue(
    { v: PROTOCOL_VERSION, preset: 'prores-proxy', sources: [sourceRef('D:\\shoot\\A001.MP4')] },
    config,
  );
  assert.equal(windows.preset, 'prores-proxy');
  assert.equal(windows.jobs[0]!.proxyPath, path.resolve('/proxies/D/shoot/A001.mov'));
});

test('planEnqueue refuses two sources that would write one proxy file', () => {
  assert.throws(
    () =>
      planEnqueue(
        {
          v: PROTOCOL_VERSION,
          sources: [sourceRef('/m/A001.mp4'), sourceRef('/m/A001.mp4', { size: 5 })],
        },
        config,
      ),
    (err: unknown) =>
      err instanceof InputError &&
      err.code === 'PROXY_PATH_CLASH' &&
      /^sources\[1\]\.path: .*sources\[0\]\.path/.test(err.message),
  );
});

test('errorReply maps each kind of failure to its status and never leaks internals', () => {
  const zodErr = z.strictObject({ v: z.literal(1) }).safeParse({ v: 2 }, { reportInput: true });
  assert.ok(!zodErr.success);
  const bad = errorReply(zodErr.error);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.message, 'v: expected 1, got 2');

  assert.equal(errorReply(new InputError('X', 'm', 'h')).status, 400);
  assert.equal(errorReply(new DependencyError('X', 'm', 'h')).status, 503);
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {
    code: 'ECONNREFUSED',
  });
  assert.equal(isBrokerDown(refused), true);
  assert.equal(errorReply(refused).body.error.code, 'BROKER_UNREACHABLE');
  assert.equal(errorReply(new Error('wrapped', { cause: refused })).status, 503);

  const boom = errorReply(new TypeError('secret detail at /srv/app.ts:12'));
  assert.equal(boom.status, 500);
  assert.equal(boom.internal, true);
  assert.doesNotMatch(JSON.stringify(boom.body), /secret/);
});

test('bearer tokens match exactly, whatever their length', () => {
  assert.equal(bearerMatches('Bearer tok', 'tok'), true);
  assert.equal(bearerMatches('bearer  tok ', 'tok'), true);
  assert.equal(bearerMatches('Bearer tok2', 'tok'), false);
  assert.equal(bearerMatches('Bearer to', 'tok'), false);
  assert.equal(bearerMatches('Bearer ', 'tok'), false);
  assert.equal(bearerMatches('tok', 'tok'), false);
  assert.equal(bearerMatches(undefined, 'tok'), false);
  assert.equal(bearerMatches(`Bearer ${'x'.repeat(10_000)}`, 'tok'), false);
});

test('job views decode errors, and a result of another shape makes the job failed', () => {
  const base: StoredJob = {
    id: 'px-000000000000000000000001',
    state: 'failed',
    data: {
      v: PROTOCOL_VERSION,
      batchId: 'b-x-00000000',
      source: sourceRef('/m/a.mp4', { nameClash: false }),
      preset: 'prores-proxy',
      proxyPath: '/p/m/a.mov',
      proxyRoot: '/p',
      queuedAt: 1,
    },
    attemptsMade: 3,
    progress: 0,
    returnvalue: null,
    failedReason: encodeJobError(new MediaError('NO_VIDEO', 'no video', 'queue video')),
  };
  const failed = jobViewFrom(base, 'dnxhr-lb');
  assert.equal(failed.source, '/m/a.mp4');
  assert.equal(failed.preset, 'prores-proxy');
  assert.equal(failed.progress, null);
  assert.deepEqual(failed.error, { code: 'NO_VIDEO', message: 'no video', hint: 'queue video' });

  const done = jobViewFrom(
    { ...base, state: 'completed', returnvalue: encodeResult('/p/m/a.mov'), failedReason: null },
    'dnxhr-lb',
  );
  assert.deepEqual(done.result, encodeResult('/p/m/a.mov'));
  assert.equal(done.error, null);

  const odd = jobViewFrom(
    { ...base, state: 'completed', returnvalue: { ok: true }, failedReason: null },
    'dnxhr-lb',
  );
  assert.equal(odd.state, 'failed');
  assert.deepEqual(odd.error, BAD_RESULT);

  const foreign = jobViewFrom({ ...base, data: { other: 1 }, state: 'waiting' }, 'dnxhr-lb');
  assert.equal(foreign.preset, 'dnxhr-lb');
  assert.equal(foreign.source, '');

  assert.deepEqual(countStates(['waiting', 'delayed', 'active', 'completed', 'unknown']), {
    total: 5,
    waiting: 2,
    active: 1,
    completed: 1,
    failed: 0,
  });
});

test('listen addresses parse, and broker URLs lose their password in messages', () => {
  assert.deepEqual(parseListen('127.0.0.1:8765'), { host: '127.0.0.1', port: 8765 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen('proxima.local:80'), { host: 'proxima.local', port: 80 });
  assert.throws(() => parseListen('8765'), /gateway\.listen/);
  assert.throws(() => parseListen('host:99999'), /gateway\.listen/);

  assert.equal(redactUrl('redis://:hunter2@nas:6379/0'), 'redis://:***@nas:6379/0');
  assert.equal(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
});

test("encoders the gateway starts get the farm's policy: locks, attempts, stalls, mtime tolerance", () => {
  const config = configSchema.parse({
    paths: { proxy_root: '/mnt/proxies', mtime_tolerance_seconds: 4 },
    worker: {
      lock_seconds: 20,
      distinct_attempts: 5,
      stall_seconds: 60,
      probe_seconds: 30,
      attempts: 4,
    },
  });
  const env = encoderEnv(config, 'redis://redis:6379');
  assert.equal(env.PROXIMA_PATHS__PROXY_ROOT, '/mnt/proxies');
  assert.equal(env.PROXIMA_PATHS__MTIME_TOLERANCE_SECONDS, '4');
  assert.equal(env.PROXIMA_WORKER__LOCK_SECONDS, '20');
  assert.equal(env.PROXIMA_WORKER__DISTINCT_ATTEMPTS, '5');
  assert.equal(env.PROXIMA_WORKER__STALL_SECONDS, '60');
  assert.equal(env.PROXIMA_WORKER__PROBE_SECONDS, '30');
  assert.equal(env.PROXIMA_WORKER__ATTEMPTS, '4');
  // Every value is one the encoder's own config loader accepts.
  const loaded = loadConfig({
    env: { ...env, PROXIMA_CONFIG: '' },
    create: false,
    home: '/nonexistent',
  });
  assert.equal(loaded.config.worker.distinct_attempts, 5);
  assert.equal(loaded.config.paths.mtime_tolerance_seconds, 4);
});
