import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { decodeJobError } from '../core/job/job-error.ts';
import { sweepTempTree } from '../core/paths/safe-write.ts';
import { tempNameFor } from '../core/paths/temp-name.ts';
import { FfmpegFailed, type FfmpegRunner } from '../encoder-image/ffmpeg-runner.ts';
import { probeFile, runFfmpeg, TEST_SIZE } from './helpers/media.ts';
import { gate, openQueue, startProxyWorker, until } from './helpers/proxy-worker.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { jobFor } from './helpers/worker-jobs.ts';

let redis: TestRedis;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-write-'));
const media = path.join(work, 'media');
const clips: string[] = [];

before(async () => {
  redis = await startRedis();
  mkdirSync(media, { recursive: true });
  for (const name of ['A001.mp4', 'A002.mp4', 'A003.mp4', 'A004.mp4', 'A005.mp4']) {
    const file = path.join(media, name);
    await runFfmpeg(sampleClipArgs('h264-stereo', file, TEST_SIZE));
    clips.push(file);
  }
});
after(async () => {
  await redis.stop();
});

const opts = { attempts: 3, backoff: { type: 'fixed', delay: 200 } };

function errorCode(err: unknown): string {
  return decodeJobError(err instanceof Error ? err.message : String(err)).code;
}

function partials(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.partial'),
  );
}

/** The real runner; records the file ffmpeg wrote and waits at `g` before or after running. */
function pausing(
  g: ReturnType<typeof gate>,
  where: 'before' | 'after',
  out: { temp?: string },
): (real: FfmpegRunner) => FfmpegRunner {
  return (real) => ({
    async run(args, o) {
      out.temp = args.at(-1);
      const hold = async () => {
        g.reached = true;
        await new Promise<void>((resolve, reject) => {
          void g.wait.then(resolve);
          o.signal?.addEventListener('abort', () =>
            reject(new FfmpegFailed('aborted', null, true)),
          );
        });
      };
      if (where === 'before') await hold();
      await real.run(args, o);
      if (where === 'after') await hold();
    },
  });
}

test('two attempts of one job write their own temp files; the one that lost its lock writes nothing', async () => {
  const q = await openQueue(redis.url);
  const root = path.join(work, 'p1');
  const gA = gate();
  const gB = gate();
  const a: { temp?: string } = {};
  const b: { temp?: string } = {};
  const A = await startProxyWorker(redis.url, q.name, {
    id: 'A',
    ffmpeg: pausing(gA, 'after', a),
    skipStalledCheck: true,
  });
  let B: Awaited<ReturnType<typeof startProxyWorker>> | undefined;
  try {
    const j = jobFor(clips[0]!, root);
    let completions = 0;
    q.events.on('completed', ({ jobId }) => void (jobId === j.id && completions++));
    await q.queue.add('encode', j.data, { ...opts, jobId: j.id });
    await until('attempt A to finish encoding', () => gA.reached);
    assert.match(path.basename(a.temp!), /^\.A001\.px-[0-9a-f]{24}\.[0-9a-f]{32}\.partial$/);
    assert.ok(lstatSync(a.temp!).isFile());

    // A's lock runs out (a paused machine, a lost network); the job goes to another worker.
    await q.dropLock(j.id);
    B = await startProxyWorker(redis.url, q.name, {
      id: 'B',
      ffmpeg: pausing(gB, 'after', b),
      stalledIntervalMs: 300,
    });
    await until('attempt B to finish encoding', () => gB.reached);
    assert.notEqual(b.temp, a.temp, 'each attempt has its own temp file');
    assert.ok(existsSync(b.temp!));
    assert.ok(!existsSync(a.temp!), "B, holding the lock, swept the lost attempt's temp file");

    // A carries on first: it no longer holds the lock, so it must not write the proxy, and its
    // clean-up must not touch B's file.
    gA.open();
    await until('attempt A to give up', () => A.thrown.length > 0);
    assert.equal(errorCode(A.thrown[0]), 'LOCK_LOST');
    assert.ok(existsSync(b.temp!), "A left B's temp file alone");
    assert.ok(!existsSync(j.data.proxyPath), 'A wrote no proxy');

    gB.open();
    const result = await (await q.queue.getJob(j.id))!.waitUntilFinished(q.events, 60_000);
    assert.equal(result.worker, 'B');
    assert.equal((await probeFile(j.data.proxyPath)).video?.codec, 'prores');
    assert.deepEqual(partials(root), []);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(completions, 1, 'the result is counted once');
  } finally {
    gA.open();
    gB.open();
    await A.close();
    await B?.close();
    await q.close();
  }
});

