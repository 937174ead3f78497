import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BIN, cliSandbox, runCli, startCli, type CliSandbox } from './helpers/cli-run.ts';
import { makeClip } from './helpers/cli-media.ts';
import {
  alive,
  descendants,
  killAll,
  procInfo,
  until,
  type ProcInfo,
} from './helpers/processes.ts';
import { startPty, type PtyProcess } from './helpers/pty.ts';
import { freePort } from './helpers/redis.ts';

// Ctrl-C as a person presses it: "\x03" typed at a real pseudo-terminal, which the kernel turns
// into SIGINT for the terminal's whole foreground process group.

const CTRL_C = '\x03';
/** A line of a JavaScript stack trace, as an unhandled error prints it. */
const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

async function sandbox(): Promise<CliSandbox & { port: number }> {
  const port = await freePort();
  const box = cliSandbox({
    gateway: { listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` },
    // A short lock, so a job whose worker was killed is retried soon by the next one.
    worker: { lock_seconds: 10 },
  });
  return { ...box, port };
}

/** A clip that takes a few seconds to encode, so Ctrl-C lands mid-encode. */
function longClip(box: CliSandbox): Promise<string> {
  return makeClip(path.join(box.root, 'media'), 'A001C001', 'h264-stereo', {
    width: 640,
    height: 360,
    seconds: 20,
  });
}

async function queueOne(box: CliSandbox, clip: string): Promise<string> {
  const r = await runCli(['queue', clip, '--no-wait', '--json'], { env: box.env });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const summary = JSON.parse(r.stdout) as { jobs: { id: string }[] };
  return summary.jobs[0]!.id;
}

function isEncoder(p: ProcInfo): boolean {
  return /ffmpeg$/.test(p.argv[0] ?? '') && p.argv.includes('-progress');
}

/** Waits until the stack below `pid` runs an ffmpeg encode; returns every process below it. */
async function midEncode(pid: number, terminal: () => string): Promise<ProcInfo[]> {
  let below: ProcInfo[] = [];
  try {
    await until(
      () => (below = descendants(pid)).some(isEncoder),
      'an ffmpeg encode below the CLI',
      120_000,
    );
  } catch (err) {
    // What the terminal showed is the first thing to read when no encode ever started.
    throw new Error(`${(err as Error).message}\nterminal:\n${terminal()}`);
  }
  return below;
}

async function jobState(port: number, id: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/jobs/${id}`);
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { state: string }).state;
}

/** The stack's parts are out of the terminal's process group, so its SIGINT reaches only `up`. */
function assertOwnGroups(cliPid: number, below: ProcInfo[]): void {
  const cli = procInfo(cliPid)!;
  const redis = below.find((p) => /redis-server/.test(p.argv[0] ?? ''));
  const worker = below.find((p) => p.argv.includes('work'));
  assert.ok(redis, below.map((p) => p.argv.join(' ')).join('\n'));
  assert.ok(worker, below.map((p) => p.argv.join(' ')).join('\n'));
  assert.notEqual(redis.pgid, cli.pgid, 'redis-server shares the terminal process group');
  assert.notEqual(worker.pgid, cli.pgid, 'the worker shares the terminal process group');
}

function assertCleanOutput(output: string): void {
  assert.doesNotMatch(output, STACK_LINE, output);
  assert.doesNotMatch(output, /ECONNREFUSED|Connection is closed/, output);
}

async function assertAllGone(below: ProcInfo[]): Promise<void> {
  // Everything was awaited before the CLI exited; a moment for the kernel to reap them.
  await until(() => below.every((p) => !alive(p.pid)), 'every process of the stack gone', 5_000);
}

/** The private redis-server was stopped by us (SIGTERM, last), never by the terminal's SIGINT. */
function assertRedisNeverInterrupted(box: CliSandbox): void {
  const log = readFileSync(path.join(box.stateDir, 'redis', 'redis.log'), 'utf8');
  assert.match(log, /Received SIGTERM/, log);
  assert.doesNotMatch(log, /Received SIGINT/, log);
}

function partials(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) =>
    path.basename(f).includes('.partial'),
  );
}

