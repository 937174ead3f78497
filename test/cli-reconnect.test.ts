import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { proxyPathFor } from '../core/paths/proxy-path.ts';
import {
  BIN,
  cliSandbox,
  killCli,
  startCli,
  type CliSandbox,
  type RunningCli,
} from './helpers/cli-run.ts';
import { makeClip } from './helpers/cli-media.ts';
import { startPty } from './helpers/pty.ts';
import { clipProperties, installScene } from './helpers/resolve-scene.ts';
import { freePort, startRedis, type TestRedis } from './helpers/redis.ts';

// The gateway as people run it beside a shared broker (`proxima up --workers 0` with broker.url
// set), a worker as its own `proxima work` process, and `proxima queue --wait` in between. The
// gateway is killed with SIGKILL mid-batch, like a crashed machine or an OOM kill.

let redis: TestRedis;
let media: string;
let clips: string[] = [];
const running: RunningCli[] = [];

function start(args: string[], box: CliSandbox): RunningCli {
  const cli = startCli(args, { env: box.env });
  running.push(cli);
  return cli;
}

async function sandbox(extra: { gateway?: object } = {}): Promise<CliSandbox> {
  const port = await freePort();
  return cliSandbox({
    broker: { url: redis.url, queue: `cli-reconnect-${process.pid}-${port}` },
    gateway: { listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, ...extra.gateway },
    worker: { attempts: 1, nice: 0 },
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function killHard(cli: RunningCli): Promise<void> {
  cli.child.kill('SIGKILL');
  const r = await cli.done;
  assert.equal(r.signal, 'SIGKILL');
}

before(async () => {
  redis = await startRedis();
  const box = cliSandbox();
  media = path.join(box.root, 'media');
  // Long enough that a batch of them is still encoding while the gateway is gone and back.
  const names = ['R001', 'R002', 'R003', 'R004', 'R005'];
  clips = [];
  for (const pair of [names.slice(0, 2), names.slice(2, 4), names.slice(4)]) {
    clips.push(
      ...(await Promise.all(
        pair.map((n) =>
          makeClip(path.join(media, 'day1'), n, 'h264-stereo', {
            width: 640,
            height: 360,
            seconds: 10,
          }),
        ),
      )),
    );
  }
});

after(async () => {
  for (const cli of running) await killCli(cli);
  await redis.stop();
});

const count = (text: string, pattern: RegExp) =>
  text.split('\n').filter((l) => pattern.test(l)).length;

test('queue --wait rides out a gateway killed (-9) and restarted mid-batch, counting and linking each job once', async () => {
  const box = await sandbox({ gateway: { reconnect_seconds: 120 } });
  // Queued from a Resolve timeline, so each proxy is also linked as it is done.
  const scene = installScene({
    current_project: 'Feature',
    projects: {
      Feature: {
        current_timeline: 'Day 1',
        timelines: [
          {
            name: 'Day 1',
            id: 'tl-1',
            video_tracks: [
              { items: clips.map((c, i) => ({ name: path.basename(c), clip: `m-${i}` })) },
            ],
          },
        ],
        clips: Object.fromEntries(
          clips.map((c, i) => [
            `m-${i}`,
            {
              name: path.basename(c),
              properties: clipProperties(c, { Resolution: '640x360', Duration: '00:00:10:00' }),
            },
          ]),
        ),
      },
    },
  });
  let gateway = start(['up', '--workers', '0'], box);
  await gateway.waitFor(/gateway listening on/);
  const worker = start(['work', '-n', '1'], box);
  await worker.waitFor(/worker ready/);

  const queue = startCli(['queue', '--wait', '--resolve'], { env: { ...box.env, ...scene.env } });
  running.push(queue);
  // The first proxy is done: the batch is under way when the gateway dies.
  await queue.waitFor(/^done {6}/m, 120_000);
  await killHard(gateway);
  const lostAt = Date.now();

  // The worker carries on without the gateway; one more job finishes while it is away.
  const proxies = clips.map((c) => proxyPathFor(c, box.proxyRoot));
  const doneBefore = proxies.filter((p) => existsSync(p)).length;
  await until(
    'a proxy written while the gateway is down',
    () => proxies.filter((p) => existsSync(p)).length > doneBefore,
  );
  const doneWhileAway = proxies.filter((p) => existsSync(p)).length - doneBefore;

  gateway = start(['up', '--workers', '0'], box);
  await gateway.waitFor(/gateway listening on/);
  const restartedAt = Date.now();
  await queue.waitFor(/^gateway back after/m, 60_000);
  const backAt = Date.now();

  const r = await queue.done;
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const out = r.stdout;
  assert.equal(
    count(
      out,
      /^lost the gateway at http:\/\/127\.0\.0\.1:\d+; reconnecting for up to 120 s \(the batch keeps running\)$/,
    ),
    1,
    out,
  );
  assert.equal(count(out, /^gateway back after \d+\.\d s; resuming$/), 1, out);
  for (const [i, clip] of clips.entries()) {
    assert.equal(
      count(out, new RegExp(`^done {6}${escapeRe(clip)} -> ${escapeRe(proxies[i]!)}$`)),
      1,
      out,
    );
    assert.ok(existsSync(proxies[i]!), proxies[i]);
    assert.equal(
      count(
        out,
        new RegExp(`^linked {4}${escapeRe(path.basename(clip))} -> ${escapeRe(proxies[i]!)}$`),
      ),
      1,
      out,
    );
  }
  const lines = out.trimEnd().split('\n');
  assert.equal(lines.at(-2), `summary: ${clips.length} done, 0 failed of ${clips.length}`);
  assert.equal(r.stderr.includes('GATEWAY_UNREACHABLE'), false, r.stderr);
  // Resolve was asked once per clip, for the proxy of that clip.
  assert.deepEqual(
    scene
      .calls()
      .map((c) => [c.op, c.mediaId, c.path])
      .sort(),
    clips.map((_, i) => ['LinkProxyMedia', `m-${i}`, proxies[i]]).sort(),
  );
  await killCli(worker);
  await killCli(gateway);

  console.log(
    `FIGURE: gateway away ${((restartedAt - lostAt) / 1000).toFixed(1)} s (SIGKILL to listening again), ${doneWhileAway} job(s) finished meanwhile`,
  );
  console.log(
    `FIGURE: queue --wait reconnected ${((backAt - restartedAt) / 1000).toFixed(1)} s after the gateway listened again`,
  );
});

interface QueueJson {
  batch: string;
  waited: boolean;
  counts: { total: number; completed: number; unfinished: number };
  jobs: { id: string; source: string; state: string }[];
  skipped: unknown[];
  error: { code: string; message: string; hint: string };
}

test('a gateway away longer than gateway.reconnect_seconds ends queue --wait with GATEWAY_UNREACHABLE; --json still prints its summary', async () => {
  // No worker: the jobs stay waiting, and no event would come anyway.
  const box = await sandbox({ gateway: { reconnect_seconds: 3 } });
  const gateway = start(['up', '--workers', '0'], box);
  await gateway.waitFor(/gateway listening on/);
  const gatewayUrl = /gateway listening on (\S+)/.exec(gateway.stdout())![1]!;

  const plain = start(['queue', '--wait', clips[0]!], box);
  const json = start(['queue', '--json', clips[1]!], box);
  await plain.waitFor(/^queued 1 file as batch/m);
  // The --json one prints nothing before the end; the gateway lists its batch once queued.
  await until('both batches queued', async () => {
    const res = await fetch(`${gatewayUrl}/v1/batches`);
    return ((await res.json()) as { batches: unknown[] }).batches.length === 2;
  });
  // Both are following their batch's event stream by now (the first snapshot is out).
  await new Promise((r) => setTimeout(r, 1_000));
  await killHard(gateway);
  const lostAt = Date.now();

  const [p, j] = await Promise.all([plain.done, json.done]);
  const took = (Date.now() - lostAt) / 1000;

  assert.equal(p.code, 1, `${p.stdout}\n${p.stderr}`);
  const lost =
    /^lost the gateway at http:\/\/127\.0\.0\.1:\d+; reconnecting for up to 3 s \(the batch keeps running\)$/;
  assert.equal(count(p.stdout, lost), 1, p.stdout);
  const errorLine = new RegExp(
    `^error: lost the gateway at ${escapeRe(gatewayUrl)} while waiting for batch b-\\S+: no contact for 3 s$`,
    'm',
  );
  assert.match(p.stderr, errorLine);
  assert.match(p.stderr, /^hint: the batch keeps running; .*gateway\.reconnect_seconds/m);

  assert.equal(j.code, 1, `${j.stdout}\n${j.stderr}`);
  const summary = JSON.parse(j.stdout) as QueueJson;
  assert.match(summary.batch, /^b-/);
  assert.equal(summary.waited, true);
  assert.deepEqual(summary.counts, {
    total: 1,
    completed: 0,
    reused: 0,
    failed: 0,
    gone: 0,
    unfinished: 1,
  });
  assert.deepEqual(
    summary.jobs.map((job) => [job.source, job.state]),
    [[clips[1], 'waiting']],
  );
  assert.equal(summary.error.code, 'GATEWAY_UNREACHABLE');
  assert.match(summary.error.message, new RegExp(errorLine.source.replace('^error: ', '^')));
  assert.match(summary.error.hint, /gateway\.reconnect_seconds/);
  // The note and the error go to stderr, once each; stdout is the JSON alone.
  assert.equal(count(j.stderr, lost), 1, j.stderr);
  assert.match(j.stderr, /^error: lost the gateway/m);

  console.log(
    `FIGURE: reconnect_seconds 3: queue --wait gave up ${took.toFixed(1)} s after the gateway was killed (the limit counts from the last byte heard)`,
  );
});

test('at a terminal: a lost gateway is one line above the bars, however long it stays away; Ctrl-C ends the wait, and --json still prints its summary', async () => {
  const box = await sandbox({ gateway: { reconnect_seconds: 120 } });
  const gateway = start(['up', '--workers', '0'], box);
  await gateway.waitFor(/gateway listening on/);
  const gatewayUrl = /gateway listening on (\S+)/.exec(gateway.stdout())![1]!;

  const bars = startPty([process.execPath, BIN, 'queue', clips[2]!], box.env);
  const json = startPty([process.execPath, BIN, 'queue', '--json', clips[3]!], box.env);
  try {
    await bars.waitFor(/queued 1 file as batch/);
    await bars.waitFor(/0\/1 done, 1 waiting/);
    await until('both batches queued', async () => {
      const res = await fetch(`${gatewayUrl}/v1/batches`);
      return ((await res.json()) as { batches: unknown[] }).batches.length === 2;
    });
    await new Promise((r) => setTimeout(r, 1_000));
    await killHard(gateway);
    await bars.waitFor(/lost the gateway at/);
    await json.waitFor(/lost the gateway at/);
    // Retries at 0.5, 1.5, 3.5 and 7.5 s: none of them adds a line.
    await new Promise((r) => setTimeout(r, 8_000));
    bars.type('\x03');
    json.type('\x03');
    const [b, j] = await Promise.all([bars.done, json.done]);

    assert.equal(b.code, 130, b.output);
    // What the screen shows line by line, without the redraw's cursor movements and the ^C echo.
    const screen = b.output.replace(/\x1b\[[0-9;?]*[A-Za-z]|\r|\^C/g, '');
    assert.equal(b.output.split('lost the gateway at').length - 1, 1, b.output);
    assert.match(
      screen,
      /^lost the gateway at http:\/\/127\.0\.0\.1:\d+; reconnecting for up to 120 s \(the batch keeps running\)$/m,
    );
    assert.match(
      screen,
      /^stopped watching batch b-\S+; its jobs keep running \(see `proxima status`\)$/m,
    );
    // The cursor is shown again.
    assert.ok(b.output.lastIndexOf('\x1b[?25h') > b.output.lastIndexOf('\x1b[?25l'), b.output);

    assert.equal(j.code, 130, j.output);
    assert.equal(j.output.split('lost the gateway at').length - 1, 1, j.output);
    const start = j.output.indexOf('{\n');
    const end = j.output.lastIndexOf('\n}') + 2;
    const summary = JSON.parse(j.output.slice(start, end)) as QueueJson;
    assert.equal(summary.waited, true);
    assert.deepEqual(
      summary.jobs.map((job) => [job.source, job.state]),
      [[clips[3], 'waiting']],
    );
    assert.equal(summary.error.code, 'INTERRUPTED');
    assert.match(
      summary.error.message,
      /^stopped watching batch b-\S+; its jobs keep running \(SIGINT\)$/,
    );
  } finally {
    bars.kill();
    json.kill();
  }
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
