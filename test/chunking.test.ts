import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  statSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { buildFfmpegArgs } from '../core/ffmpeg/build-args.ts';
import type { BatchView, JobView, StatusResponse } from '../core/job/contract.ts';
import { keys } from '../core/job/keys.ts';
import { PRESETS } from '../core/presets/presets.ts';
import {
  audioSampleCounts,
  makeChunkSource,
  probeTimecode,
  videoFrameMd5s,
} from './helpers/chunk-media.ts';
import { runCli } from './helpers/cli-run.ts';
import { startFarm, type Farm } from './helpers/farm.ts';
import { probeFile, runFfmpeg } from './helpers/media.ts';

/**
 * Long clips split into chunks across real `proxima work` processes and joined: the proxy must
 * be the one a single pass of the same clip gives, frame for frame.
 */

const work = mkdtempSync(path.join(tmpdir(), 'proxima-chunking-'));
const CHUNKING = { chunk_seconds: 10, min_seconds: 20 };

/** The proxy a single pass makes of `source`, with the argv the worker uses for short clips. */
async function singlePass(source: string, out: string): Promise<string> {
  const media = await probeFile(source);
  const args = buildFfmpegArgs(media, PRESETS['prores-proxy'], { input: source, output: out });
  // Without the -progress pipe, which nobody reads here.
  const i = args.indexOf('-progress');
  args.splice(i, 2);
  await runFfmpeg(args);
  return out;
}

/** Hidden work files of a chunked clip or an encode left below the proxy root. */
function leftovers(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => {
    const name = path.basename(f);
    return name.endsWith('.partial') || name.includes('.chunk') || name.endsWith('.chunks.txt');
  });
}

/** What `queue --json` prints of a batch. */
interface QueueJson {
  batch: string;
  counts: { completed: number; failed: number };
  jobs: (Pick<JobView, 'id' | 'source' | 'state' | 'proxyPath' | 'error' | 'chunks'> & {
    farmProxyPath: string;
  })[];
}

/** Chunks still running when a clip failed stop within a few seconds; none waits after. */
async function nothingLeft(t: TestContext, since: number, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let counts: Record<string, number> = {};
  while (Date.now() < deadline) {
    counts = await farm.inspect.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'waiting-children',
      'prioritized',
    );
    if (
      Object.values(counts).every((n) => n === 0) &&
      leftovers(farm.sandbox.proxyRoot).length === 0
    )
      break;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.diagnostic(
    `${what}; nothing waiting ${((Date.now() - since) / 1000).toFixed(1)} s after queueing`,
  );
  assert.deepEqual(counts, {
    waiting: 0,
    active: 0,
    delayed: 0,
    'waiting-children': 0,
    prioritized: 0,
  });
  assert.deepEqual(leftovers(farm.sandbox.proxyRoot), []);
}

function batchOf(stdout: string): QueueJson {
  const start = stdout.indexOf('{');
  return JSON.parse(stdout.slice(start)) as QueueJson;
}

/** The gateway's own view of a batch, with each job's result. */
async function batchView(id: string): Promise<BatchView> {
  const res = await fetch(`${farm.gatewayUrl}/v1/batches/${id}`);
  assert.equal(res.status, 200);
  return (await res.json()) as BatchView;
}

function jobOf<J extends { source: string }>(batch: { jobs: J[] }, name: string): J {
  const job = batch.jobs.find((j) => path.basename(j.source) === name);
  assert.ok(job, `${name} not in the batch: ${batch.jobs.map((j) => j.source).join(', ')}`);
  return job;
}

