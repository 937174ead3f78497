import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HEALTH_FILE } from '../encoder-image/health-file.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { docker, ensureEncoderImage } from './helpers/docker.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

// What an admin checks of the encoder image before putting it on a farm.

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

let image: string;
let redis: TestRedis | undefined;
const containers: string[] = [];

before(async () => {
  image = await ensureEncoderImage();
});
after(async () => {
  if (containers.length) await docker(['rm', '-f', ...containers]).catch(() => undefined);
  await redis?.stop();
});

interface ImageConfig {
  User: string;
  Labels: Record<string, string>;
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number };
  Entrypoint: string[];
  Env: string[];
}

async function imageConfig(): Promise<ImageConfig> {
  const r = await docker(['image', 'inspect', '--format', '{{json .Config}}', image]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ImageConfig;
}

/** `docker run --rm` of the image with node as entrypoint, as the image user. */
async function nodeInImage(args: string[], env: string[] = []): Promise<string> {
  const envArgs = env.flatMap((e) => ['-e', e]);
  const r = await docker([
    'run',
    '--rm',
    '--network',
    'host',
    ...envArgs,
    '--entrypoint',
    'node',
    image,
    ...args,
  ]);
  assert.equal(r.code, 0, `node ${args.join(' ')} in the image failed: ${r.stderr}`);
  return r.stdout;
}

test('runs unprivileged, says which version and protocol it speaks, and has a healthcheck', async () => {
  const config = await imageConfig();
  assert.equal(config.User, '10001:10001');
  assert.equal(config.Labels['proxima.version'], pkg.version);
  assert.equal(config.Labels['proxima.protocol'], String(PROTOCOL_VERSION));
  assert.equal(config.Labels['proxima.role'], 'encoder');
  assert.equal(config.Labels['org.opencontainers.image.version'], pkg.version);
  assert.deepEqual(config.Entrypoint, ['node', 'dist/encoder-image/main.js']);
  assert.ok(config.Env.includes('PROXIMA_WORKER__CONCURRENCY=1'), config.Env.join(' '));
  assert.ok(config.Env.includes('NODE_ENV=production'), config.Env.join(' '));
  assert.deepEqual(config.Healthcheck?.Test, ['CMD', 'node', 'dist/encoder-image/healthcheck.js']);
  assert.ok((config.Healthcheck?.Timeout ?? 0) > 0 && (config.Healthcheck?.StartPeriod ?? 0) > 0);
});

test('without a broker URL it exits at once with a one-line error naming broker.url', async () => {
  const r = await docker(['run', '--rm', '--network', 'host', image], 60_000);
  assert.notEqual(r.code, 0);
  const first = r.stderr.split('\n')[0] ?? '';
  assert.match(first, /^error: .*broker\.url/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a config error, not a stack trace');
});

test('the image user can run the packaged ffmpeg and ffprobe', async () => {
  for (const [id, banner] of [
    ['@ffmpeg-installer/ffmpeg', /^ffmpeg version /],
    ['@ffprobe-installer/ffprobe', /^ffprobe version /],
  ] as const) {
    const binary = (await nodeInImage(['-p', `require(${JSON.stringify(id)}).path`])).trim();
    const r = await docker([
      'run',
      '--rm',
      '--network',
      'host',
      '--entrypoint',
      binary,
      image,
      '-version',
    ]);
    assert.equal(r.code, 0, `${binary} -version as the image user: ${r.stderr}`);
    assert.match(r.stdout, banner);
  }
});

test('holds production dependencies only', async () => {
  // Dev-only per the lockfile: a devDependency that a runtime package also needs stays.
  const lock = JSON.parse(
    readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'),
  ) as { packages: Record<string, { dev?: boolean }> };
  const devOnly = Object.entries(lock.packages)
    .filter(([p, meta]) => meta.dev && p.split('node_modules/').length === 2)
    .map(([p]) => p.slice('node_modules/'.length));
  assert.ok(devOnly.includes('typescript') && devOnly.includes('prettier'));
  const script = `const fs = require('fs'); console.log(JSON.stringify({ present: ${JSON.stringify(devOnly)}.filter((n) => fs.existsSync('node_modules/' + n)), bullmq: fs.existsSync('node_modules/bullmq') }))`;
  const found = JSON.parse(await nodeInImage(['-e', script])) as {
    present: string[];
    bullmq: boolean;
  };
  assert.deepEqual(found.present, [], 'dev-only packages in the image');
  assert.equal(found.bullmq, true, 'runtime dependencies are there');
});

test('the healthcheck fails without a fresh health file and passes with one', async () => {
  // One container, so the file the checks read is the one just written.
  const script = `
    const { spawnSync } = require('node:child_process');
    const fs = require('node:fs');
    const file = ${JSON.stringify(HEALTH_FILE)};
    const check = () => {
      const r = spawnSync('node', ['dist/encoder-image/healthcheck.js'], { encoding: 'utf8' });
      return { code: r.status, out: r.stdout.trim() };
    };
    const missing = check();
    fs.writeFileSync(file, '');
    const fresh = check();
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    const stale = check();
    console.log(JSON.stringify({ missing, fresh, stale }));
  `;
  const out = JSON.parse(await nodeInImage(['-e', script])) as Record<
    'missing' | 'fresh' | 'stale',
    { code: number; out: string }
  >;
  assert.equal(out.missing.code, 1);
  assert.match(out.missing.out, /^unhealthy: .*does not exist/);
  assert.equal(out.fresh.code, 0, out.fresh.out);
  assert.equal(out.stale.code, 1);
  assert.match(out.stale.out, /^unhealthy: .* s old/);
});

test('a worker connected to its broker turns healthy and stops promptly on SIGTERM', async () => {
  redis = await startRedis();
  const name = `proxima-image-test-${process.pid}`;
  containers.push(name);
  const started = await docker([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'host',
    '-e',
    `PROXIMA_BROKER__URL=${redis.url}`,
    '-e',
    'PROXIMA_ENCODER__IDLE_EXIT_SECONDS=0',
    image,
  ]);
  assert.equal(started.code, 0, started.stderr);

  let last = '';
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await docker(['exec', name, 'node', 'dist/encoder-image/healthcheck.js']);
    if (r.code === 0) break;
    last = `${r.stdout}${r.stderr}`.trim();
    if (Date.now() > deadline) {
      const logs = await docker(['logs', name]);
      assert.fail(`never healthy: ${last}\n${logs.stdout}${logs.stderr}`);
    }
    await sleep(500);
  }

  const t0 = Date.now();
  const stopped = await docker(['stop', '--time', '30', name]);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.ok(Date.now() - t0 < 20_000, 'an idle worker does not wait out the grace period');
  const state = await docker(['inspect', '--format', '{{.State.ExitCode}}', name]);
  assert.equal(state.stdout.trim(), '0');
});
