import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Job } from 'bullmq';
import { InputError } from '../core/errors.ts';
import { encodeJobSchema, type ProxyLayout } from '../core/job/contract.ts';
import { decodeJobError } from '../core/job/job-error.ts';
import { prepareBesideFolder } from '../core/paths/proxy-folder.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { makeClip } from './helpers/cli-media.ts';
import { countByJob, startFarm, type Farm } from './helpers/farm.ts';
import { probeFile } from './helpers/media.ts';

/**
 * paths.layout end to end: real redis-server, gateway and `proxima work`, queued with the real
 * `proxima queue` on generated clips. mirror writes below paths.proxy_root; beside writes a
 * Proxy folder next to each source, and a worker writes nowhere else.
 */

const work = mkdtempSync(path.join(tmpdir(), 'proxima-layout-'));
const farms: Farm[] = [];

after(async () => {
  for (const f of farms) await f.stop();
});

interface QueueJson {
  batch: string;
  deduplicated: number;
  counts: { total: number; completed: number; failed: number };
  jobs: {
    id: string;
    source: string;
    state: string;
    proxyPath: string;
    reused: boolean | null;
    error: { code: string; message: string } | null;
  }[];
  skipped: { path: string; reason: string }[];
}

function batchOf(stdout: string): QueueJson {
  return JSON.parse(stdout.slice(stdout.indexOf('{'))) as QueueJson;
}

async function queued(farm: Farm, dir: string): Promise<QueueJson> {
  const r = await farm.queue([dir]).done;
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  return batchOf(r.stdout);
}

function proxyOf(batch: QueueJson, name: string): string {
  const job = batch.jobs.find((j) => path.basename(j.source) === name);
  assert.ok(job, `${name} not in ${batch.jobs.map((j) => j.source).join(', ')}`);
  return job.proxyPath;
}

function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
    statSync(path.join(dir, f)).isFile(),
  );
}

/** Clips encoded (in one pass or joined from chunks) per job, from every worker's log. */
function encodes(farm: Farm): number {
  const lines = farm.workerLog();
  const counts = [
    ...countByJob(lines, 'proxy written').values(),
    ...countByJob(lines, 'proxy joined from its chunks and written').values(),
  ];
  return counts.reduce((a, b) => a + b, 0);
}

/** Day1 with A001.mov (3 s, chunked) and A001.mp4 (1 s, one job): one stem, two proxies. */
async function day1(name: string): Promise<{ dir: string; mov: string; mp4: string }> {
  const dir = path.join(work, name, 'media', 'Day1');
  const [mov, mp4] = await Promise.all([
    makeClip(dir, 'A001', 'h264-stereo', { seconds: 3 }),
    makeClip(dir, 'A001', 'no-audio', { seconds: 1 }),
  ]);
  return { dir, mov, mp4 };
}

async function startLayoutFarm(layout: ProxyLayout): Promise<Farm> {
  const farm = await startFarm({
    workers: 1,
    config: {
      paths: { layout },
      chunking: { enabled: true, min_seconds: 2, chunk_seconds: 1 },
      worker: { attempts: 1 },
      app: { check_for_updates: false },
    },
  });
  farms.push(farm);
  return farm;
}

async function checkProxy(proxy: string, source: string): Promise<void> {
  assert.ok(existsSync(proxy), `${proxy} exists`);
  const [p, s] = await Promise.all([probeFile(proxy), probeFile(source)]);
  assert.equal(p.video?.codec, 'prores', proxy);
  // 720p at most, never upscaled: these 180-line sources keep their height.
  assert.equal(p.video?.height, Math.min(720, s.video!.height), proxy);
  assert.equal(p.video?.frameCount, s.video?.frameCount, proxy);
}