test('a stale attempt that gets to the rename after another worker finished leaves that proxy alone', async () => {
  const q = await openQueue(redis.url);
  const root = path.join(work, 'p2');
  const gA = gate();
  const a: { temp?: string } = {};
  const A = await startProxyWorker(redis.url, q.name, {
    id: 'A',
    ffmpeg: pausing(gA, 'before', a),
    skipStalledCheck: true,
  });
  let B: Awaited<ReturnType<typeof startProxyWorker>> | undefined;
  try {
    const j = jobFor(clips[1]!, root);
    await q.queue.add('encode', j.data, { ...opts, jobId: j.id });
    await until('attempt A to start ffmpeg', () => gA.reached);
    await q.dropLock(j.id);
    B = await startProxyWorker(redis.url, q.name, { id: 'B', stalledIntervalMs: 300 });
    const result = await (await q.queue.getJob(j.id))!.waitUntilFinished(q.events, 60_000);
    assert.equal(result.worker, 'B');
    const done = statSync(j.data.proxyPath);
    const bytes = readFileSync(j.data.proxyPath);

    gA.open(); // A now encodes and verifies its own proxy, then finds its lock gone.
    await until('attempt A to give up', () => A.thrown.length > 0);
    assert.equal(errorCode(A.thrown[0]), 'LOCK_LOST');
    const now = statSync(j.data.proxyPath);
    assert.equal(now.ino, done.ino, 'the verified proxy is the same file');
    assert.ok(readFileSync(j.data.proxyPath).equals(bytes), 'and has the same bytes');
    assert.deepEqual(partials(root), []);
    assert.equal(await (await q.queue.getJob(j.id))!.getState(), 'completed');
  } finally {
    gA.open();
    await A.close();
    await B?.close();
    await q.close();
  }
});

test('a job whose lock is lost mid-encode stops, removes its temp file and is not handed back', async () => {
  const q = await openQueue(redis.url);
  const root = path.join(work, 'p3');
  const gA = gate();
  const a: { temp?: string } = {};
  const A = await startProxyWorker(redis.url, q.name, {
    id: 'A',
    ffmpeg: pausing(gA, 'after', a),
    skipStalledCheck: true,
  });
  let B: Awaited<ReturnType<typeof startProxyWorker>> | undefined;
  try {
    const j = jobFor(clips[2]!, root);
    await q.queue.add('encode', j.data, { ...opts, jobId: j.id });
    await until('attempt A to be encoding', () => gA.reached);
    await q.dropLock(j.id);
    // What the worker does when its lock renewal fails: abort the job, saying why.
    A.worker.cancelJob(j.id, { kind: 'lock-lost' } as unknown as string);
    await until('attempt A to stop', () => A.thrown.length > 0);
    assert.equal(errorCode(A.thrown[0]), 'LOCK_LOST');
    assert.ok(!existsSync(a.temp!), 'temp file removed');
    assert.ok(!existsSync(j.data.proxyPath));
    assert.equal(await (await q.queue.getJob(j.id))!.getState(), 'active', 'not moved to wait');

    await A.close(); // its slot is free again: it must not take the job back before B does
    B = await startProxyWorker(redis.url, q.name, { id: 'B', stalledIntervalMs: 300 });
    const result = await (await q.queue.getJob(j.id))!.waitUntilFinished(q.events, 60_000);
    assert.equal(result.worker, 'B');
  } finally {
    gA.open();
    await A.close();
    await B?.close();
    await q.close();
  }
});

