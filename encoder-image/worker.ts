import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname, setPriority } from 'node:os';
import { Job, Worker, type Processor } from 'bullmq';
import { createRedis, reachBroker } from '../core/broker/connection.ts';
import { sweepTempTree } from '../core/paths/safe-write.ts';
import type { Config } from '../core/config/schema.ts';
import { locateFfmpeg, locateFfprobe } from '../core/ffmpeg/locate.ts';
import { decodeJobError } from '../core/job/job-error.ts';
import { jobQueueName } from '../core/job/keys.ts';
import type { EncodeJob, EncodeResult } from '../core/job/contract.ts';
import type { Logger } from '../core/log.ts';
import { defaultConcurrency, encoderThreads } from '../core/presets/presets.ts';
import { PROTOCOL_VERSION, PROXIMA_VERSION } from '../core/version.ts';
import { createChildGuard, killAllChildren } from './child-guard.ts';
import { createFfmpegRunner, type FfmpegRunner } from './ffmpeg-runner.ts';
import { withDeadline } from '../core/deadline.ts';
import { createHeldJobs, type StopOutcomeKind } from './held-jobs.ts';
import { stalledIntervalFor } from './lock-watch.ts';
import { sourceProbeCache } from './source-probe-cache.ts';
import { createProber } from './probe-runner.ts';
import { createJobLine } from './job-line.ts';
import { createProbeAhead } from './probe-ahead.ts';
import { createIdleWatch } from './idle-exit.ts';
import { dispatchByName, type AnyProcessor } from './job-dispatch.ts';
import { createProcessor } from './processor.ts';
import { createChunkProcessor } from './chunk-job.ts';
import { CHUNK_JOB, createChunkQueue } from './chunk-queue.ts';
import { createChunkStore } from '../core/broker/chunk-store.ts';
import { createFarmStats, type FarmStats } from '../core/broker/farm-stats.ts';
import { createJobStats } from './job-stats.ts';
import { stopBudget, stopSummary } from './stop-plan.ts';
import { createSourceVisibility } from './source-visibility.ts';
import { createRegistration } from './worker-registration.ts';
import { createRedisWorkerDirectory } from '../gateway/queue/worker-directory.ts';

/** A started job's ffmpeg gets going before the next jobs' sources are probed beside it. */
const PROBE_AHEAD_DELAY_MS = 300;

export interface WorkerOptions {
  brokerUrl: string;
  config: Config;
  logger: Logger;
  /** Jobs at once; default config.worker.concurrency (0: half the cores, at least 1). */
  concurrency?: number;
  /** PATH to look up ffmpeg and ffprobe in when no bundled binary is usable. */
  searchPath: string;
  /** Stop by itself after this many seconds without a job (an encoder container); 0: never. */
  idleExitSeconds?: number;
  /** Called after each successful heartbeat to the broker (a container's health file). */
  onAlive?: () => void;
  /** Called when the stalls this worker is going through change (a container's health file). */
  onStalls?: (stalls: readonly string[]) => void;
  /**
   * Processors of job kinds other than 'encode', by job name (e.g. 'probe'), or a function
   * that makes them from what the worker located. A job is dispatched on its `job.name`.
   */
  processors?:
    Record<string, AnyProcessor> | ((ctx: WorkerContext) => Record<string, AnyProcessor>);
  /** Where job ends are counted for /metrics and the monitor; default: the broker's. */
  stats?: FarmStats;
}

/** What a processor of another job kind may need from the worker that runs it. */
export interface WorkerContext {
  workerId: string;
  ffmpegPath: string;
  ffprobePath: string;
  logger: Logger;
}

