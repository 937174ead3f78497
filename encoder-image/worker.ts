import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname, setPriority } from 'node:os';
import { Worker } from 'bullmq';
import { createRedis, reachBroker } from '../core/broker/connection.ts';
import type { Config } from '../core/config/schema.ts';
import { locateFfmpeg, locateFfprobe } from '../core/ffmpeg/locate.ts';
import { decodeJobError } from '../core/job/job-error.ts';
import type { EncodeJob, EncodeResult } from '../core/job/contract.ts';
import type { Logger } from '../core/log.ts';
import { encoderThreads } from '../core/presets/presets.ts';
import { PROTOCOL_VERSION, PROXIMA_VERSION } from '../core/version.ts';
import { createFfmpegRunner } from './ffmpeg-runner.ts';
import { createProber } from './probe-runner.ts';
import { createIdleWatch } from './idle-exit.ts';
import { createProcessor } from './processor.ts';
import { createRegistration } from './worker-registration.ts';

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
}

export interface RunningWorker {
  id: string;
  /** Settles once the worker has stopped, for whatever reason (a signal, idle exit). */
  readonly stopped: Promise<void>;
  /** Graceful: running jobs finish. Force: they are interrupted and handed back to the queue. */
  close(opts?: { force?: boolean }): Promise<void>;
}

export function defaultConcurrency(configured: number, cores = availableParallelism()): number {
  return configured > 0 ? configured : Math.max(1, Math.floor(cores / 2));
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const { config, logger } = opts;
  const ffmpeg = locateFfmpeg(config.ffmpeg.path, opts.searchPath);
  const ffprobe = locateFfprobe(config.ffprobe.path, opts.searchPath);
  try {
    // Lower our own priority; ffmpeg children inherit it, so the editing app stays responsive.
    setPriority(config.worker.nice);
  } catch (err) {
    logger.warn({ err }, 'could not lower CPU priority');
  }
  const concurrency = opts.concurrency || defaultConcurrency(config.worker.concurrency);
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

  const registration = createRegistration(
    redis,
    config.broker.queue,
    {
      id,
      host: hostname(),
      instance: config.encoder.instance || hostname(),
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
  const processor = createProcessor({
    ffmpeg: createFfmpegRunner(ffmpeg.path),
    prober: createProber(ffprobe.path),
    logger: log,
    workerId: id,
    jobExpiresSec: config.broker.job_expires,
    threads: encoderThreads(availableParallelism(), concurrency),
    tracker: {
      started(jobId, source) {
        idle.started(jobId, source);
        registration.started(jobId, source);
      },
      ended(jobId) {
        idle.ended(jobId);
        registration.ended(jobId);
      },
    },
  });
  const lockMs = config.worker.lock_seconds * 1000;
  const worker = new Worker<EncodeJob, EncodeResult>(config.broker.queue, processor, {
    connection: redis,
    concurrency,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    // A worker killed mid-encode leaves a stalled job; let it move on a few times before failing.
    maxStalledCount: 3,
  });
  worker.on('failed', (job, err) => {
    const e = decodeJobError(err.message);
    log.warn({ job: job?.id, code: e.code }, e.message);
  });
  worker.on('error', (err) => log.warn({ err }, 'worker error'));
  await worker.waitUntilReady();
  await registration.start();
  log.info(
    { concurrency, ffmpeg: ffmpeg.path, ffprobe: ffprobe.path, queue: config.broker.queue },
    'worker started',
  );

  idle.start();

  let closing: Promise<void> | undefined;
  let markStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const running: RunningWorker = {
    id,
    stopped,
    close(closeOpts = {}) {
      if (closeOpts.force) worker.cancelAllJobs('worker stopping');
      closing ??= (async () => {
        idle.stop();
        await worker.close();
        await registration.stop();
        redis.disconnect();
        log.info('worker stopped');
        markStopped();
      })();
      return closing;
    },
  };
  return running;
}
