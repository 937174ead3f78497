import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  countByJob,
  makeBatchMedia,
  mapPool,
  partialFiles,
  proxyProblems,
  queueEvents,
  startFarm,
  type Farm,
} from './helpers/farm.ts';
import { probeFile } from './helpers/media.ts';

// The soak: a batch of 300 short clips through three worker processes while workers are killed
// -9 every few seconds (and started again, so three stay up) and the broker is killed -9 and
// started again once, half-way. Nothing may be lost, nothing encoded twice, no temp file left.

const CLIPS = 300;
const WORKERS = 3;
/** As a user would set it in the config file: a killed worker's job is back within seconds. */
const LOCK_SECONDS = 3;
const KILL_EVERY_MS = [1_000, 3_000] as const;

const work = mkdtempSync(path.join(tmpdir(), 'proxima-soak-'));
let farm: Farm | undefined;
after(async () => {
  await farm?.stop();
});

interface Summary {
  counts: { total: number; completed: number; reused: number; failed: number };
  jobs: { id: string; source: string; state: string; proxyPath: string; error?: unknown }[];
}

/** A small seeded generator, so the seed printed with a failure says which kill pattern it was. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  `soak: ${CLIPS} clips, ${WORKERS} workers killed -9 every few seconds, one broker kill -9`,
  { timeout: 900_000 },
  async () => {
    const testStarted = Date.now();
    const seed = Number(process.env.SOAK_SEED) || Date.now() % 1_000_000;
    const random = mulberry32(seed);
    console.log(`FIGURE: soak seed ${seed} (SOAK_SEED=${seed} repeats the kill pattern)`);

    // 320x180, 12 to 25 frames (0.5 to 1 s): 300 clips in about a minute on two cores, long enough
    // that most kills land mid-encode.
    const dir = path.join(work, 'card');
    const media = await makeBatchMedia(
      dir,
      CLIPS,
      { width: 320, height: 180 },
      [12, 15, 18, 21, 25],
    );
    const sourceInfo = new Map(
      await mapPool(media.templates, 2, async (t) => [t, await probeFile(t)] as const),
    );
    const templateOf = new Map(media.clips.map((c) => [c.file, c.template]));

    const f = await startFarm({
      workers: WORKERS,
      config: { worker: { lock_seconds: LOCK_SECONDS } },
    });
    farm = f;
    console.log(`farm logs and proxies: ${f.sandbox.root}`);
    const queued = Date.now();
    const cli = f.queue([dir]);
    let finished = false;
    void cli.done.then(() => (finished = true));

    let kills = 0;
    let redisRestarts = 0;
    const chaos = (async () => {
      // The pause runs from one kill to the next; the replacement boots meanwhile, and only a
      // worker that is up (or the broker restart) is next.
      let replacement: Promise<unknown> = Promise.resolve();
      while (!finished) {
        const pause = KILL_EVERY_MS[0] + random() * (KILL_EVERY_MS[1] - KILL_EVERY_MS[0]);
        const until = Date.now() + pause;
        while (!finished && Date.now() < until) await sleep(100);
        await replacement;
        if (finished) return;
        if (redisRestarts === 0) {
          const completed = await f.inspect.getCompletedCount().catch(() => 0);
          if (completed >= CLIPS / 2) {
            await f.redis.kill();
            await sleep(1_000);
            await f.redis.start();
            redisRestarts++;
            continue;
          }
        }
        const live = f.workers();
        const victim = live[Math.floor(random() * live.length)]!;
        await f.killWorker(victim);
        kills++;
        replacement = f.startWorker();
      }
    })();

    const result = await cli.done;
    const wall = (Date.now() - queued) / 1000;
    await chaos;
    // Whatever a worker still runs (an attempt that lost its lock) finishes before the count.
    await f.stopWorkers();

    assert.ok(
      result.code === 0 || result.code === 1,
      `queue exit code ${result.code}\n${result.stderr}`,
    );
    const summary = JSON.parse(result.stdout) as Summary;
    assert.equal(summary.counts.total, CLIPS);
    const ids = summary.jobs.map((j) => j.id);

    // BullMQ's own records: the state of every job, how often it was started, when it finished.
    const records = await Promise.all(ids.map((id) => f.inspect.getJob(id)));
    const states = await Promise.all(records.map((r) => r?.getState() ?? 'missing'));
    const completed = states.filter((s) => s === 'completed').length;
    const failed = states.filter((s) => s === 'failed').length;
    const lost = CLIPS - completed - failed;
    assert.equal(summary.counts.completed, completed, 'the CLI and the queue agree on completed');
    assert.equal(summary.counts.failed, failed, 'the CLI and the queue agree on failed');
    assert.equal(result.code, failed > 0 ? 1 : 0);

    // Encoded to completion twice: two "proxy written" for one job in the workers' logs, two
    // completed events for one job in the queue's event stream, or a proxy renamed into place
    // after its job had finished (a second attempt that went on after losing its lock).
    const log = f.workerLog();
    const written = countByJob(log, 'proxy written');
    const reusedInLog = countByJob(log, 'verified proxy already there; not encoding again');
    const events = await queueEvents(f.client, f.queueName);
    // The queue command's pre-flight probes share the queue; only encodes are the batch.
    const added = events.filter((e) => e.event === 'added' && e.name === 'encode').length;
    assert.equal(added, CLIPS, 'the event stream still holds the whole batch (nothing trimmed)');
    const completedEvents = new Map<string, number>();
    for (const e of events) {
      if (e.event === 'completed' && e.jobId) {
        completedEvents.set(e.jobId, (completedEvents.get(e.jobId) ?? 0) + 1);
      }
    }
    const lateRename: string[] = [];
    records.forEach((r, i) => {
      if (states[i] !== 'completed' || !r?.finishedOn) return;
      const mtime = statSync(summary.jobs[i]!.proxyPath).mtimeMs;
      if (mtime > r.finishedOn + 1_000) lateRename.push(r.id!);
    });
    const duplicated = new Set([
      ...[...written].filter(([, n]) => n > 1).map(([id]) => id),
      ...[...completedEvents].filter(([, n]) => n > 1).map(([id]) => id),
      ...lateRename,
    ]);

    // Every completed proxy checked with ffprobe against its source.
    const problems = await mapPool(summary.jobs, 2, async (j, i) => {
      if (states[i] !== 'completed') return null;
      const source = sourceInfo.get(templateOf.get(j.source)!)!;
      const found = proxyProblems(source, await probeFile(j.proxyPath));
      return found.length ? `${j.proxyPath}: ${found.join(', ')}` : null;
    });
    const partials = partialFiles(f.sandbox.proxyRoot);

    const startedAgain = records.filter(
      (r) => r && (r.attemptsStarted > 1 || r.stalledCounter > 0),
    );
    const maxStarted = Math.max(...records.map((r) => r?.attemptsStarted ?? 0));
    // attemptsMade counts attempts that ended (failed or completed); a kill -9 ends none.
    const failedAttempts = records.filter((r) => r && r.attemptsMade > 1).length;
    console.log(`FIGURE: soak clips ${CLIPS}`);
    console.log(
      `FIGURE: soak workers ${WORKERS} (worker.lock_seconds ${LOCK_SECONDS}), worker processes started ${f.workersStarted()}`,
    );
    console.log(`FIGURE: soak worker kills (-9) ${kills}`);
    console.log(`FIGURE: soak redis restarts (kill -9) ${redisRestarts}`);
    console.log(
      `FIGURE: soak completed ${completed} (proxy reused after a kill: ${summary.counts.reused})`,
    );
    console.log(`FIGURE: soak failed ${failed}`);
    console.log(`FIGURE: soak lost ${lost}`);
    console.log(
      `FIGURE: soak duplicated ${duplicated.size} (written twice ${[...written.values()].filter((n) => n > 1).length}, completed twice ${[...completedEvents.values()].filter((n) => n > 1).length}, renamed after finishing ${lateRename.length})`,
    );
    console.log(
      `FIGURE: soak jobs started again ${startedAgain.length}, most starts of one job ${maxStarted}, jobs with a failed attempt ${failedAttempts}, proxies reused per the logs ${reusedInLog.size}`,
    );
    console.log(`FIGURE: soak temp files left ${partials.length}`);
    console.log(
      `FIGURE: soak wall seconds ${wall.toFixed(1)} (queue to summary), ${((Date.now() - testStarted) / 1000).toFixed(1)} with media and checks`,
    );
    const byId = new Map(records.map((r) => [String(r?.id), r]));
    for (const p of partials) {
      const job = byId.get(/\.(px-[0-9a-f]+)\./.exec(path.basename(p))?.[1] ?? '');
      console.log(
        `left: ${p} (${statSync(path.join(f.sandbox.proxyRoot, p)).size} bytes; its job started ${job?.attemptsStarted ?? '?'} times, stalled ${job?.stalledCounter ?? '?'})`,
      );
    }
    for (const j of summary.jobs.filter((x) => x.state === 'failed')) {
      console.log(`failed: ${j.source}: ${JSON.stringify(j.error)}`);
    }

    assert.equal(completed + failed, CLIPS, `${lost} jobs lost`);
    assert.equal(failed, 0, 'no job failed: every source is good');
    assert.deepEqual([...duplicated], [], 'no job encoded to completion twice');
    assert.deepEqual(problems.filter(Boolean), []);
    assert.deepEqual(partials, [], 'no temp file left under the proxy root');
    assert.ok(kills >= 5, `only ${kills} worker kills happened: the soak proved little`);
    assert.equal(redisRestarts, 1);
  },
);