export interface RunningWorker {
  id: string;
  /** Settles once the worker has stopped, for whatever reason (a signal, idle exit). */
  readonly stopped: Promise<void>;
  /**
   * Graceful: running jobs may finish while worker.stop_seconds allows, then they are handed
   * back. Force: they are handed back at once. Either way it settles within stop_seconds,
   * whatever the broker does; jobs that could not be handed back by then are abandoned.
   */
  close(opts?: { force?: boolean }): Promise<void>;
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const { config, logger } = opts;
  const ffmpeg = locateFfmpeg(config.ffmpeg.path, opts.searchPath);
  const ffprobe = locateFfprobe(config.ffprobe.path, opts.searchPath);
  const guard = createChildGuard(opts.searchPath);
  try {
    // Lower our own priority; ffmpeg children inherit it, so the editing app stays responsive.
    setPriority(config.worker.nice);
  } catch (err) {
    logger.warn({ err }, 'could not lower CPU priority');
  }
  const concurrency =
    opts.concurrency || defaultConcurrency(config.worker.concurrency, availableParallelism());
  const id = `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  const log = logger.child({ component: 'worker', worker: id });
  const redis = createRedis(opts.brokerUrl);
  redis.on('error', (err) => log.debug({ err }, 'broker connection error'));
  try {
    await reachBroker(redis, opts.brokerUrl, config.worker.broker_wait_seconds);
  } catch (err) {
    redis.disconnect();
    throw err;
  }

  // The same machine restarted cannot see a file either: it is known by its instance or host.
  const place = config.encoder.instance || hostname();
  const queueName = jobQueueName(config.broker.queue, PROTOCOL_VERSION);
  const registration = createRegistration(
    redis,
    config.broker.queue,
    {
      id,
      host: hostname(),
      instance: place,
      pid: process.pid,
      version: PROXIMA_VERSION,
      protocol: PROTOCOL_VERSION,
      concurrency,
      startedAt: Date.now(),
    },
    log,
    opts.onAlive,
  );
  const idleSeconds = opts.idleExitSeconds ?? 0;
  const idle = createIdleWatch(idleSeconds, () => {
    log.info({ seconds: idleSeconds }, 'no work: stopping (encoder.idle_exit_seconds)');
    void running.close();
  });
  const lockMs = config.worker.lock_seconds * 1000;
  const held = createHeldJobs(config.worker.lock_seconds, log);
  const jobStats = createJobStats({
    stats: opts.stats ?? createFarmStats(redis, config.broker.queue),
    workerId: id,
    logger: log,
  });

  const stalls = new Map<string, string>();
  const publishStalls = () =>
    opts.onStalls?.([...stalls].map(([jobId, reason]) => `job ${jobId}: ${reason}`));
  const encoder = createFfmpegRunner(ffmpeg.path, {
    guard,
    stallSeconds: config.worker.stall_seconds,
  });
  const ffmpegRunner: FfmpegRunner = {
    run(args, runOpts) {
      const jobId = runOpts.jobId ?? held.jobOf(runOpts.signal) ?? '?';
      return encoder.run(args, {
        ...runOpts,
        onStall(reason) {
          log.warn({ job: jobId, seconds: config.worker.stall_seconds }, `${reason}: killed it`);
          stalls.set(jobId, reason);
          publishStalls();
        },
        onAdvance() {
          // An encode moving again on this worker: whatever hung before, it is healthy now.
          if (stalls.size === 0) return;
          stalls.clear();
          publishStalls();
        },
      });
    },
  };

  // Unsure (no answer in time) counts as active: a temp file is kept rather than pulled away
  // from an encode still writing it.
  const jobActive = async (jobId: string): Promise<boolean> => {
    const state = await withDeadline(
      Job.fromId(worker, jobId).then((job) => (job ? job.getState() : 'gone')),
      5000,
    ).catch(() => undefined);
    return state === undefined || state === 'active';
  };
  const chunkStore = createChunkStore(redis, config.broker.queue, config.broker.result_expires);
  const chunkQueue = createChunkQueue({
    connection: redis,
    name: queueName,
    attempts: config.worker.attempts,
    keepSeconds: config.broker.result_expires,
  });
  const prober = createProber(ffprobe.path, { guard, timeoutSeconds: config.worker.probe_seconds });
  // One cache of source probes for clips, chunks and what is probed ahead of them.
  const sourceProber = sourceProbeCache(prober, Math.max(8, 4 * concurrency));
  const jobLine = createJobLine({ connection: redis, name: queueName });
  const probeAhead = createProbeAhead({
    nextSources: (count) => jobLine.nextSources(count),
    prober: sourceProber,
    count: concurrency,
    delayMs: PROBE_AHEAD_DELAY_MS,
    timeoutMs: config.worker.probe_seconds * 1000,
    logger: log,
  });
  const threads = encoderThreads(availableParallelism(), concurrency);
  const tracker = {
    started(jobId: string, source: string) {
      idle.started(jobId, source);
      registration.started(jobId, source);
      probeAhead.kick();
    },
    ended(jobId: string) {
      idle.ended(jobId);
      registration.ended(jobId);
    },
  };
  const inner = createProcessor({
    ffmpeg: ffmpegRunner,
    prober,
    sourceProber,
    logger: log,
    workerId: id,
    jobExpiresSec: config.broker.job_expires,
    threads,
    chunks: { store: chunkStore, queue: chunkQueue },
    // The batch's cancel is kept with the clip's chunk record (one hash per clip).
    cancelled: (jobId, generation) => chunkStore.cancelled(jobId, generation),
    lockHeld: (job, token) => held.lockHeld(job, token),
    visibility: {
      list: createSourceVisibility({
        redis,
        queue: config.broker.queue,
        place,
        protocol: PROTOCOL_VERSION,
        keepSeconds: config.broker.job_expires + 3600,
        liveWorkers: () => createRedisWorkerDirectory({ redis, queue: config.broker.queue }).list(),
      }),
      distinctAttempts: config.worker.distinct_attempts,
    },
    mtimeToleranceSec: config.paths.mtime_tolerance_seconds,
    jobActive,
    tracker,
  });
  const chunk = createChunkProcessor({
    ffmpeg: ffmpegRunner,
    prober,
    sourceProber,
    store: chunkStore,
    logger: log,
    workerId: id,
    threads,
    tracker,
    lockHeld: (job, token) => held.lockHeld(job, token),
    mtimeToleranceSec: config.paths.mtime_tolerance_seconds,
    jobActive,
    // The clip's job is not this worker's: its progress is set without its lock, as a view.
    clipProgress: async (clipId, progress) => {
      const clip = await Job.fromId(worker, clipId);
      await clip?.updateProgress(progress);
    },
  });
  const others =
    typeof opts.processors === 'function'
      ? opts.processors({
          workerId: id,
          ffmpegPath: ffmpeg.path,
          ffprobePath: ffprobe.path,
          logger: log,
        })
      : opts.processors;
  // Every kind of job goes through the held-jobs wrapper, so a stop or a lost lock reaches it.
  const dispatch = dispatchByName(inner, { ...others, [CHUNK_JOB]: chunk }) as Processor<
    EncodeJob,
    EncodeResult
  >;
  // Outside the held-jobs wrapper, so a run's time includes its hand-back or lost lock.
  const counted = jobStats.wrap(held.wrap(dispatch));
  const worker = new Worker<EncodeJob, EncodeResult>(queueName, counted, {
    connection: redis,
    concurrency,
    lockDuration: lockMs,
    stalledInterval: stalledIntervalFor(lockMs),
    // A worker killed mid-encode leaves a stalled job; let it move on a few times before failing.
    maxStalledCount: 3,
  });
  worker.on('failed', (job, err) => {
    const e = decodeJobError(err.message);
    log.warn({ job: job?.id, code: e.code }, e.message);
    // Only BullMQ's event knows whether the failure is final (then it counts, once).
    jobStats.failed(job, err);
    if (job?.finishedOn && stalls.delete(String(job.id))) publishStalls();
  });
  // A job whose workers died under it more than maxStalledCount times is failed by whichever
  // worker's check found it, with no 'failed' event: that worker counts it, once.
  worker.on('stalled', (jobId) => {
    void Job.fromId(worker, jobId)
      .then((job) => {
        if (job?.finishedOn && job.failedReason) jobStats.failed(job, new Error(job.failedReason));
      })
      .catch(() => undefined);
  });
  worker.on('completed', (job, result) => {
    jobStats.completed(job, result);
    if (stalls.delete(String(job.id))) publishStalls();
  });
  // BullMQ repeats a connection error on every reconnect attempt while the broker is away;
  // the same message once per 10 s is enough to say it still is.
  let lastError = { message: '', at: 0 };
  worker.on('error', (err) => {
    const at = Date.now();
    if (err.message === lastError.message && at - lastError.at < 10_000) return;
    lastError = { message: err.message, at };
    log.warn({ err }, 'worker error');
  });
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const jobId of jobIds) held.markLost(jobId, 'the broker refused to renew the lock');
  });
  worker.on('locksRenewed', ({ jobIds }) => held.renewed(jobIds));
  const stopLockWatch = held.watch();

  await worker.waitUntilReady();
  await registration.start();
  log.info(
    {
      concurrency,
      ffmpeg: ffmpeg.path,
      ffprobe: ffprobe.path,
      queue: queueName,
      setpriv: guard.setpriv,
    },
    'worker started',
  );
  if (!guard.setpriv && process.platform === 'linux') {
    log.warn('setpriv not found on PATH: an ffmpeg outlives this worker if it is killed -9');
  }

  idle.start();
  // Attempts killed before their clean-up leave temp files nobody else would remove; in the
  // background, so a large proxy tree does not delay the first job.
  void sweepTempTree(config.paths.proxy_root, { jobActive }).then(
    (swept) => {
      for (const s of swept)
        log.info({ temp: s.path, reason: s.reason }, 'removed a stale temp file');
    },
    (err: unknown) => log.warn({ err }, 'stale temp files not swept'),
  );

  const stop = async () => {
    const started = Date.now();
    const budget = stopBudget(config.worker.stop_seconds);
    const left = (until: number) => Math.max(0, started + until - Date.now());
    held.stopping();
    idle.stop();
    probeAhead.stop();
    log.info(
      { jobs: held.ids(), seconds: config.worker.stop_seconds },
      'stopping: no new jobs; running ones may finish until worker.stop_seconds nears, then go back to the queue',
    );
    let closed = false;
    const workerClosed = worker.close().then(
      () => (closed = true),
      (err: unknown) => log.warn({ err }, 'queue connection did not close cleanly'),
    );
    await held.emptied(left(budget.finishMs));
    if (held.ids().length > 0) {
      log.warn({ jobs: held.ids() }, 'stop time nearly up: handing running jobs back');
      held.handBackAll();
    }
    await held.emptied(left(budget.hardMs));
    // Nothing is held any more, or nothing more can be done for it: a short wait for BullMQ's
    // own close, which needs Redis.
    await withDeadline(workerClosed, Math.min(2000, left(budget.hardMs)));
    const abandoned = held.ids();
    const killed = killAllChildren();
    if (killed.length) log.warn({ pids: killed }, 'killed encoder processes still running');
    stopLockWatch();
    await withDeadline(registration.stop(), Math.max(200, left(budget.hardMs)));
    if (!closed) void worker.disconnect().catch(() => undefined);
    await withDeadline(Promise.all([chunkQueue.close(), jobLine.close()]), 1000);
    redis.disconnect();
    const ofKind = (k: StopOutcomeKind) =>
      [...held.outcomes()].filter(([, o]) => o === k).map(([j]) => j);
    const summary = {
      finished: ofKind('finished'),
      handedBack: ofKind('handedBack'),
      abandoned: [...ofKind('abandoned'), ...abandoned],
      lost: ofKind('lost'),
      seconds: (Date.now() - started) / 1000,
    };
    (summary.abandoned.length ? log.warn.bind(log) : log.info.bind(log))(
      summary,
      stopSummary(summary),
    );
    markStopped();
  };

  let closing: Promise<void> | undefined;
  let markStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const running: RunningWorker = {
    id,
    stopped,
    close(closeOpts = {}) {
      if (closeOpts.force) {
        held.stopping();
        held.handBackAll();
      }
      closing ??= stop();
      return closing;
    },
  };
  return running;
}
