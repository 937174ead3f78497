/**
 * Scale from zero with the docker backend: how long an editor waits for the first proxy when no
 * encoder runs, split into its steps, against a worker that is already running; and how long
 * idle encoders take to go. Needs a Docker engine and builds the encoder image first.
 *
 *   node --import tsx bench/autoscale.ts [--rounds 3] [--seconds 4]
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { startEmbeddedRedis } from '../cli/stack/embedded-redis.ts';
import { configSchema, type Config } from '../core/config/schema.ts';
import { locateFfmpeg } from '../core/ffmpeg/locate.ts';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { batchViewSchema, enqueueResponseSchema } from '../core/job/contract.ts';
import { createLogger } from '../core/log.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { startWorker } from '../encoder-image/worker.ts';
import { startGateway, type Gateway } from '../gateway/server.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '4' } },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const IDLE_EXIT = 3;
const IMAGE = 'proxima-encoder:bench';
const logger = createLogger({ level: 'silent', pretty: false });

const work = mkdtempSync(path.join(tmpdir(), 'proxima-bench-scale-'));
chmodSync(work, 0o777);
const media = path.join(work, 'media');
mkdirSync(path.join(work, 'proxies'), { recursive: true });
chmodSync(path.join(work, 'proxies'), 0o777);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(fn: () => Promise<T | undefined | false>, limitMs = 300_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await sleep(25);
  }
}

async function containers(queue: string): Promise<number> {
  const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=proxima.queue=${queue}`]);
  return stdout.split('\n').filter(Boolean).length;
}

async function clip(name: string): Promise<string> {
  mkdirSync(media, { recursive: true });
  const file = path.join(media, `${name}.mov`);
  const ffmpeg = locateFfmpeg('', process.env.PATH ?? '').path;
  await run(ffmpeg, sampleClipArgs('h264-stereo', file, { width: 1920, height: 1080, seconds }));
  return file;
}

async function queueOne(gw: Gateway, file: string): Promise<string> {
  const st = statSync(file);
  const res = await fetch(`${gw.url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      v: PROTOCOL_VERSION,
      sources: [{ path: file, size: st.size, mtimeMs: st.mtimeMs }],
    }),
  });
  if (res.status !== 201) throw new Error(`queue failed: ${res.status} ${await res.text()}`);
  return enqueueResponseSchema.parse(await res.json()).batch.id;
}

async function jobState(gw: Gateway, batch: string): Promise<string> {
  const b = batchViewSchema.parse(await (await fetch(`${gw.url}/v1/batches/${batch}`)).json());
  return b.jobs[0]!.state;
}

function config(queue: string, brokerUrl: string, backend: 'docker' | 'none'): Config {
  return configSchema.parse({
    paths: { proxy_root: path.join(work, 'proxies') },
    broker: { url: brokerUrl, queue },
    gateway: { listen: '127.0.0.1:0' },
    encoder: { idle_exit_seconds: IDLE_EXIT },
    autoscale: { backend, max: 2, interval_seconds: 1, cooldown_seconds: 0 },
    docker: { image: IMAGE, mounts: [`${work}:${work}`] },
    log: { level: 'silent' },
  });
}

interface Row {
  round: number;
  container: number;
  registered: number;
  active: number;
  done: number;
  warm: number;
  gone: number;
}

async function main() {
  console.error(`building ${IMAGE} ...`);
  await run('bash', [fileURLToPath(new URL('../scripts/build-images.sh', import.meta.url))], {
    env: { ...process.env, ENCODER_IMAGE: IMAGE },
    maxBuffer: 16 * 1024 * 1024,
  });
  const redis = await startEmbeddedRedis({
    dataDir: path.join(work, 'redis'),
    searchPath: process.env.PATH ?? '',
    logger,
  });
  const rows: Row[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const file = await clip(`R${round}`);
      const queue = `bench-scale-${Date.now().toString(36)}`;
      const gw = await startGateway({
        config: config(queue, redis.url, 'docker'),
        logger,
        brokerUrl: redis.url,
      });
      try {
        const t0 = performance.now();
        const batch = await queueOne(gw, file);
        const since = () => (performance.now() - t0) / 1000;
        await until(async () => (await containers(queue)) > 0);
        const container = since();
        await until(async () => {
          const w = (await (await fetch(`${gw.url}/v1/workers`)).json()) as { workers: unknown[] };
          return w.workers.length > 0;
        });
        const registered = since();
        await until(async () => (await jobState(gw, batch)) !== 'waiting');
        const active = since();
        await until(async () => (await jobState(gw, batch)) === 'completed');
        const done = since();
        const t1 = performance.now();
        await until(async () => (await containers(queue)) === 0);
        const gone = (performance.now() - t1) / 1000;

        // The same clip again with a worker already running in this process: what is left
        // is the encode itself, for comparison.
        const warmFile = await clip(`W${round}`);
        const warmQueue = `${queue}-warm`;
        const warmConfig = config(warmQueue, redis.url, 'none');
        const warmGw = await startGateway({ config: warmConfig, logger, brokerUrl: redis.url });
        const worker = await startWorker({
          brokerUrl: redis.url,
          config: warmConfig,
          logger,
          concurrency: 1,
          searchPath: process.env.PATH ?? '',
        });
        try {
          const t2 = performance.now();
          const warmBatch = await queueOne(warmGw, warmFile);
          await until(async () => (await jobState(warmGw, warmBatch)) === 'completed');
          const warm = (performance.now() - t2) / 1000;
          rows.push({ round, container, registered, active, done, warm, gone });
          console.error(`round ${round}: done ${done.toFixed(2)} s, warm ${warm.toFixed(2)} s`);
        } finally {
          await worker.close();
          await warmGw.close();
        }
      } finally {
        await gw.close();
      }
    }
  } finally {
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }

  const f = (n: number) => n.toFixed(2);
  console.log(
    `1 clip, 1080p25 H.264, ${seconds} s; autoscale max 2, cooldown 0 s; encoder.idle_exit_seconds ${IDLE_EXIT}; times from the queue request\n`,
  );
  console.log(
    '| round | container created, s | worker registered, s | job active, s | proxy done, s | warm worker, s | encoders gone after the proxy, s |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.round} | ${f(r.container)} | ${f(r.registered)} | ${f(r.active)} | ${f(r.done)} | ${f(r.warm)} | ${f(r.gone)} |`,
    );
  }
}

await main();