async function startUp(
  box: CliSandbox,
  workers: number,
): Promise<{ pty: PtyProcess; pid: number }> {
  const pty = startPty([process.execPath, BIN, 'up', '--workers', String(workers)], box.env);
  const pid = await pty.pid;
  await pty.waitFor(/press Ctrl-C to stop/, 120_000);
  return { pty, pid };
}

async function exitOf(pty: PtyProcess, deadlineMs: number) {
  const t0 = Date.now();
  const timer = setTimeout(() => pty.kill(), deadlineMs);
  const result = await pty.done;
  clearTimeout(timer);
  return { ...result, seconds: (Date.now() - t0) / 1000 };
}

test('Ctrl-C at the terminal stops `up` mid-encode: the job finishes, then everything stops', async () => {
  const box = await sandbox();
  const clip = await longClip(box);
  const { pty, pid } = await startUp(box, 1);
  let below: ProcInfo[] = [];
  try {
    const id = await queueOne(box, clip);
    below = await midEncode(pid, pty.output);
    assertOwnGroups(pid, below);

    pty.type(CTRL_C);
    const r = await exitOf(pty, 120_000);
    console.log(`FIGURE: up, one Ctrl-C mid-encode: stopped ${r.seconds.toFixed(1)} s later`);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /stopping: running jobs finish first/);
    assert.match(r.output, /^stopped$/m);
    assertCleanOutput(r.output);
    await assertAllGone(below);
    assert.ok(!existsSync(path.join(box.stateDir, 'broker.json')));
    assert.deepEqual(partials(box.proxyRoot), []);
    assertRedisNeverInterrupted(box);

    // The job finished before the stack stopped; the next stack's broker still knows it.
    const again = startCli(['up', '--workers', '0'], { env: box.env });
    try {
      await again.waitFor(/press Ctrl-C to stop/, 120_000);
      assert.equal(await jobState(box.port, id), 'completed');
    } finally {
      again.child.kill('SIGINT');
      assert.equal((await again.done).code, 0);
    }
  } finally {
    pty.kill();
    killAll(below.map((p) => p.pid));
  }
});

test('Ctrl-C twice hands the running job back at once; the next `up` encodes it', async () => {
  const box = await sandbox();
  const clip = await longClip(box);
  const { pty, pid } = await startUp(box, 1);
  let below: ProcInfo[] = [];
  let id = '';
  try {
    id = await queueOne(box, clip);
    below = await midEncode(pid, pty.output);
    assertOwnGroups(pid, below);

    pty.type(CTRL_C);
    await pty.waitFor(/stopping: running jobs finish first/, 30_000);
    pty.type(CTRL_C);
    const r = await exitOf(pty, 120_000);
    console.log(`FIGURE: up, two Ctrl-C mid-encode: stopped ${r.seconds.toFixed(1)} s later`);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /handing running jobs back to the queue/);
    assertCleanOutput(r.output);
    await assertAllGone(below);
    // Handed back, not finished: no proxy, and no half-written one either.
    const proxy = path.join(box.proxyRoot, clip);
    assert.ok(!existsSync(proxy), proxy);
    assert.deepEqual(partials(box.proxyRoot), []);
    assertRedisNeverInterrupted(box);
  } finally {
    pty.kill();
    killAll(below.map((p) => p.pid));
  }

  // Not lost: a new `up` finds it in its broker's append-only file and encodes it.
  const second = await startUp(box, 1);
  let after: ProcInfo[] = [];
  try {
    const t0 = Date.now();
    await until(async () => (await jobState(box.port, id)) === 'completed', 'job done', 180_000);
    console.log(
      `FIGURE: up, handed-back job done ${((Date.now() - t0) / 1000).toFixed(1)} s after the next up`,
    );
    after = descendants(second.pid);
    const proxy = path.join(box.proxyRoot, clip);
    assert.ok(statSync(proxy).size > 0, proxy);
    second.pty.type(CTRL_C);
    const r = await exitOf(second.pty, 120_000);
    assert.equal(r.code, 0, r.output);
    assertCleanOutput(r.output);
    await assertAllGone(after);
  } finally {
    second.pty.kill();
    killAll(after.map((p) => p.pid));
  }
});

