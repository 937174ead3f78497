import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  cliSandbox,
  runCli,
  startCli,
  type CliSandbox,
  type RunningCli,
} from './helpers/cli-run.ts';
import { makeClip } from './helpers/cli-media.ts';
import { jobsLeft, startNamespacedWorker, stopWorker } from './helpers/doctor-stack.ts';
import { freePort, startRedis, type TestRedis } from './helpers/redis.ts';

// `proxima queue` asks a worker about a sample of its sources before sending them: a real
// gateway (`proxima up --workers 0`) and real workers, some in a mount namespace where the media
// or the proxy root is covered by a tmpfs, as on a farm machine with a missing or read-only mount.

let redis: TestRedis;
let box: CliSandbox;
let stack: RunningCli;
let queue: string;
let gatewayUrl: string;

before(async () => {
  redis = await startRedis();
  const port = await freePort();
  queue = `preflight-${process.pid}`;
  gatewayUrl = `http://127.0.0.1:${port}`;
  box = cliSandbox({
    broker: { url: redis.url, queue },
    gateway: { listen: `127.0.0.1:${port}`, url: gatewayUrl },
    worker: { attempts: 1 },
  });
  mkdirSync(box.proxyRoot, { recursive: true });
  stack = startCli(['up', '--workers', '0'], { env: box.env });
  await stack.waitFor(/gateway listening on/);
});
after(async () => {
  if (stack.child.exitCode === null) stack.child.kill('SIGINT');
  await stack.done;
  await redis.stop();
});

