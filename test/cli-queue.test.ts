import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  cliSandbox,
  killCli,
  runCli,
  startCli,
  type CliSandbox,
  type RunningCli,
} from './helpers/cli-run.ts';
import { makeClip, truncatedCopy } from './helpers/cli-media.ts';
import { freePort, startRedis, type TestRedis } from './helpers/redis.ts';

interface QueueJson {
  batch: string;
  preset: string;
  waited: boolean;
  deduplicated: number;
  counts: {
    total: number;
    completed: number;
    reused: number;
    failed: number;
    gone: number;
    unfinished: number;
  };
  jobs: {
    id: string;
    source: string;
    state: string;
    proxyPath: string;
    reused: boolean | null;
    error: { code: string; message: string; hint: string } | null;
  }[];
  skipped: { path: string; reason: string }[];
}

let redis: TestRedis;
let box: CliSandbox;
let up: RunningCli;
let media: string;

async function gatewayConfig(queue: string) {
  const port = await freePort();
  return {
    broker: { url: redis.url, queue },
    gateway: { listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` },
    worker: { attempts: 1 },
  };
}

before(async () => {
  redis = await startRedis();
  box = cliSandbox(await gatewayConfig(`cli-queue-${process.pid}`));
  up = startCli(['up', '--workers', '2'], { env: box.env });
  media = path.join(box.root, 'media');
  const day1 = path.join(media, 'day1');
  // Made while the stack starts; A001 twice, so the two proxies must keep their extensions.
  await Promise.all([
    makeClip(day1, 'A001', 'h264-stereo'),
    makeClip(day1, 'A001', 'interlaced-mpeg2-mxf'),
    makeClip(path.join(day1, 'cam b'), 'B001', 'no-audio'),
    makeClip(path.join(media, 'day2'), 'C001', 'h264-stereo'),
    makeClip(path.join(media, 'bad'), 'D001', 'h264-stereo'),
  ]);
  writeFileSync(path.join(day1, 'sound.WAV'), 'not really audio');
  writeFileSync(path.join(day1, 'still.jpg'), 'not really a still');
  truncatedCopy(path.join(media, 'day2', 'C001.mov'), path.join(media, 'bad', 'D002.mov'));
  await up.waitFor(/^monitor /m);
});

after(async () => {
  await killCli(up);
  await redis.stop();
});

function parseJson(stdout: string): QueueJson {
  return JSON.parse(stdout) as QueueJson;
}

test('up names the monitor page, and the gateway serves it there', async () => {
  const url = /^monitor (http\S+) /m.exec(up.stdout())?.[1];
  assert.ok(url, up.stdout());
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /<title>Proxima monitor<\/title>/);
});

test('queue --json encodes a folder and lists every proxy', async () => {
  const r = await runCli(['queue', '--json', path.join(media, 'day1')], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  const out = parseJson(r.stdout);
  assert.equal(out.waited, true);
  assert.equal(out.preset, 'prores-proxy');
  assert.deepEqual(out.counts, {
    total: 3,
    completed: 3,
    reused: 0,
    failed: 0,
    gone: 0,
    unfinished: 0,
  });
  const day1 = path.join(media, 'day1');
  const proxyDir = path.join(box.proxyRoot, day1.slice(1));
  assert.deepEqual(
    out.jobs.map((j) => [j.source, j.state, j.proxyPath, j.error]).sort(),
    [
      [path.join(day1, 'A001.mov'), 'completed', path.join(proxyDir, 'A001_mov.mov'), null],
      [path.join(day1, 'A001.mxf'), 'completed', path.join(proxyDir, 'A001_mxf.mov'), null],
      [
        path.join(day1, 'cam b', 'B001.mp4'),
        'completed',
        path.join(proxyDir, 'cam b', 'B001.mov'),
        null,
      ],
    ].sort(),
  );
  for (const j of out.jobs) assert.ok(statSync(j.proxyPath).size > 0, j.proxyPath);
  assert.deepEqual(
    out.skipped.map((s) => [path.basename(s.path), s.reason]),
    [
      ['sound.WAV', 'audio only'],
      ['still.jpg', 'still image'],
    ],
  );
});

test('queueing the same folder again encodes nothing new', async () => {
  const day1 = path.join(media, 'day1');
  const first = parseJson((await runCli(['queue', '--json', day1], { env: box.env })).stdout);
  const before = first.jobs.map((j) => statSync(j.proxyPath).mtimeMs);
  const r = await runCli(['queue', '--json', day1], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  const again = parseJson(r.stdout);
  assert.notEqual(again.batch, first.batch);
  assert.equal(again.deduplicated, 3);
  assert.equal(again.counts.completed, 3);
  assert.deepEqual(
    again.jobs.map((j) => statSync(j.proxyPath).mtimeMs),
    before,
  );
});

test('--reencode encodes done clips again and replaces their proxies', async () => {
  const day1 = path.join(media, 'day1');
  const first = parseJson((await runCli(['queue', '--json', day1], { env: box.env })).stdout);
  const before = new Map(first.jobs.map((j) => [j.proxyPath, statSync(j.proxyPath).mtimeMs]));
  const r = await runCli(['queue', '--json', '--reencode', day1], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  const again = parseJson(r.stdout);
  assert.equal(again.deduplicated, 0);
  assert.deepEqual(again.counts, {
    total: 3,
    completed: 3,
    reused: 0,
    failed: 0,
    gone: 0,
    unfinished: 0,
  });
  for (const j of again.jobs) {
    assert.ok(statSync(j.proxyPath).mtimeMs > before.get(j.proxyPath)!, `${j.proxyPath} rewritten`);
    assert.equal(j.reused, false);
  }
  // Without the flag, the new proxies are what a later queue finds done.
  const third = parseJson((await runCli(['queue', '--json', day1], { env: box.env })).stdout);
  assert.equal(third.deduplicated, 3);
});

test('a truncated clip fails with its reason while the rest of the batch completes (exit 1)', async () => {
  const r = await runCli(['queue', '--json', path.join(media, 'bad')], { env: box.env });
  assert.equal(r.code, 1, r.stderr);
  const out = parseJson(r.stdout);
  assert.equal(out.counts.failed, 1);
  assert.equal(out.counts.completed, 1);
  const bad = out.jobs.find((j) => j.source.endsWith('D002.mov'));
  assert.equal(bad?.state, 'failed');
  assert.ok(bad?.error?.code, 'has an error code');
  assert.ok(bad?.error?.message, 'has an error message');
  assert.ok(!existsSync(bad.proxyPath), 'no proxy for the truncated clip');
});

test('without --json and not at a terminal: one line per job, then the summary', async () => {
  const day2 = path.join(media, 'day2');
  const r = await runCli(['queue', '--wait', day2], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  const proxy = path.join(box.proxyRoot, day2.slice(1), 'C001.mov');
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^queued 1 file as batch b-\S+ \(prores-proxy\)$/);
  assert.ok(lines.includes(`done      ${path.join(day2, 'C001.mov')} -> ${proxy}`), r.stdout);
  assert.equal(lines.at(-2), 'summary: 1 done, 0 failed of 1');
  assert.equal(lines.at(-1), `proxies in ${path.dirname(proxy)}`);
  assert.ok(existsSync(proxy));
});

test('status --json shows the worker of `proxima up`', async () => {
  const r = await runCli(['status', '--json'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  const status = JSON.parse(r.stdout) as {
    queue: string;
    workers: { host: string; pid: number; concurrency: number; current: unknown[] }[];
  };
  assert.equal(status.queue, `cli-queue-${process.pid}`);
  assert.equal(status.workers.length, 1);
  assert.equal(status.workers[0]?.concurrency, 2);
  assert.ok(status.workers[0]!.pid > 0);
  const text = await runCli(['status'], { env: box.env });
  assert.match(text.stdout, /^queue cli-queue-\d+: \d+ waiting/);
  assert.match(text.stdout, /workers: 1\n {2}\S+ pid \d+ {2}0\/2 busy/);
});

test('purge removes waiting jobs, and asks before doing so', async () => {
  // A gateway with no workers on its own queue, so the jobs stay waiting.
  const idle = cliSandbox(await gatewayConfig(`cli-purge-${process.pid}`));
  const stack = startCli(['up', '--workers', '0'], { env: idle.env });
  try {
    await stack.waitFor(/gateway listening on/);
    const q = await runCli(['queue', '--json', '--no-wait', path.join(media, 'day1')], {
      env: idle.env,
    });
    assert.equal(q.code, 0, q.stderr);
    const queued = parseJson(q.stdout);
    assert.equal(queued.waited, false);
    assert.ok(queued.jobs.every((j) => j.state === 'waiting'));

    const refused = await runCli(['purge'], { env: idle.env });
    assert.equal(refused.code, 2);
    assert.equal(
      refused.stderr,
      'error: purge removes every waiting job and needs confirmation\nhint: run it at a terminal, or pass --yes\n',
    );

    const r = await runCli(['purge', '--yes'], { env: idle.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'removed 3 waiting jobs\n');
    const status = JSON.parse((await runCli(['status', '--json'], { env: idle.env })).stdout) as {
      counts: { waiting: number };
    };
    assert.equal(status.counts.waiting, 0);
  } finally {
    stack.child.kill('SIGINT');
    await stack.done;
  }
});

test('a gateway that is not running is a named error with a hint (exit 1)', async () => {
  const config = await gatewayConfig('cli-down');
  const down = cliSandbox(config);
  for (const args of [['queue', path.join(media, 'day2')], ['status'], ['purge', '--yes']]) {
    const r = await runCli(args, { env: down.env });
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(
      r.stderr,
      `error: gateway not reachable at ${config.gateway.url}\nhint: start the local stack with \`proxima up\`, or set gateway.url\n`,
    );
  }
});

test('Ctrl-C stops `proxima up`: workers, gateway, then the broker connection', async () => {
  up.child.kill('SIGINT');
  const r = await up.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /stopping: running jobs finish first/);
  assert.match(r.stdout, /\nstopped\n$/);
  const gone = await runCli(['status'], { env: box.env });
  assert.equal(gone.code, 1);
});
