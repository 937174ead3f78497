import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  utimesSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sampleClipArgs } from '../core/ffmpeg/sample-media.ts';
import { decodeJobError } from '../core/job/job-error.ts';
import type { FfmpegRunner } from '../encoder-image/ffmpeg-runner.ts';
import { runFfmpeg, TEST_SIZE } from './helpers/media.ts';
import { openQueue, startProxyWorker, type ProxyWorker } from './helpers/proxy-worker.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { jobFor } from './helpers/worker-jobs.ts';

let redis: TestRedis;
let q: Awaited<ReturnType<typeof openQueue>>;
let worker: ProxyWorker;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-source-'));
const media = path.join(work, 'media');
const root = path.join(work, 'proxies');
/** What happens to a source right after ffmpeg has read it, by file name. */
const duringEncode = new Map<string, (file: string) => void>();

before(async () => {
  redis = await startRedis();
  mkdirSync(media, { recursive: true });
  q = await openQueue(redis.url);
  worker = await startProxyWorker(redis.url, q.name, {
    id: 'W',
    // The real ffmpeg; afterwards the source is changed as the test says, as a copy still
    // running or an editor replacing the file would.
    ffmpeg: (real): FfmpegRunner => ({
      async run(args, o) {
        await real.run(args, o);
        const input = args[args.indexOf('-i') + 1]!;
        duringEncode.get(path.basename(input))?.(input);
      },
    }),
  });
});
after(async () => {
  await worker.close();
  await q.close();
  await redis.stop();
});

async function clip(name: string): Promise<string> {
  const file = path.join(media, name);
  await runFfmpeg(sampleClipArgs('h264-stereo', file, TEST_SIZE));
  return file;
}

/** Queues a job for `file` and waits for it to fail; returns its error and attempts. */
async function failure(file: string) {
  const j = jobFor(file, root);
  await q.queue.add('encode', j.data, { jobId: j.id, attempts: 3, backoff: 200 });
  await assert.rejects((await q.queue.getJob(j.id))!.waitUntilFinished(q.events, 60_000));
  const failed = (await q.queue.getJob(j.id))!;
  assert.ok(!existsSync(j.data.proxyPath), `no proxy of ${path.basename(file)}`);
  const dir = path.dirname(j.data.proxyPath);
  const left = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.partial')) : [];
  assert.deepEqual(left, [], 'no temp file left');
  return { error: decodeJobError(failed.failedReason), attempts: failed.attemptsMade };
}

test('a FIFO queued as a source is refused before ffprobe, and the slot stays free', async () => {
  const fifo = path.join(media, 'pipe.mov');
  execFileSync('mkfifo', [fifo]);
  const started = Date.now();
  const { error, attempts } = await failure(fifo);
  console.log(`FIGURE: FIFO source refused in ${Date.now() - started} ms`);
  assert.equal(error.code, 'SOURCE_NOT_REGULAR');
  assert.equal(error.message, `source ${fifo} is a FIFO (named pipe), not a regular file`);
  assert.equal(attempts, 1, 'never retried');

  const dev = await failure('/dev/zero');
  assert.equal(dev.error.code, 'SOURCE_NOT_REGULAR');
  assert.match(dev.error.message, /is a character device/);

  // The one worker slot is free again: a real clip after them is encoded.
  const good = jobFor(await clip('after-fifo.mp4'), root);
  await q.queue.add('encode', good.data, { jobId: good.id });
  const result = await (await q.queue.getJob(good.id))!.waitUntilFinished(q.events, 60_000);
  assert.equal(result.proxyPath, good.data.proxyPath);
});

test('a source that changes while it is encoded gets SOURCE_CHANGED and no proxy', async () => {
  const grown = await clip('grown.mp4');
  duringEncode.set('grown.mp4', (f) => appendFileSync(f, Buffer.alloc(4096)));
  const a = await failure(grown);
  assert.equal(a.error.code, 'SOURCE_CHANGED');
  assert.equal(
    a.error.message,
    `source file ${grown} changed while it was encoded; no proxy was written`,
  );
  assert.equal(a.attempts, 1);

  // Same size, new modification time: another take copied over it.
  const touched = await clip('touched.mp4');
  duringEncode.set('touched.mp4', (f) => utimesSync(f, new Date(), new Date(Date.now() + 5000)));
  assert.equal((await failure(touched)).error.code, 'SOURCE_CHANGED');
});

test('a source that disappears while it is encoded gets SOURCE_MISSING and no proxy', async () => {
  const gone = await clip('gone.mp4');
  duringEncode.set('gone.mp4', (f) => rmSync(f));
  const { error, attempts } = await failure(gone);
  assert.equal(error.code, 'SOURCE_MISSING');
  assert.match(error.message, /disappeared while it was encoded; no proxy was written/);
  assert.equal(attempts, 1);
});

test('a source changed between queueing and encoding is refused before any work', async () => {
  const file = await clip('replaced.mp4');
  const j = jobFor(file, root);
  appendFileSync(file, Buffer.alloc(100));
  await q.queue.add('encode', j.data, { jobId: j.id, attempts: 3 });
  await assert.rejects((await q.queue.getJob(j.id))!.waitUntilFinished(q.events, 60_000));
  const e = decodeJobError((await q.queue.getJob(j.id))!.failedReason);
  assert.equal(e.code, 'SOURCE_CHANGED');
  assert.match(e.message, /changed since it was queued/);
  assert.ok(!existsSync(j.data.proxyPath));
});