test('Ctrl-C at the terminal stops `demo` mid-encode at once; the next demo finishes the jobs', async () => {
  const box = await sandbox();
  const args = ['demo', '--size', '640x360', '--seconds', '12', '--workers', '1'];
  const pty = startPty([process.execPath, BIN, ...args], box.env);
  const pid = await pty.pid;
  let below: ProcInfo[] = [];
  try {
    await pty.waitFor(/queued \d+ clips as batch/, 180_000);
    below = await midEncode(pid, pty.output);
    assertOwnGroups(pid, below);

    pty.type(CTRL_C);
    const r = await exitOf(pty, 120_000);
    console.log(`FIGURE: demo, one Ctrl-C mid-encode: stopped ${r.seconds.toFixed(1)} s later`);
    assert.equal(r.code, 130, r.output);
    assert.match(r.output, /handing running jobs back/);
    assert.match(r.output, /^stopped$/m);
    assertCleanOutput(r.output);
    await assertAllGone(below);
    assert.deepEqual(partials(box.proxyRoot), []);
  } finally {
    pty.kill();
    killAll(below.map((p) => p.pid));
  }

  const again = await runCli(args, { env: box.env, timeoutMs: 300_000 });
  assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
  const summary = /summary: (\d+) done, 0 failed(?:, \d+ deduplicated)? of (\d+)/.exec(
    again.stdout,
  );
  assert.ok(summary && summary[1] === summary[2], again.stdout);
  assertRedisNeverInterrupted(box);
});

test('closing the terminal mid-encode: `up` hands the job back, stops everything, and the next `up` encodes it', async () => {
  const box = await sandbox();
  const clip = await longClip(box);
  const { pty, pid } = await startUp(box, 1);
  let below: ProcInfo[] = [];
  let id = '';
  try {
    id = await queueOne(box, clip);
    below = await midEncode(pid, pty.output);

    pty.hangUp();
    const r = await exitOf(pty, 120_000);
    console.log(`FIGURE: up, terminal closed mid-encode: stopped ${r.seconds.toFixed(1)} s later`);
    // Ended by the hangup itself, as a program that cannot print any more should.
    assert.equal(r.signal, 1, `code ${r.code} signal ${r.signal}\n${r.output}`);
    await assertAllGone(below);
    assert.ok(!existsSync(path.join(box.stateDir, 'broker.json')));
    assert.ok(!existsSync(path.join(box.proxyRoot, clip)));
    assert.deepEqual(partials(box.proxyRoot), []);
    assertRedisNeverInterrupted(box);
  } finally {
    pty.kill();
    killAll(below.map((p) => p.pid));
  }

  const again = startCli(['up', '--workers', '1'], { env: box.env });
  try {
    await again.waitFor(/press Ctrl-C to stop/, 120_000);
    await until(async () => (await jobState(box.port, id)) === 'completed', 'job done', 180_000);
    assert.ok(statSync(path.join(box.proxyRoot, clip)).size > 0);
  } finally {
    again.child.kill('SIGINT');
    const r = await again.done;
    assert.equal(r.code, 0, r.stderr);
  }
});

test('closing the terminal mid-encode stops `demo` and everything it started', async () => {
  const box = await sandbox();
  const args = ['demo', '--size', '640x360', '--seconds', '12', '--workers', '1'];
  const pty = startPty([process.execPath, BIN, ...args], box.env);
  const pid = await pty.pid;
  let below: ProcInfo[] = [];
  try {
    await pty.waitFor(/queued \d+ clips as batch/, 180_000);
    below = await midEncode(pid, pty.output);
    pty.hangUp();
    const r = await exitOf(pty, 120_000);
    console.log(
      `FIGURE: demo, terminal closed mid-encode: stopped ${r.seconds.toFixed(1)} s later`,
    );
    assert.equal(r.signal, 1, `code ${r.code} signal ${r.signal}\n${r.output}`);
    await assertAllGone(below);
    assert.ok(!existsSync(path.join(box.stateDir, 'broker.json')));
    assert.deepEqual(partials(box.proxyRoot), []);
    assertRedisNeverInterrupted(box);
  } finally {
    pty.kill();
    killAll(below.map((p) => p.pid));
  }
});
