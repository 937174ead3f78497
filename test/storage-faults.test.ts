import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { decodeJobError } from '../core/job/job-error.ts';
import { runFfmpeg } from './helpers/media.ts';
import { openQueue, startProxyWorker, until, type ProxyWorker } from './helpers/proxy-worker.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { jobFor } from './helpers/worker-jobs.ts';

/**
 * Real volumes: small tmpfs mounts that fill up, get space again, or are read-only. Mounting
 * needs root, as on the CI machine.
 */
let redis: TestRedis;
let q: Awaited<ReturnType<typeof openQueue>>;
let worker: ProxyWorker;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-storage-'));
const media = path.join(work, 'media');
const mounts: string[] = [];
let clip: string;

function mountTmpfs(name: string, options: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

/** Fills a volume with one file, leaving about `leave` bytes free. */
function fill(dir: string, leave: number): void {
  const s = statfsSync(dir);
  writeFileSync(path.join(dir, 'filler'), Buffer.alloc(Math.max(0, s.bavail * s.bsize - leave)));
}

function leftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.partial'),
  );
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'these tests mount tmpfs volumes and must run as root');
  redis = await startRedis();
  mkdirSync(media, { recursive: true });
  clip = path.join(media, 'A001.mp4');
  // Long enough that its proxy (about 1 MB) cannot fit in what is left on a full volume.
  await runFfmpeg(sampleClipArgs('h264-stereo', clip, { width: 320, height: 180, seconds: 4 }));
  q = await openQueue(redis.url);
  worker = await startProxyWorker(redis.url, q.name, { id: 'W' });
});
after(async () => {
  await worker?.close();
  await q?.close();
  await redis?.stop();
  for (const m of mounts.reverse()) execFileSync('umount', ['-l', m]);
});

test('a full proxy volume: NO_SPACE with the free space, retried, done once space returns', async () => {
  const volume = mountTmpfs('full', 'size=2m');
  fill(volume, 64 * 1024);
  const root = path.join(volume, 'proxies');
  const j = jobFor(clip, root);
  await q.queue.add('encode', j.data, {
    jobId: j.id,
    attempts: 5,
    backoff: { type: 'fixed', delay: 1500 },
  });
  await until('the first attempt to fail', () => worker.thrown.length > 0);
  const job = (await q.queue.getJob(j.id))!;
  const first = decodeJobError(job.failedReason);
  console.log(`FIGURE: first attempt on a full volume: ${first.message}`);
  assert.equal(first.code, 'NO_SPACE');
  assert.match(
    first.message,
    new RegExp(
      `^no space left on ${root} \\(\\d+(\\.\\d)? (bytes|KiB) free\\); it is retried \\(attempt 1 of 5\\)$`,
    ),
  );
  assert.match(first.hint, /free space on/);
  assert.deepEqual(leftovers(volume), [], 'nothing half-written is left');
  assert.ok(!existsSync(j.data.proxyPath));

  execFileSync('mount', ['-o', 'remount,size=64m', volume]);
  const result = await job.waitUntilFinished(q.events, 60_000);
  assert.equal(result.proxyPath, j.data.proxyPath);
  assert.ok(existsSync(j.data.proxyPath));
  const done = (await q.queue.getJob(j.id))!;
  console.log(`FIGURE: full volume job completed on attempt ${done.attemptsStarted}`);
  assert.deepEqual(leftovers(volume), []);
});

test('a volume that stays full: the last attempt says retries are over', async () => {
  const volume = mountTmpfs('stays-full', 'size=1m');
  fill(volume, 16 * 1024);
  const root = path.join(volume, 'proxies');
  const j = jobFor(clip, root);
  const id = `${j.id}-full`; // one clip for every test here, so a job id of its own
  await q.queue.add('encode', j.data, { jobId: id, attempts: 2, backoff: 200 });
  await assert.rejects((await q.queue.getJob(id))!.waitUntilFinished(q.events, 60_000));
  const failed = (await q.queue.getJob(id))!;
  const e = decodeJobError(failed.failedReason);
  console.log(`FIGURE: last attempt on a full volume: ${e.message}`);
  assert.equal(e.code, 'NO_SPACE');
  assert.match(e.message, /\(\d+(\.\d)? (bytes|KiB) free\); retries are over \(attempt 2 of 2\)$/);
  assert.doesNotMatch(e.message + e.hint, /it is retried/);
  assert.equal(failed.attemptsMade, 2);
  assert.deepEqual(leftovers(volume), []);
  assert.ok(!existsSync(j.data.proxyPath));
});

test('a read-only proxy root: PROXY_ROOT_READONLY naming it, retried, then retries are over', async () => {
  const volume = mountTmpfs('readonly', 'ro,size=1m');
  const root = path.join(volume, 'proxies');
  const j = jobFor(clip, root);
  const id = `${j.id}-ro`;
  const before = worker.thrown.length;
  await q.queue.add('encode', j.data, { jobId: id, attempts: 2, backoff: 200 });
  await assert.rejects((await q.queue.getJob(id))!.waitUntilFinished(q.events, 60_000));
  const failed = (await q.queue.getJob(id))!;
  const e = decodeJobError(failed.failedReason);
  console.log(`FIGURE: read-only root: ${e.message} | ${e.hint}`);
  assert.equal(e.code, 'PROXY_ROOT_READONLY');
  assert.match(
    e.message,
    new RegExp(`^proxy root ${root} cannot be written \\(EROFS at ${root}\\)`),
  );
  assert.match(e.message, /retries are over \(attempt 2 of 2\)$/);
  assert.match(e.hint, /read-write/);
  assert.equal(failed.attemptsMade, 2, 'retried: a volume can be remounted');
  const firstAttempt = decodeJobError((worker.thrown[before] as Error).message);
  assert.match(firstAttempt.message, /it is retried \(attempt 1 of 2\)$/);
});
