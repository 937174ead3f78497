import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import {
  batchViewSchema,
  enqueueResponseSchema,
  type EnqueueResponse,
} from '../core/job/contract.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { cliSandbox, runCli } from './helpers/cli-run.ts';
import { startFarm } from './helpers/farm.ts';
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
const work = mkdtempSync(path.join(tmpdir(), 'proxima-rules-'));
const wide = path.join(work, 'media', 'WIDE.mov');
const small = path.join(work, 'media', 'SMALL.mov');
const long = path.join(work, 'media', 'LONG.mov');

before(async () => {
  redis = await startRedis();
  mkdirSync(path.dirname(wide), { recursive: true });
  await runFfmpeg(sampleClipArgs('h264-stereo', wide, { width: 640, height: 360, seconds: 0.5 }));
  await runFfmpeg(sampleClipArgs('h264-stereo', small, { width: 320, height: 240, seconds: 0.5 }));
  await runFfmpeg(sampleClipArgs('h264-stereo', long, { width: 320, height: 240, seconds: 3 }));
});
after(async () => {
  await redis.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Rules and a user preset in the gateway's config only: the workers' configs have neither. */
const gatewayConfig = {
  encoding: {
    preset: 'prores-proxy',
    rules: [
      { preset: 'prores-lt', match: { width: { min: 600 } } },
      { preset: 'small-main', match: { codec: 'h264', height: { max: 240 } } },
    ],
  },
  presets: { 'small-main': { base: 'h264-intra', profile: 'main', size: 'half' } },
};

async function queue(
  h: GatewayHarness,
  files: string[],
  preset?: string,
): Promise<EnqueueResponse> {
  const res = await post(h.app, '/v1/batches', {
    v: PROTOCOL_VERSION,
    ...(preset && { preset }),
    sources: files.map((f) => {
      const st = statSync(f);
      return { path: f, size: st.size, mtimeMs: st.mtimeMs };
    }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return enqueueResponseSchema.parse(await res.json());
}

async function finishedBatch(h: GatewayHarness, batchId: string) {
  let view;
  await until(
    async () => {
      const res = await h.app.request(`/v1/batches/${batchId}`);
      view = batchViewSchema.parse(await res.json());
      assert.equal(view.counts.failed, 0, JSON.stringify(view.jobs.map((j) => j.error)));
      return view.counts.completed === view.counts.total;
    },
    `batch ${batchId} to complete`,
    90_000,
  );
  return view!;
}

test('rules give two sources of one batch two presets; the views say which rule chose', async () => {
  const h = await gatewayHarness(redis.url, { config: gatewayConfig });
  const worker = await startRealWorker(h, redis.url);
  try {
    const first = await queue(h, [wide, small]);
    const view = await finishedBatch(h, first.batch.id);
    const [a, b] = [view.jobs[0]!, view.jobs[1]!];

    const bigProxy = await probeFile(a.proxyPath);
    assert.equal(bigProxy.video?.codec, 'prores');
    assert.equal(bigProxy.video?.profile, 'LT');
    assert.equal(a.preset, 'prores-lt');
    assert.deepEqual(a.rule, { index: 0, description: 'rule 1: width >= 600 -> prores-lt' });

    // The user preset, as the gateway's config defines it: H.264 Main at half the size.
    const smallProxy = await probeFile(b.proxyPath);
    assert.equal(smallProxy.video?.codec, 'h264');
    assert.equal(smallProxy.video?.profile, 'Main');
    assert.equal(`${smallProxy.video?.width}x${smallProxy.video?.height}`, '160x120');
    assert.equal(b.preset, 'small-main');
    assert.deepEqual(b.rule, {
      index: 1,
      description: 'rule 2: codec h264, height <= 240 -> small-main',
    });

    // The same config again: the same jobs, nothing encoded.
    const again = await queue(h, [wide, small]);
    assert.equal(again.deduplicated, 2);
    assert.deepEqual(
      again.batch.jobs.map((j) => j.id),
      first.batch.jobs.map((j) => j.id),
    );

    // An explicit preset overrides the rules: another job, the named preset, no rule.
    const named = await queue(h, [small], 'small-main');
    assert.notEqual(named.batch.jobs[0]!.id, first.batch.jobs[1]!.id);
  } finally {
    await worker.close();
    await h.close();
  }
});

test('a changed rule set is another job; an unknown preset in a request is refused', async () => {
  const h = await gatewayHarness(redis.url, { config: gatewayConfig });
  const changed = await gatewayHarness(redis.url, {
    config: {
      ...gatewayConfig,
      encoding: { ...gatewayConfig.encoding, rules: gatewayConfig.encoding.rules.slice(1) },
      broker: { queue: h.config.broker.queue },
    },
  });
  const plain = await gatewayHarness(redis.url, {
    config: { broker: { queue: h.config.broker.queue } },
  });
  try {
    const one = await queue(h, [wide]);
    const two = await queue(changed, [wide]);
    assert.notEqual(two.batch.jobs[0]!.id, one.batch.jobs[0]!.id);
    assert.equal(two.deduplicated, 0);

    const res = await post(plain.app, '/v1/batches', {
      v: PROTOCOL_VERSION,
      preset: 'small-main',
      sources: [{ path: wide, size: 1, mtimeMs: 1 }],
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { message: string } };
    assert.equal(
      body.error.message,
      'preset: expected one of "prores-proxy", "prores-lt", "dnxhr-lb", "dnxhr-sq", "h264-intra", got "small-main"',
    );
  } finally {
    await plain.close({ keepQueue: true });
    await changed.close({ keepQueue: true });
    await h.close();
  }
});

test('`proxima config validate` refuses a hostile presets entry, naming its key', async () => {
  const sandbox = cliSandbox({
    presets: {
      evil: { base: 'prores-proxy', options: { '-filter_complex': 'movie=/etc/passwd' } },
    },
  });
  try {
    const bad = await runCli(['config', 'validate'], { env: sandbox.env });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /presets\.evil\.options\.-filter_complex/);
    assert.match(bad.stderr, /not an allowed encoder option/);

    writeFileSync(
      sandbox.configFile,
      stringify({
        paths: { proxy_root: sandbox.proxyRoot },
        encoding: { rules: [{ preset: 'prores-hq', match: { codec: 'hevc' } }] },
      }),
    );
    const unknown = await runCli(['config', 'validate'], { env: sandbox.env });
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(
      unknown.stderr,
      /key encoding\.rules\.0\.preset has bad value "prores-hq", expected one of "prores-proxy", .*"h264-intra"/,
    );

    writeFileSync(
      sandbox.configFile,
      stringify({ paths: { proxy_root: sandbox.proxyRoot }, ...gatewayConfig }),
    );
    const good = await runCli(['config', 'validate'], { env: sandbox.env });
    assert.equal(good.code, 0, good.stderr);
  } finally {
    rmSync(sandbox.root, { recursive: true, force: true });
  }
});

test(
  '`queue --json` of a real farm: a chunked clip chosen by a rule, every chunk of its preset',
  { timeout: 300_000 },
  async () => {
    const farm = await startFarm({
      workers: 2,
      config: { ...gatewayConfig, chunking: { min_seconds: 2, chunk_seconds: 1 } },
    });
    try {
      const run = await farm.queue([wide, long]).done;
      assert.equal(run.code, 0, run.stderr);
      const summary = JSON.parse(run.stdout) as {
        counts: { completed: number };
        jobs: {
          source: string;
          farmProxyPath: string;
          preset: string;
          rule: { index: number; description: string } | null;
          chunks?: unknown[];
        }[];
      };
      assert.equal(summary.counts.completed, 2);
      const a = summary.jobs.find((j) => j.source === wide);
      const b = summary.jobs.find((j) => j.source === long);
      assert.equal(a!.preset, 'prores-lt');
      assert.equal(a!.rule?.index, 0);
      assert.equal(b!.preset, 'small-main');
      assert.equal(b!.rule?.description, 'rule 2: codec h264, height <= 240 -> small-main');
      assert.ok((b!.chunks?.length ?? 0) >= 2, 'the long clip was chunked');
      const joined = await probeFile(b!.farmProxyPath);
      assert.equal(joined.video?.codec, 'h264');
      assert.equal(joined.video?.profile, 'Main');
      assert.equal(`${joined.video?.width}x${joined.video?.height}`, '160x120');
      assert.equal(joined.video?.frameCount, 75);
    } finally {
      await farm.stop();
    }
  },
);