async function assertSameAsSinglePass(source: string, proxy: string, label: string) {
  const reference = await singlePass(source, path.join(work, `${label}-single.mov`));
  const [got, want] = await Promise.all([videoFrameMd5s(proxy), videoFrameMd5s(reference)]);
  assert.equal(got.length, want.length, `${label}: frame count`);
  const firstDiff = got.findIndex((f, i) => f !== want[i]);
  assert.equal(
    firstDiff,
    -1,
    `${label}: frame ${firstDiff} differs: ${got[firstDiff]} vs ${want[firstDiff]}`,
  );
  const sourceInfo = await probeFile(source);
  const proxyInfo = await probeFile(proxy);
  assert.equal(proxyInfo.video?.codec, 'prores', label);
  const [gotAudio, srcAudio] = await Promise.all([
    audioSampleCounts(proxy),
    audioSampleCounts(source),
  ]);
  assert.equal(gotAudio.length, srcAudio.length, `${label}: audio streams`);
  gotAudio.forEach((n, i) => {
    assert.ok(
      Math.abs(n - srcAudio[i]!) <= 1024,
      `${label}: audio ${i} has ${n} samples, source ${srcAudio[i]}`,
    );
  });
  assert.equal(await probeTimecode(proxy), sourceInfo.timecode, `${label}: timecode`);
}

let farm: Farm;
let media: Record<'long' | 'ntsc' | 'interlaced' | 'vfr', string>;

before(async () => {
  const dir = path.join(work, 'media');
  const [long, ntsc, interlaced, vfr] = await Promise.all([
    makeChunkSource(dir, {
      name: 'interview',
      seconds: 60,
      rate: '25',
      width: 1920,
      height: 1080,
      gop: 250,
      audioStreams: 2,
      timecode: '01:00:00:00',
    }),
    // 10 s at 29.97 is 299.7 frames: chunks are whole frames all the same.
    makeChunkSource(dir, {
      name: 'ntsc',
      seconds: 25,
      rate: '30000/1001',
      width: 640,
      height: 360,
      gop: 120,
      audioStreams: 1,
      timecode: '00:59:58;00',
    }),
    makeChunkSource(dir, {
      name: 'interlaced',
      seconds: 24,
      rate: '25',
      width: 640,
      height: 360,
      interlaced: true,
      audioStreams: 1,
    }),
    makeChunkSource(dir, {
      name: 'vfr',
      seconds: 25,
      rate: '30000/1001',
      width: 640,
      height: 360,
      vfr: true,
      audioStreams: 1,
    }),
  ]);
  media = { long, ntsc, interlaced, vfr };
  farm = await startFarm({ workers: 2, config: { chunking: CHUNKING } });
});

after(async () => {
  await farm?.stop();
});

test(
  'long clips are encoded in chunks by both workers and joined into the single-pass proxy',
  { timeout: 600_000 },
  async () => {
    const run = farm.queue([path.dirname(media.long)]);
    const r = await run.done;
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const batch = batchOf(r.stdout);
    assert.equal(batch.counts.completed, 4, r.stdout);

    const long = jobOf(batch, 'interview.mov');
    assert.ok(long.chunks, 'the 60 s clip lists its chunks');
    assert.deepEqual(
      long.chunks.map((c) => [c.index, c.start, c.frames]),
      [0, 1, 2, 3, 4, 5].map((i) => [i, i * 250, 250]),
    );
    assert.ok(
      long.chunks.every((c) => c.state === 'completed'),
      JSON.stringify(long.chunks),
    );
    const workers = new Set(long.chunks.map((c) => c.worker));
    assert.equal(workers.size, 2, `chunks spread over both workers: ${[...workers].join(', ')}`);
    const view = jobOf(await batchView(batch.batch), 'interview.mov');
    assert.equal(view.result?.chunks, 6);
    assert.equal(view.result?.frames, 1500);
    assert.deepEqual(view.chunks, long.chunks, 'the job view lists the same chunks');

    const ntsc = jobOf(batch, 'ntsc.mov');
    const ntscFrames = ntsc.chunks?.map((c) => c.frames) ?? [];
    assert.ok(
      ntscFrames.length === 3 && ntscFrames[0] === 300 && ntscFrames[1] === 300,
      `chunks of about 299.7 frames are whole frames: ${ntscFrames.join(', ')}`,
    );

    for (const [label, file] of Object.entries(media)) {
      const job = jobOf(batch, path.basename(file));
      assert.ok(job.chunks && job.chunks.length >= 2, `${label} was chunked`);
      await assertSameAsSinglePass(file, job.farmProxyPath, label);
    }
    assert.deepEqual(leftovers(farm.sandbox.proxyRoot), []);
    // The chunk jobs of a joined clip are gone: the queue's totals count clips.
    const counts = await farm.inspect.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'waiting-children',
    );
    assert.deepEqual(counts, { waiting: 0, active: 0, delayed: 0, 'waiting-children': 0 });
  },
);