test('symlinks below the proxy root never lead a proxy outside it', async () => {
  const q = await openQueue(redis.url);
  const root = path.join(work, 'p4');
  const outside = path.join(work, 'outside');
  mkdirSync(outside, { recursive: true });
  const W = await startProxyWorker(redis.url, q.name, { id: 'W' });
  try {
    // 1. A folder below the root that is a link to a folder outside it.
    const j1 = jobFor(clips[0]!, root);
    const firstBelow = path.join(root, path.relative(root, j1.data.proxyPath).split(path.sep)[0]!);
    mkdirSync(root, { recursive: true });
    symlinkSync(outside, firstBelow);
    await q.queue.add('encode', j1.data, { ...opts, jobId: j1.id });
    await assert.rejects((await q.queue.getJob(j1.id))!.waitUntilFinished(q.events, 60_000));
    const failed = (await q.queue.getJob(j1.id))!;
    const e = decodeJobError(failed.failedReason);
    assert.equal(e.code, 'PROXY_PATH_OUTSIDE_ROOT');
    assert.match(e.message, new RegExp(`proxy folder ${firstBelow}`));
    assert.match(e.hint, /replace the link/);
    assert.equal(failed.attemptsMade, 1, 'not retried');
    assert.deepEqual(readdirSync(outside), [], 'nothing written outside the root');

    // 2. A link below the root that stays inside it is fine.
    const root2 = path.join(work, 'p5');
    const j2 = jobFor(clips[1]!, root2);
    const top = path.relative(root2, j2.data.proxyPath).split(path.sep)[0]!;
    mkdirSync(path.join(root2, 'elsewhere'), { recursive: true });
    symlinkSync(path.join(root2, 'elsewhere'), path.join(root2, top));
    await q.queue.add('encode', j2.data, { ...opts, jobId: j2.id });
    await (await q.queue.getJob(j2.id))!.waitUntilFinished(q.events, 60_000);
    assert.equal((await probeFile(j2.data.proxyPath)).video?.codec, 'prores');

    // 3. Links planted at the old, predictable temp name and at the final proxy path.
    const root3 = path.join(work, 'p6');
    const j3 = jobFor(clips[3]!, root3);
    const dir = path.dirname(j3.data.proxyPath);
    mkdirSync(dir, { recursive: true });
    const victim = path.join(outside, 'victim.txt');
    const finalVictim = path.join(outside, 'final-victim.txt');
    writeFileSync(victim, 'keep me');
    writeFileSync(finalVictim, 'keep me too');
    symlinkSync(victim, path.join(dir, `.A004.${j3.id}.partial`));
    symlinkSync(finalVictim, j3.data.proxyPath);
    await q.queue.add('encode', j3.data, { ...opts, jobId: j3.id });
    await (await q.queue.getJob(j3.id))!.waitUntilFinished(q.events, 60_000);
    assert.equal(readFileSync(victim, 'utf8'), 'keep me');
    assert.equal(readFileSync(finalVictim, 'utf8'), 'keep me too');
    assert.ok(lstatSync(j3.data.proxyPath).isFile(), 'the rename replaced the link itself');
    assert.equal((await probeFile(j3.data.proxyPath)).video?.codec, 'prores');
  } finally {
    await W.close();
    await q.close();
  }
});

test('stale temp files are swept by the next attempt in the folder, and by a tree sweep', async () => {
  const q = await openQueue(redis.url);
  const root = path.join(work, 'p7');
  // Another job in the same folder, being encoded by another worker while W sweeps.
  const gBusy = gate();
  const busy: { temp?: string } = {};
  const other = await startProxyWorker(redis.url, q.name, {
    id: 'other',
    ffmpeg: pausing(gBusy, 'before', busy),
  });
  let W: Awaited<ReturnType<typeof startProxyWorker>> | undefined;
  try {
    const jBusy = jobFor(clips[3]!, root);
    await q.queue.add('encode', jBusy.data, { ...opts, jobId: jBusy.id });
    await until('the other job to be encoding', () => gBusy.reached);

    const j = jobFor(clips[4]!, root);
    const dir = path.dirname(j.data.proxyPath);
    const old = path.join(dir, tempNameFor('A004', 'px-000000000000000000000001'));
    const orphan = path.join(dir, tempNameFor('A003', 'px-000000000000000000000002'));
    const lost = path.join(dir, tempNameFor('A005', j.id));
    const notOurs = path.join(dir, '.notes.partial');
    for (const f of [old, orphan, lost, notOurs]) writeFileSync(f, 'x');
    const longAgo = new Date(Date.now() - 11 * 60 * 1000);
    utimesSync(old, longAgo, longAgo);

    W = await startProxyWorker(redis.url, q.name, { id: 'W' });
    await q.queue.add('encode', j.data, { ...opts, jobId: j.id });
    await (await q.queue.getJob(j.id))!.waitUntilFinished(q.events, 60_000);
    assert.ok(!existsSync(old), 'unmodified for 11 minutes: swept');
    assert.ok(!existsSync(orphan), 'of a job that is not active: swept');
    assert.ok(!existsSync(lost), 'of an earlier attempt of the same job: swept');
    assert.ok(existsSync(busy.temp!), 'young, of a job being encoded elsewhere: kept');
    assert.ok(existsSync(notOurs), 'not of the naming scheme: kept');
    gBusy.open();
    await (await q.queue.getJob(jBusy.id))!.waitUntilFinished(q.events, 60_000);

    // At worker start: the whole tree, by age (no broker needed).
    const deep = path.join(root, 'a', 'b', 'c');
    mkdirSync(deep, { recursive: true });
    const deepOld = path.join(deep, tempNameFor('X', 'px-000000000000000000000003'));
    const young = path.join(deep, tempNameFor('Y', 'px-000000000000000000000004'));
    writeFileSync(deepOld, 'x');
    writeFileSync(young, 'x');
    utimesSync(deepOld, longAgo, longAgo);
    const swept = await sweepTempTree(root);
    assert.deepEqual(
      swept.map((s) => s.path),
      [deepOld],
    );
    assert.ok(existsSync(young) && existsSync(notOurs));
    console.log(`FIGURE: tree sweep removed ${swept.length} stale temp file, kept 1 young one`);
  } finally {
    gBusy.open();
    await other.close();
    await W?.close();
    await q.close();
  }
});
