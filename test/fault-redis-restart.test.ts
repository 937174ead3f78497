import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  countByJob,
  makeBatchMedia,
  mapPool,
  partialFiles,
  proxyProblems,
  startFarm,
  type Farm,
} from './helpers/farm.ts';
import { probeFile } from './helpers/media.ts';

// A broker restarted under a running batch: the workers, the gateway and the waiting CLI must
// find it again by themselves, and every job must end up encoded exactly as queued.

const CLIPS = 24;
const LOCK_SECONDS = 5;
const work = mkdtempSync(path.join(tmpdir(), 'proxima-redis-restart-'));
let farm: Farm;

before(async () => {
  farm = await startFarm({ workers: 2, config: { worker: { lock_seconds: LOCK_SECONDS } } });
});
after(async () => {
  await farm?.stop();
});

interface Summary {
  counts: { total: number; completed: number; failed: number; gone: number; unfinished: number };
  jobs: { id: string; source: string; state: string; proxyPath: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Completed jobs among `ids`, or undefined while Redis cannot answer. */
async function completedAmong(ids: Set<string>): Promise<number | undefined> {
  try {
    const done = await farm.inspect.getCompleted(0, -1);
    return done.filter((j) => ids.has(String(j.id))).length;
  } catch {
    return undefined;
  }
}

async function restartMidBatch(name: string, fault: 'kill' | 'term', outageMs: number) {
  const dir = path.join(work, name);
  // 320x180, 1 to 1.5 s: long enough that encodes are running when Redis goes away.
  const media = await makeBatchMedia(dir, CLIPS, { width: 320, height: 180 }, [25, 30, 38]);
  const sourceInfo = new Map(
    await mapPool(media.templates, 2, async (t) => [t, await probeFile(t)] as const),
  );
  const templateOf = new Map(media.clips.map((c) => [c.file, c.template]));
  const workerPids = farm.workers().map((w) => w.child.pid);
  const breaksBefore = farm
    .gatewayLog()
    .filter((l) => l.msg === 'batch event stream failed').length;

  const started = Date.now();
  const cli = farm.queue([dir]);
  // The CLI prints its summary only at the end; the queue itself says how far the batch is.
  let ids = new Set<string>();
  await waitUntil(async () => {
    const jobs = await farm.inspect.getJobs(['waiting', 'active', 'completed', 'prioritized']);
    ids = new Set(
      jobs
        // The queue command's pre-flight probes share the queue; only encodes are the batch.
        .filter((j) => j.name === 'encode')
        .filter((j) => path.dirname((j.data as { source: { path: string } }).source.path) === dir)
        .map((j) => String(j.id)),
    );
    return ids.size === CLIPS && ((await completedAmong(ids)) ?? 0) >= 3;
  }, 'three proxies of the batch');
  const beforeFault = (await completedAmong(ids))!;
  const activeAtFault = await farm.inspect.getActiveCount();

  if (fault === 'kill') await farm.redis.kill();
  else await farm.redis.term();
  const down = Date.now();
  await sleep(outageMs);
  await farm.redis.start();
  const up = Date.now();

  const result = await cli.done;
  const finished = Date.now();
  assert.equal(result.code, 0, `queue --wait --json exit code\n${result.stderr}`);
  const summary = JSON.parse(result.stdout) as Summary;

  // Every job accounted for: all of them completed, none lost or failed.
  assert.equal(summary.counts.total, CLIPS);
  assert.equal(summary.counts.completed + summary.counts.failed, CLIPS);
  assert.equal(
    summary.counts.failed,
    0,
    JSON.stringify(summary.jobs.filter((j) => j.state !== 'completed')),
  );
  let lastFinished = 0;
  let retried = 0;
  for (const j of summary.jobs) {
    const job = await farm.inspect.getJob(j.id);
    assert.ok(job, `job ${j.id} is still in the queue`);
    assert.equal(await job.getState(), 'completed', `job ${j.id} of ${j.source}`);
    lastFinished = Math.max(lastFinished, job.finishedOn ?? 0);
    if (job.attemptsStarted > 1 || job.stalledCounter > 0) retried++;
  }

  // Each proxy is ProRes of its source's size and frame count.
  const problems = await mapPool(summary.jobs, 2, async (j) => {
    const source = sourceInfo.get(templateOf.get(j.source)!)!;
    const found = proxyProblems(source, await probeFile(j.proxyPath));
    return found.length ? `${j.proxyPath}: ${found.join(', ')}` : null;
  });
  assert.deepEqual(problems.filter(Boolean), []);
  assert.deepEqual(partialFiles(farm.sandbox.proxyRoot), []);
  // An attempt whose lock expired during the outage must not write: one proxy per job.
  const written = countByJob(farm.workerLog(), 'proxy written');
  const twice = summary.jobs.filter((j) => (written.get(j.id) ?? 0) > 1).map((j) => j.id);
  assert.deepEqual(twice, [], 'no proxy written twice');
  const lockLost = farm
    .workerLog()
    .filter((l) => typeof l.job === 'string' && ids.has(l.job) && /^lock lost/.test(l.msg ?? ''));

  // Nobody was restarted: the same worker processes reconnected by themselves.
  assert.deepEqual(
    farm.workers().map((w) => w.child.pid),
    workerPids,
  );
  const health = await fetch(`${farm.gatewayUrl}/v1/health`);
  assert.equal(health.status, 200, 'the gateway answers after the restart');

  // An event stream the gateway had to end (the client then reconnects for a fresh snapshot).
  const streamBreaks = farm
    .gatewayLog()
    .filter((l) => l.msg === 'batch event stream failed').length;
  const label = `redis ${fault === 'kill' ? 'kill -9' : 'SIGTERM'}`;
  console.log(
    `FIGURE: ${label}: clips ${CLIPS}, completed before the fault ${beforeFault}, active at the fault ${activeAtFault}`,
  );
  console.log(
    `FIGURE: ${label}: broker down ${((up - down) / 1000).toFixed(1)} s, batch done ${((finished - up) / 1000).toFixed(1)} s after it was back, whole batch ${((finished - started) / 1000).toFixed(1)} s`,
  );
  console.log(
    `FIGURE: ${label}: completed ${summary.counts.completed}, failed ${summary.counts.failed}, lost ${CLIPS - summary.counts.completed - summary.counts.failed}, event streams the gateway ended ${streamBreaks - breaksBefore}`,
  );
  console.log(
    `FIGURE: ${label}: last job finished ${((lastFinished - up) / 1000).toFixed(1)} s after the broker was back, the CLI said done ${((finished - lastFinished) / 1000).toFixed(1)} s later; jobs started again ${retried}, encodes stopped for a lost lock ${lockLost.length}, proxies written twice ${twice.length}`,
  );
}

async function waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('redis-server killed -9 mid-batch and started again: the batch completes, every proxy verified', async () => {
  await restartMidBatch('kill', 'kill', 1_000);
});

test(`redis-server stopped (SIGTERM) for longer than worker.lock_seconds mid-batch: the batch completes`, async () => {
  await restartMidBatch('term', 'term', (LOCK_SECONDS + 3) * 1000);
});