test(
  'a worker killed mid-chunk costs only that chunk: the clip completes with the same proxy',
  { timeout: 600_000 },
  async (t) => {
    const dir = path.join(work, 'kill');
    const source = await makeChunkSource(dir, {
      name: 'takes',
      seconds: 40,
      rate: '25',
      width: 960,
      height: 540,
      gop: 100,
      audioStreams: 1,
    });
    const run = farm.queue([source]);
    // A chunk under way: its worker is killed, as a machine losing power.
    const deadline = Date.now() + 120_000;
    let victim: ReturnType<Farm['workers']>[number] | undefined;
    while (!victim && Date.now() < deadline) {
      const clipKeys = await farm.client.keys(keys.clip(farm.queueName, '*'));
      for (const k of clipKeys) {
        const fields = await farm.client.hgetall(k);
        for (const [field, value] of Object.entries(fields)) {
          if (!field.startsWith('p:') || fields[`d:${field.slice(2)}`] !== undefined) continue;
          const worker = fields[`w:${field.slice(2)}`] ?? '';
          const frames = (JSON.parse(value) as { frames: number }).frames;
          victim = farm.workers().find((w) => worker.includes(`-${w.child.pid}-`));
          if (victim && frames > 20) break;
          victim = undefined;
        }
        if (victim) break;
      }
      if (!victim) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(victim, 'a chunk was seen encoding');
    const killedAt = Date.now();
    await farm.killWorker(victim);
    await farm.startWorker();
    const r = await run.done;
    t.diagnostic(`clip done ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const job = jobOf(batchOf(r.stdout), 'takes.mov');
    assert.equal(job.state, 'completed');
    assert.equal(job.chunks?.length, 4);
    await assertSameAsSinglePass(source, job.farmProxyPath, 'killed');
    assert.deepEqual(leftovers(farm.sandbox.proxyRoot), []);
  },
);

test(
  "a corrupt range in the middle fails the clip with that chunk's reason, leaving nothing behind",
  { timeout: 600_000 },
  async (t) => {
    const dir = path.join(work, 'corrupt');
    mkdirSync(dir, { recursive: true });
    const source = await makeChunkSource(dir, {
      name: 'damaged',
      seconds: 40,
      rate: '25',
      width: 320,
      height: 180,
      gop: 25,
    });
    // Zeros over the third quarter of the media data, as a bad sector or a broken copy leaves.
    const size = statSync(source).size;
    const fd = openSync(source, 'r+');
    writeSync(
      fd,
      Buffer.alloc(Math.floor(size * 0.1)),
      0,
      Math.floor(size * 0.1),
      Math.floor(size * 0.55),
    );
    closeSync(fd);
    const queuedAt = Date.now();
    const r = await farm.queue([source]).done;
    assert.notEqual(r.code, 0, r.stdout);
    t.diagnostic(`clip failed ${((Date.now() - queuedAt) / 1000).toFixed(1)} s after queueing`);
    const job = jobOf(batchOf(r.stdout), 'damaged.mov');
    assert.equal(job.state, 'failed');
    assert.equal(job.error?.code, 'MEDIA_CORRUPT', JSON.stringify(job.error));
    assert.match(
      job.error?.message ?? '',
      /^chunk [23] of 4 \(frames \d+-\d+\): .*damaged\.mov cannot be decoded/,
    );
    await nothingLeft(t, queuedAt, job.error?.message ?? '');
    assert.equal(existsSync(job.farmProxyPath), false, 'no proxy was written');

    // Queued again, the failed clip is retried as a whole: split anew (a new generation), every
    // chunk queued again, failed with the chunk's reason again, and again nothing left.
    const plan = async () =>
      JSON.parse((await farm.client.hget(keys.clip(farm.queueName, job.id), 'plan')) ?? '{}') as {
        generation?: number;
      };
    const first = await plan();
    const retriedAt = Date.now();
    const again = await farm.queue([source]).done;
    assert.notEqual(again.code, 0, again.stdout);
    const retried = jobOf(batchOf(again.stdout), 'damaged.mov');
    assert.equal(retried.id, job.id);
    assert.equal(retried.state, 'failed');
    assert.equal(retried.error?.code, 'MEDIA_CORRUPT', JSON.stringify(retried.error));
    assert.match(retried.error?.message ?? '', /^chunk [23] of 4 \(frames \d+-\d+\): /);
    const second = await plan();
    assert.ok(
      typeof first.generation === 'number' && (second.generation ?? 0) > first.generation,
      `split again: ${JSON.stringify({ first, second })}`,
    );
    await nothingLeft(t, retriedAt, 'retried');
    assert.equal(existsSync(job.farmProxyPath), false, 'no proxy was written');
  },
);

test(
  'status counts a clip under way in chunks as one job; purge spares its chunks; --reencode redoes it whole',
  { timeout: 600_000 },
  async () => {
    const dir = path.join(work, 'purge');
    const [long, short] = await Promise.all([
      makeChunkSource(dir, {
        name: 'long',
        seconds: 40,
        rate: '25',
        width: 960,
        height: 540,
        gop: 50,
      }),
      makeChunkSource(dir, { name: 'short', seconds: 4, rate: '25', width: 320, height: 180 }),
    ]);
    // Both workers busy with the long clip's chunks, two chunks waiting; then a short clip.
    const run = farm.queue([long]);
    const deadline = Date.now() + 120_000;
    let waiting: string[] = [];
    while (Date.now() < deadline) {
      waiting = (await farm.inspect.getWaiting()).map((j) => String(j.id));
      if (waiting.length >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(waiting.length >= 2 && waiting.every((id) => /-c\d+$/.test(id)), waiting.join(', '));
    const shortRun = farm.queue([short]);
    const clipWaiting = async () =>
      (await farm.inspect.getWaiting()).some((j) => !/-c\d+$/.test(String(j.id)));
    while (!(await clipWaiting()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(await clipWaiting(), 'the short clip waits behind the chunks');
    // Counted by clip: the long one (its chunks running and waiting) active, the short one waiting.
    const status = await runCli(['status', '--json'], { env: farm.sandbox.env });
    assert.equal(status.code, 0, status.stderr);
    const { counts } = JSON.parse(status.stdout) as StatusResponse;
    assert.deepEqual(
      { waiting: counts.waiting, active: counts.active, delayed: counts.delayed },
      { waiting: 1, active: 1, delayed: 0 },
      status.stdout,
    );
    const purge = await runCli(['purge', '--yes'], { env: farm.sandbox.env });
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stdout, /removed 1 /);
    const r = await run.done;
    assert.equal(r.code, 0, r.stdout);
    assert.equal(jobOf(batchOf(r.stdout), 'long.mov').state, 'completed', r.stdout);
    const s = await shortRun.done;
    assert.notEqual(jobOf(batchOf(s.stdout), 'short.mov').state, 'completed', s.stdout);
    assert.deepEqual(leftovers(farm.sandbox.proxyRoot), []);

    // --reencode of the finished long clip encodes it again as a whole: split and joined anew,
    // its proxy replaced.
    const proxyFile = jobOf(batchOf(r.stdout), 'long.mov').farmProxyPath ?? '';
    const first = statSync(proxyFile);
    const re = await runCli(['queue', long, '--reencode', '--wait', '--json'], {
      env: farm.sandbox.env,
      timeoutMs: 300_000,
    });
    assert.equal(re.code, 0, re.stdout + re.stderr);
    const again = jobOf(batchOf(re.stdout), 'long.mov');
    assert.equal(again.state, 'completed', re.stdout);
    const view = jobOf(await batchView(batchOf(re.stdout).batch), 'long.mov');
    assert.equal(view.result?.reused, false);
    assert.equal(view.result?.chunks, 4);
    assert.ok(
      again.chunks?.length === 4 && again.chunks.every((c) => c.state === 'completed'),
      JSON.stringify(again.chunks),
    );
    assert.notEqual(statSync(proxyFile).ino, first.ino, 'the proxy was replaced');
    assert.equal((await probeFile(proxyFile)).video?.frameCount, 1000);
    assert.deepEqual(leftovers(farm.sandbox.proxyRoot), []);
  },
);
