import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { after, before, test } from 'node:test';
import {
  autoscaleResponseSchema,
  batchViewSchema,
  enqueueResponseSchema,
  type AutoscaleResponse,
  type BatchView,
} from '../core/job/contract.ts';
import { configSchema } from '../core/config/schema.ts';
import type { Logger } from '../core/log.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { startGateway, type Gateway } from '../gateway/server.ts';
import { makeClip } from './helpers/cli-media.ts';
import { ensureEncoderImage } from './helpers/docker.ts';
import { silentLogger, freshQueueName } from './helpers/gateway-fixture.ts';
import { probeFile } from './helpers/media.ts';
import { freePort, startRedis, type TestRedis } from './helpers/redis.ts';

const run = promisify(execFile);

let redis: TestRedis;
let image: string;
// Media and proxies at one path inside and outside the containers; the image's user is not root.
const work = mkdtempSync(path.join(tmpdir(), 'proxima-autoscale-'));
chmodSync(work, 0o777);
const queues: string[] = [];

before(async () => {
  [redis, image] = await Promise.all([startRedis(), ensureEncoderImage()]);
});
after(async () => {
  for (const q of queues) {
    const ids = await containerIds(q, true);
    if (ids.length) await run('docker', ['rm', '-f', ...ids]).catch(() => undefined);
  }
  await redis.stop();
});

async function containerIds(queue: string, all = false): Promise<string[]> {
  const { stdout } = await run('docker', [
    'ps',
    ...(all ? ['-a'] : []),
    '-q',
    '--filter',
    'label=proxima.role=encoder',
    '--filter',
    `label=proxima.queue=${queue}`,
  ]);
  return stdout.split('\n').filter(Boolean);
}

async function until<T>(what: string, seconds: number, fn: () => Promise<T | undefined | false>) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function startScalingGateway(
  queue: string,
  extra: Record<string, unknown>,
  logger: Logger = silentLogger,
) {
  queues.push(queue);
  const config = configSchema.parse({
    paths: { proxy_root: path.join(work, 'proxies') },
    broker: { url: redis.url, queue },
    gateway: { listen: '127.0.0.1:0' },
    worker: { lock_seconds: 3 },
    encoder: { idle_exit_seconds: 3 },
    autoscale: { backend: 'docker', max: 3, interval_seconds: 1, cooldown_seconds: 0 },
    docker: { image, mounts: [`${work}:${work}`], cpus: 1.5, memory_mb: 1024 },
    log: { level: 'silent' },
    ...extra,
  });
  return startGateway({ config, logger, brokerUrl: redis.url });
}

async function getJson(gw: Gateway, route: string): Promise<unknown> {
  const res = await fetch(`${gw.url}/v1${route}`);
  return res.json();
}

async function autoscaleView(gw: Gateway): Promise<AutoscaleResponse> {
  return autoscaleResponseSchema.parse(await getJson(gw, '/autoscale'));
}