/** Until the gateway lists exactly this many workers. */
async function workersRegistered(n: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${gatewayUrl}/v1/workers`).catch(() => null);
    const body = res?.ok ? ((await res.json()) as { workers: unknown[] }) : { workers: [] };
    if (body.workers.length === n) return;
    if (Date.now() > deadline) throw new Error(`never ${n} workers registered`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function batches(): Promise<unknown[]> {
  const res = await fetch(`${gatewayUrl}/v1/batches`);
  return ((await res.json()) as { batches: unknown[] }).batches;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function timed(args: string[]) {
  const started = performance.now();
  const r = await runCli(args, { env: box.env });
  return { ...r, seconds: (performance.now() - started) / 1000 };
}

test('a worker that cannot see the media: queue refuses with the doctor line; --no-preflight queues', async () => {
  const media = path.join(box.root, 'hidden');
  const clip = await makeClip(media, 'A001', 'h264-stereo');
  const blind = startNamespacedWorker(box.env, [{ path: media }]);
  try {
    await blind.waitFor(/worker ready/);
    await workersRegistered(1);

    const r = await timed(['queue', '--no-wait', media]);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    const seen = `${esc(clip)} is not visible on worker \\S+: mount the media there at this path, or map it with paths\\.mappings`;
    assert.match(
      r.stderr,
      new RegExp(`^FAIL source: ${seen} -> mount the media on the workers`, 'm'),
    );
    assert.match(r.stderr, new RegExp(`^error: pre-flight: ${seen}$`, 'm'));
    assert.match(
      r.stderr,
      /^hint: fix what the lines above say \(`proxima doctor PATHS` checks again\), or queue anyway with --no-preflight$/m,
    );
    assert.doesNotMatch(r.stdout, /queued/);
    // Nothing was sent: no batch, and no job of any kind (the probe is gone once answered).
    assert.deepEqual(await batches(), []);
    assert.equal(await jobsLeft(redis.url, queue), 0);

    const json = await runCli(['queue', '--no-wait', '--json', media], { env: box.env });
    assert.equal(json.code, 1, json.stderr);
    const out = JSON.parse(json.stdout) as { batch: null; error: { code: string; hint: string } };
    assert.equal(out.batch, null);
    assert.equal(out.error.code, 'PREFLIGHT_FAILED');
    assert.match(out.error.hint, /--no-preflight/);

    const forced = await timed(['queue', '--no-wait', '--no-preflight', media]);
    assert.equal(forced.code, 0, `${forced.stdout}\n${forced.stderr}`);
    assert.match(forced.stdout, /^queued 1 file as batch \S+ /m);
    assert.equal((await batches()).length, 1);
    console.log(
      `FIGURE: queue refused by its pre-flight in ${r.seconds.toFixed(2)} s; with --no-preflight queued in ${forced.seconds.toFixed(2)} s`,
    );
  } finally {
    await stopWorker(blind);
  }
});

test('a read-only proxy root on the worker: queue refuses naming it', async () => {
  const media = path.join(box.root, 'ro-case');
  await makeClip(media, 'B001', 'h264-stereo');
  const worker = startNamespacedWorker(box.env, [{ path: box.proxyRoot, readOnly: true }]);
  try {
    await worker.waitFor(/worker ready/);
    await workersRegistered(1);
    const before = (await batches()).length;
    const r = await runCli(['queue', '--no-wait', media], { env: box.env });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(
        `^FAIL proxy root: proxy root ${esc(box.proxyRoot)} is read-only on worker \\S+: mount it read-write there, or set paths\\.proxy_root -> `,
        'm',
      ),
    );
    assert.match(r.stderr, /^error: pre-flight: proxy root .* is read-only on worker /m);
    assert.equal((await batches()).length, before, 'no batch was queued');
  } finally {
    await stopWorker(worker);
  }
});

test('a worker that sees everything: the pre-flight passes and the batch is encoded', async () => {
  const media = path.join(box.root, 'good');
  await makeClip(media, 'C001', 'h264-stereo');
  await workersRegistered(0);
  const worker = startCli(['work', '-n', '1'], { env: box.env });
  try {
    await worker.waitFor(/worker ready/);
    await workersRegistered(1);
    const r = await timed(['queue', '--json', media]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout) as {
      counts: { total: number; completed: number };
      jobs: { proxyPath: string }[];
    };
    assert.equal(out.counts.total, 1);
    assert.equal(out.counts.completed, 1);
    assert.doesNotMatch(r.stderr, /FAIL|pre-flight/);
    console.log(
      `FIGURE: queue with a passing pre-flight, one 1 s clip encoded: ${r.seconds.toFixed(2)} s`,
    );

    // doctor's estimate of the batch's proxies against the proxy the worker wrote.
    const actual = statSync(out.jobs[0]!.proxyPath).size;
    const d = await runCli(['doctor', media], { env: box.env });
    assert.equal(d.code, 0, d.stdout);
    const m = /need about ([\d.]+) (KiB|MiB|GiB)/.exec(d.stdout);
    assert.ok(m, d.stdout);
    const unit = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[m[2] as 'KiB' | 'MiB' | 'GiB'];
    const estimate = Number(m[1]) * unit;
    console.log(
      `FIGURE: doctor estimated the proxy at ${Math.round(estimate)} bytes; the worker wrote ${actual} (estimate / written ${(estimate / actual).toFixed(2)})`,
    );
    assert.ok(estimate > actual / 3 && estimate < actual * 3, `${estimate} vs ${actual}`);
  } finally {
    worker.child.kill('SIGTERM');
    await worker.done;
  }
});

test('with layout beside, a read-only proxy root is no reason to refuse: the proxy goes beside the clip', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The same user with the other layout: a gateway and a worker of their own queue.
  const env = {
    ...box.env,
    PROXIMA_PATHS__LAYOUT: 'beside',
    PROXIMA_BROKER__QUEUE: `${queue}-beside`,
    PROXIMA_GATEWAY__LISTEN: `127.0.0.1:${port}`,
    PROXIMA_GATEWAY__URL: url,
  };
  const beside = startCli(['up', '--workers', '0'], { env });
  const media = path.join(box.root, 'beside-case');
  const clip = await makeClip(media, 'D001', 'h264-stereo');
  let worker: RunningCli | undefined;
  try {
    await beside.waitFor(/gateway listening on/);
    worker = startNamespacedWorker(env, [{ path: box.proxyRoot, readOnly: true }]);
    await worker.waitFor(/worker ready/);
    const r = await runCli(['queue', '--json', media], { env });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /FAIL|pre-flight/);
    const out = JSON.parse(r.stdout) as {
      counts: { completed: number };
      jobs: { proxyPath: string }[];
    };
    assert.equal(out.counts.completed, 1);
    const proxy = path.join(media, 'Proxy', 'D001.mov');
    assert.equal(out.jobs[0]!.proxyPath, proxy);
    assert.ok(statSync(proxy).size > 0, `${proxy} beside ${clip}`);
  } finally {
    if (worker) await stopWorker(worker);
    beside.child.kill('SIGINT');
    await beside.done;
  }
});