for (const layout of ['mirror', 'beside'] as const) {
  test(
    `layout ${layout}: two same-stem clips get their proxies where the layout says, reused when queued again`,
    { timeout: 300_000 },
    async () => {
      const media = await day1(layout);
      const farm = await startLayoutFarm(layout);
      const expected =
        layout === 'mirror'
          ? {
              mov: path.join(farm.sandbox.proxyRoot, media.dir, 'A001_mov.mov'),
              mp4: path.join(farm.sandbox.proxyRoot, media.dir, 'A001_mp4.mov'),
            }
          : {
              mov: path.join(media.dir, 'Proxy', 'A001_mov.mov'),
              mp4: path.join(media.dir, 'Proxy', 'A001_mp4.mov'),
            };

      const first = await queued(farm, media.dir);
      assert.deepEqual(first.counts, { ...first.counts, total: 2, completed: 2, failed: 0 });
      assert.equal(proxyOf(first, 'A001.mov'), expected.mov);
      assert.equal(proxyOf(first, 'A001.mp4'), expected.mp4);
      await checkProxy(expected.mov, media.mov);
      await checkProxy(expected.mp4, media.mp4);
      // The 3 s clip went through chunks: their work files are gone from beside the proxy.
      assert.ok(
        farm.workerLog().some((l) => l.msg === 'proxy joined from its chunks and written'),
        'A001.mov was chunked',
      );
      const proxyDir = path.dirname(expected.mov);
      assert.deepEqual(readdirSync(proxyDir).sort(), ['A001_mov.mov', 'A001_mp4.mov']);
      if (layout === 'beside') {
        assert.deepEqual(filesBelow(farm.sandbox.proxyRoot), [], 'nothing below paths.proxy_root');
      } else {
        assert.ok(!existsSync(path.join(media.dir, 'Proxy')), 'nothing is written beside');
      }
      const written = encodes(farm);
      assert.equal(written, 2);
      const mtimes = [statSync(expected.mov).mtimeMs, statSync(expected.mp4).mtimeMs];

      // Queued again: done jobs whose proxies are on disk, nothing encoded; the Proxy folder
      // beside the clips is no source.
      const second = await queued(farm, media.dir);
      assert.equal(second.counts.completed, 2, JSON.stringify(second));
      assert.equal(second.deduplicated, 2);
      assert.deepEqual(second.jobs.map((j) => path.basename(j.source)).sort(), [
        'A001.mov',
        'A001.mp4',
      ]);
      assert.deepEqual(
        second.skipped,
        layout === 'beside'
          ? [{ path: path.join(media.dir, 'Proxy'), reason: 'proxies beside their sources' }]
          : [],
      );

      // Without the queue's memory of them, a worker finds each verified proxy and keeps it.
      for (const j of second.jobs) await farm.inspect.remove(j.id);
      const third = await queued(farm, media.dir);
      assert.equal(third.counts.completed, 2, JSON.stringify(third));
      assert.deepEqual(
        third.jobs.map((j) => j.reused),
        [true, true],
      );
      assert.equal(encodes(farm), written, 'nothing was encoded again');
      assert.deepEqual([statSync(expected.mov).mtimeMs, statSync(expected.mp4).mtimeMs], mtimes);

      if (layout === 'beside') await refusesOtherPaths(farm, media);
    },
  );
}