async function queueFiles(gw: Gateway, files: string[]): Promise<BatchView> {
  const res = await fetch(`${gw.url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      v: PROTOCOL_VERSION,
      sources: files.map((f) => ({
        path: f,
        size: statSync(f).size,
        mtimeMs: statSync(f).mtimeMs,
      })),
    }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return enqueueResponseSchema.parse(await res.json()).batch;
}

test('6 jobs, at most 3 encoder containers: all proxies verified, a killed encoder loses nothing, idle encoders go', async () => {
  const media = path.join(work, 'media');
  // Long enough (a few seconds each on 2 cores) that a container can be killed mid-job.
  const first = await makeClip(media, 'A001_C001', 'h264-stereo', {
    width: 1280,
    height: 720,
    seconds: 8,
  });
  const files = [first];
  for (let i = 2; i <= 6; i++) {
    const copy = path.join(media, `A001_C00${i}.mov`);
    copyFileSync(first, copy);
    files.push(copy);
  }
  mkdirSync(path.join(work, 'proxies'), { recursive: true, mode: 0o777 });
  chmodSync(path.join(work, 'proxies'), 0o777);

  const queue = freshQueueName();
  const gw = await startScalingGateway(queue, {});
  try {
    const batch = await queueFiles(gw, files);
    assert.equal(batch.jobs.length, 6);

    let most = 0;
    const watch = setInterval(() => {
      void containerIds(queue).then((ids) => (most = Math.max(most, ids.length)));
    }, 200);
    try {
      const ids = await until('3 encoder containers running', 60, async () => {
        const ids = await containerIds(queue);
        return ids.length === 3 && ids;
      });
      const { stdout } = await run('docker', ['inspect', ids[0]!]);
      const [c] = JSON.parse(stdout) as {
        Name: string;
        Config: { Image: string; Env: string[]; Labels: Record<string, string> };
        HostConfig: { NetworkMode: string; Binds: string[]; NanoCpus: number; Memory: number };
      }[];
      assert.equal(c!.Config.Image, image);
      assert.equal(c!.Config.Labels['proxima.role'], 'encoder');
      assert.equal(c!.HostConfig.NetworkMode, 'host');
      assert.deepEqual(c!.HostConfig.Binds, [`${work}:${work}`]);
      assert.equal(c!.HostConfig.NanoCpus, 1.5e9);
      assert.equal(c!.HostConfig.Memory, 1024 * 1024 * 1024);
      assert.ok(c!.Config.Env.includes(`PROXIMA_BROKER__URL=${redis.url}`));
      assert.ok(c!.Config.Env.includes(`PROXIMA_ENCODER__INSTANCE=${c!.Name.slice(1)}`));

      // Kill (not stop) an encoder in the middle of its job: the job's lock runs out and the
      // job is encoded again elsewhere.
      const victim = await until('a busy encoder', 60, async () => {
        const s = (await getJson(gw, '/workers')) as {
          workers: { id: string; instance?: string; current: { jobId: string }[] }[];
        };
        const w = s.workers.find((w) => w.current.length > 0 && w.instance);
        return w && { name: w.instance!, workerId: w.id, jobId: w.current[0]!.jobId };
      });
      await run('docker', ['kill', victim.name]);

      const done = await until('all 6 jobs finished', 240, async () => {
        const b = batchViewSchema.parse(await getJson(gw, `/batches/${batch.id}`));
        return b.counts.completed + b.counts.failed === 6 && b;
      });
      assert.equal(done.counts.completed, 6, JSON.stringify(done.jobs.map((j) => j.error)));
      const handedOver = done.jobs.find((j) => j.id === victim.jobId);
      assert.ok(handedOver?.result, "the killed encoder's job completed");
      assert.notEqual(handedOver.result.worker, victim.workerId, 'by another encoder');
      for (const job of done.jobs) {
        const info = await probeFile(job.proxyPath);
        assert.equal(info.video?.codec, 'prores', job.proxyPath);
        assert.equal(info.video?.frameCount, 200, job.proxyPath);
        assert.equal(info.video?.width, 1280, job.proxyPath);
      }
    } finally {
      clearInterval(watch);
    }
    assert.ok(most <= 3, `at most 3 encoders at once, saw ${most}`);

    // Idle encoders exit after encoder.idle_exit_seconds; the gateway removes what is left.
    await until('every encoder container gone', 60, async () => {
      return (await containerIds(queue, true)).length === 0;
    });

    const view = await autoscaleView(gw);
    assert.equal(view.backend, 'docker');
    assert.ok(
      view.decisions.some((d) => d.desired === 3 && /6 jobs/.test(d.reason)),
      JSON.stringify(view.decisions.slice(-5)),
    );
    assert.ok(view.decisions.every((d) => d.desired <= 3));
  } finally {
    await gw.close();
  }
});

test('a broken backend is reported with its fix and retried; the gateway keeps serving', async () => {
  const queue = freshQueueName();
  const missing = `proxima-encoder-missing:${queue.toLowerCase()}`;
  const clip = await makeClip(path.join(work, 'media2'), 'B001', 'h264-stereo');
  const gw = await startScalingGateway(queue, {
    autoscale: { backend: 'docker', max: 1, interval_seconds: 1 },
    docker: { image: missing, mounts: [`${work}:${work}`] },
  });
  try {
    await queueFiles(gw, [clip]);
    const failed = await until('an image-missing decision', 30, async () => {
      const v = await autoscaleView(gw);
      return v.decisions.find((d) => d.error)?.error;
    });
    assert.equal(failed.code, 'DOCKER_IMAGE_MISSING');
    assert.match(failed.message, new RegExp(`encoder image ${missing.replace(/[.:]/g, '\\$&')}`));
    assert.match(failed.hint, /Dockerfile\.encoder/);
    const health = await fetch(`${gw.url}/v1/health`);
    assert.equal(health.status, 200);

    // Once the image exists, the next pass starts the encoder and the job is done.
    await run('docker', ['tag', image, missing]);
    try {
      await until('the job done', 120, async () => {
        const s = (await getJson(gw, '/status')) as { counts: { completed: number } };
        return s.counts.completed === 1;
      });
    } finally {
      await run('docker', ['rmi', missing]).catch(() => undefined);
    }
  } finally {
    await gw.close();
  }

  const noEngine = await startScalingGateway(freshQueueName(), {
    docker: { socket: path.join(work, 'no-docker.sock') },
  });
  try {
    const err = await until('an unreachable-engine decision', 30, async () => {
      return (await autoscaleView(noEngine)).decisions.find((d) => d.error)?.error;
    });
    assert.equal(err.code, 'DOCKER_UNREACHABLE');
    assert.match(err.message, /no-docker\.sock/);
  } finally {
    await noEngine.close();
  }
});

test('an encoder that cannot start is removed and its own last words are logged', async () => {
  const lines: string[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    }),
  );
  const port = await freePort();
  const clip = await makeClip(path.join(work, 'media3'), 'C001', 'h264-stereo');
  const queue = freshQueueName();
  const gw = await startScalingGateway(
    queue,
    {
      worker: { broker_wait_seconds: 1 },
      autoscale: { backend: 'docker', max: 1, interval_seconds: 1 },
      docker: { image, broker_url: `redis://127.0.0.1:${port}` },
    },
    logger,
  );
  try {
    await queueFiles(gw, [clip]);
    const said = await until('the failed encoder logged', 60, async () => {
      return lines.map((l) => JSON.parse(l) as { msg: string }).find((l) => /exited/.test(l.msg));
    });
    assert.match(
      said.msg,
      new RegExp(
        `^encoder proxima-encoder-${queue}-[0-9a-f]{8} exited with code 1: error: broker not reachable at redis://127\\.0\\.0\\.1:${port} after 1 s .* / hint: `,
      ),
    );
    // Not started again at once: the admin sees why in the decisions (and `proxima status`).
    const failed = await until('a start-failure decision', 30, async () => {
      return (await autoscaleView(gw)).decisions.find((d) => d.error)?.error;
    });
    assert.equal(failed.code, 'ENCODER_START_FAILED');
    assert.match(
      failed.message,
      /broker not reachable .* \(before its worker started; 1 in a row, next try in [1-5] s\)$/,
    );
    assert.match(failed.hint, /docker\.broker_url/);
    assert.equal(await containerIds(queue, true).then((ids) => ids.length), 0);
  } finally {
    await gw.close();
  }
});
