import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { parseAllDocuments } from 'yaml';
import { configSchema } from '../core/config/schema.ts';
import { statusResponseSchema, type WorkerInfo } from '../core/job/contract.ts';
import { jobQueueName, keys } from '../core/job/keys.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { startWorker } from '../encoder-image/worker.ts';
import { openRepositories } from '../gateway/repositories.ts';
import { startGateway, type Gateway } from '../gateway/server.ts';
import { cliSandbox, runCli } from './helpers/cli-run.ts';
import { makeClip } from './helpers/cli-media.ts';
import { freshQueueName, silentLogger, until } from './helpers/gateway-fixture.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
let gateway: Gateway;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-protocol-'));
const queue = freshQueueName();
const older = PROTOCOL_VERSION - 1;
let sandbox: ReturnType<typeof cliSandbox>;

before(async () => {
  redis = await startRedis();
  sandbox = cliSandbox({
    broker: { url: redis.url, queue },
    gateway: { listen: '127.0.0.1:0' },
    worker: { nice: 0, lock_seconds: 5 },
    log: { level: 'silent' },
  });
  gateway = await startGateway({
    config: configSchema.parse({
      broker: { url: redis.url, queue },
      paths: { proxy_root: sandbox.proxyRoot },
      gateway: { listen: '127.0.0.1:0' },
      log: { level: 'silent' },
    }),
    logger: silentLogger,
    brokerUrl: redis.url,
  });
  sandbox.env.PROXIMA_GATEWAY__URL = gateway.url;
});
after(async () => {
  await gateway.close();
  await redis.stop();
});

/** A job as a gateway of the protocol before would have queued it. */
const olderJob = {
  v: older,
  batchId: 'b-older-0000000',
  source: { path: '/m/old.mov', size: 1, mtimeMs: 1 },
  preset: 'prores-proxy',
  proxyPath: '/p/m/old.mov',
  proxyRoot: '/p',
  queuedAt: Date.now(),
};

test(`jobs go to <broker.queue>-p${PROTOCOL_VERSION}; a worker takes only its own protocol's queue`, async () => {
  const client = new Redis(redis.url);
  const oldQueue = new Queue(jobQueueName(queue, older), { connection: { url: redis.url } });
  const mine = new Queue(jobQueueName(queue), { connection: { url: redis.url } });
  try {
    await oldQueue.add('encode', olderJob, { jobId: 'px-older' });
    const clip = await makeClip(path.join(work, 'media'), 'A001', 'h264-stereo');
    const queued = await runCli(['queue', clip, '--no-wait', '--json'], { env: sandbox.env });
    assert.equal(queued.code, 0, queued.stderr);
    const jobId = (JSON.parse(queued.stdout) as { jobs: { id: string }[] }).jobs[0]!.id;
    assert.equal(await mine.getJobState(jobId), 'waiting', `in ${jobQueueName(queue)}`);
    assert.deepEqual(await client.keys(`bull:${queue}:*`), [], 'nothing in the unversioned queue');

    const worker = await startWorker({
      brokerUrl: redis.url,
      config: configSchema.parse({
        broker: { url: redis.url, queue },
        paths: { proxy_root: sandbox.proxyRoot },
        worker: { nice: 0, lock_seconds: 5 },
        log: { level: 'silent' },
      }),
      logger: silentLogger,
      concurrency: 2,
      searchPath: process.env.PATH ?? '',
    });
    try {
      await until(
        async () => (await mine.getJobState(jobId)) === 'completed',
        'the job of this protocol done',
        60_000,
      );
      // Two free slots, and still the older protocol's job was never taken.
      const old = (await oldQueue.getJob('px-older'))!;
      assert.equal(await old.getState(), 'waiting');
      assert.equal(old.attemptsStarted, 0, 'never started by a worker of another protocol');
    } finally {
      await worker.close();
    }
  } finally {
    await mine.obliterate({ force: true });
    await mine.close();
    await oldQueue.close();
    await client.quit();
  }
});

test('status lists workers of other protocols and says when waiting jobs have no compatible worker', async () => {
  const client = new Redis(redis.url);
  const oldQueue = new Queue(jobQueueName(queue, older), { connection: { url: redis.url } });
  const mine = new Queue(jobQueueName(queue), { connection: { url: redis.url } });
  const info: WorkerInfo = {
    id: 'old-bay-4242-ab12',
    host: 'old-bay',
    pid: 4242,
    version: '0.0.9',
    protocol: older,
    concurrency: 2,
    startedAt: Date.now() - 60_000,
    current: [],
    seenAt: Date.now(),
  };
  try {
    await client.set(keys.worker(queue, info.id), JSON.stringify(info), 'EX', 60);
    const clip = await makeClip(path.join(work, 'media'), 'A002', 'h264-stereo');
    const queued = await runCli(['queue', clip, '--no-wait'], { env: sandbox.env });
    assert.equal(queued.code, 0, queued.stderr);

    const run = await runCli(['status'], { env: sandbox.env });
    assert.equal(run.code, 0, run.stderr);
    console.log(`FIGURE: proxima status with only a protocol ${older} worker:\n${run.stdout}`);
    assert.match(run.stdout, new RegExp(`old-bay pid 4242 .* protocol ${older}: not these jobs`));
    assert.match(
      run.stdout,
      new RegExp(
        `no compatible worker: 1 waiting job needs a worker of protocol ${PROTOCOL_VERSION} .*protocol ${older} \\(v0\\.0\\.9\\)`,
      ),
    );
    const json = await runCli(['status', '--json'], { env: sandbox.env });
    const status = statusResponseSchema.parse(JSON.parse(json.stdout));
    assert.equal(status.protocol, PROTOCOL_VERSION);
    assert.deepEqual(
      status.workers.map((w) => w.protocol),
      [older],
    );

    // The autoscaler sizes encoders for this protocol's queue, not the older one's job.
    await oldQueue.add('encode', olderJob, { jobId: 'px-older-2' });
    const repos = await openRepositories({
      config: configSchema.parse({ broker: { url: redis.url, queue }, log: { level: 'silent' } }),
      logger: silentLogger,
      brokerUrl: redis.url,
    });
    try {
      assert.equal(repos.queue.name, jobQueueName(queue));
      const load = await repos.queue.load();
      assert.equal(load.waiting, 1, JSON.stringify(load));
    } finally {
      await repos.close();
    }

    // A compatible worker registered: no warning.
    await client.set(
      keys.worker(queue, 'new-bay-1'),
      JSON.stringify({ ...info, id: 'new-bay-1', host: 'new-bay', protocol: PROTOCOL_VERSION }),
      'EX',
      60,
    );
    const again = await runCli(['status'], { env: sandbox.env });
    assert.doesNotMatch(again.stdout, /no compatible worker/);
  } finally {
    await client.del(keys.worker(queue, info.id), keys.worker(queue, 'new-bay-1'));
    await mine.obliterate({ force: true });
    await oldQueue.obliterate({ force: true });
    await mine.close();
    await oldQueue.close();
    await client.quit();
  }
});

test("the KEDA overlay counts this protocol's queue", () => {
  const file = new URL('../k8s/overlays/keda/scaledobject.yaml', import.meta.url);
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());
  const lists = docs.flatMap((d: { spec?: { triggers?: { metadata: { listName: string } }[] } }) =>
    (d.spec?.triggers ?? []).map((t) => t.metadata.listName),
  );
  const name = jobQueueName('proxima', PROTOCOL_VERSION);
  assert.deepEqual(lists.sort(), [`bull:${name}:active`, `bull:${name}:wait`]);
});