/** A payload with layout beside naming any path but the source's own Proxy folder fails. */
async function refusesOtherPaths(farm: Farm, media: { dir: string; mp4: string }): Promise<void> {
  const st = statSync(media.mp4);
  const source = { path: media.mp4, size: st.size, mtimeMs: st.mtimeMs, nameClash: true };
  const elsewhere = path.join(work, 'elsewhere');
  const bad = [
    path.join(elsewhere, 'A001_mp4.mov'),
    path.join(media.dir, 'Proxy', 'sub', 'A001_mp4.mov'),
    path.join(media.dir, 'A001_mp4.mov'),
    // Another file's name in the right folder would overwrite that file's proxy.
    path.join(media.dir, 'Proxy', 'A001_mov.mov'),
  ];
  const jobs: Job[] = [];
  for (const [i, proxyPath] of bad.entries()) {
    const data = encodeJobSchema.parse({
      v: PROTOCOL_VERSION,
      batchId: 'b-test-00000000',
      source,
      preset: 'prores-proxy',
      proxyPath,
      proxyRoot: path.dirname(proxyPath),
      layout: 'beside',
      queuedAt: Date.now(),
      reencode: true,
    });
    jobs.push(await farm.inspect.add('encode', data, { jobId: `px-elsewhere-${i}` }));
  }
  const before = statSync(path.join(media.dir, 'Proxy', 'A001_mov.mov')).mtimeMs;
  for (const [i, job] of jobs.entries()) {
    const deadline = Date.now() + 60_000;
    let state = await job.getState();
    while (state !== 'failed' && Date.now() < deadline) {
      assert.notEqual(state, 'completed', `${bad[i]} was written`);
      await new Promise((r) => setTimeout(r, 100));
      state = await job.getState();
    }
    assert.equal(state, 'failed', bad[i]);
    const failed = await farm.inspect.getJob(job.id!);
    const e = decodeJobError(failed?.failedReason);
    assert.equal(e.code, 'PROXY_PATH_NOT_BESIDE', `${bad[i]}: ${e.message}`);
    assert.match(e.message, /is not in the Proxy folder beside its source/);
    assert.ok(e.message.includes(path.join(media.dir, 'Proxy', 'A001_mp4.mov')), e.message);
  }
  assert.ok(!existsSync(elsewhere), 'nothing was written elsewhere');
  assert.ok(!existsSync(path.join(media.dir, 'Proxy', 'sub')));
  assert.ok(!existsSync(path.join(media.dir, 'A001_mp4.mov')));
  assert.equal(statSync(path.join(media.dir, 'Proxy', 'A001_mov.mov')).mtimeMs, before);
}

test('prepareBesideFolder makes the Proxy folder beside the source and refuses any other', async () => {
  const dir = path.join(work, 'units', 'Day1');
  mkdirSync(dir, { recursive: true });
  const src = { path: path.join(dir, 'A001.mp4'), nameClash: false };
  const folder = await prepareBesideFolder(src, path.join(dir, 'Proxy', 'A001.mov'));
  assert.ok(statSync(path.join(dir, 'Proxy')).isDirectory());
  assert.equal(folder.finalPath, path.join(dir, 'Proxy', 'A001.mov'));

  const refused = async (source: typeof src, proxyPath: string, code: string) =>
    assert.rejects(prepareBesideFolder(source, proxyPath), (err: unknown) => {
      assert.ok(err instanceof InputError, String(err));
      assert.equal(err.code, code, err.message);
      return true;
    });
  await refused(src, path.join(work, 'elsewhere', 'A001.mov'), 'PROXY_PATH_NOT_BESIDE');
  await refused(src, path.join(dir, 'Proxy', 'A001_mp4.mov'), 'PROXY_PATH_NOT_BESIDE');
  await refused(src, path.join(dir, 'Proxy', '..', '..', 'A001.mov'), 'PROXY_PATH_NOT_BESIDE');
  await refused(
    { ...src, nameClash: true },
    path.join(dir, 'Proxy', 'A001.mov'),
    'PROXY_PATH_NOT_BESIDE',
  );

  // A Proxy folder that is a link would write wherever it leads.
  const linked = path.join(work, 'units', 'Day2');
  mkdirSync(path.join(work, 'units', 'target'), { recursive: true });
  mkdirSync(linked, { recursive: true });
  symlinkSync(path.join(work, 'units', 'target'), path.join(linked, 'Proxy'));
  await refused(
    { path: path.join(linked, 'B001.mov'), nameClash: false },
    path.join(linked, 'Proxy', 'B001.mov'),
    'PROXY_PATH_OUTSIDE_ROOT',
  );
  // A file where the folder should be.
  const blocked = path.join(work, 'units', 'Day3');
  mkdirSync(blocked, { recursive: true });
  writeFileSync(path.join(blocked, 'Proxy'), 'x');
  await refused(
    { path: path.join(blocked, 'C001.mov'), nameClash: false },
    path.join(blocked, 'Proxy', 'C001.mov'),
    'PROXY_FOLDER_BLOCKED',
  );
});
