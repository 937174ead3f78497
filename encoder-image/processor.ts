import { lstat, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DelayedError, UnrecoverableError, WaitingError, type Job, type Processor } from 'bullmq';
import { InputError, MediaError, ProximaError } from '../core/errors.ts';
import { planChunks } from '../core/chunks/plan.ts';
import { buildFfmpegArgs } from '../core/ffmpeg/build-args.ts';
import { encodeJobSchema, type EncodeJob, type EncodeResult } from '../core/job/contract.ts';
import { encodeJobError, retryNote } from '../core/job/job-error.ts';
import type { Logger } from '../core/log.ts';
import type { MediaInfo } from '../core/media/media-info.ts';
import { verifyProxy } from '../core/media/verify-proxy.ts';
import { checkStillInside, prepareJobFolder } from '../core/paths/proxy-folder.ts';
import {
  checkTempIntact,
  createTempFile,
  sweepStaleTemps,
  type TempFile,
} from '../core/paths/safe-write.ts';
import { checkSourceFile } from '../core/paths/source-file.ts';
import { StorageError, storageErrorFrom } from '../core/paths/storage-errors.ts';
import { choosePreset, type PresetChoice } from '../core/presets/choose-preset.ts';
import type { Preset } from '../core/presets/presets.ts';
import { judgeExistingProxy, type ExistingProxy } from './existing-proxy.ts';
import { FfmpegFailed, type FfmpegRunner } from './ffmpeg-runner.ts';
import { runChunkedClip, type ChunkedClipDeps } from './chunked-clip.ts';
import { encodeResult } from './encode-result.ts';
import { abortReasonOf, type AbortReason } from './abort-reasons.ts';
import {
  abortOf,
  CANCEL_CHECK_MS,
  cancelled,
  classify,
  LockLostError,
  readPayload,
  Settled,
} from './job-failure.ts';
import type { Prober } from './probe-runner.ts';
import {
  isUnseenSource,
  unseenFailure,
  unseenVerdict,
  type SourceVisibility,
} from './source-visibility.ts';

/** How soon a job this worker cannot see is offered again, to the other workers. */
const HAND_ON_MS = 1000;

export interface JobTracker {
  started(jobId: string, source: string): void;
  ended(jobId: string): void;
}

export interface ProcessorDeps {
  ffmpeg: FfmpegRunner;
  prober: Prober;
  /** Probes the source (a cache of what was probed ahead); `prober` when absent. */
  sourceProber?: Prober;
  logger: Logger;
  workerId: string;
  jobExpiresSec: number;
  /** Encoder threads per job; ffmpeg chooses when absent. */
  threads?: number;
  tracker?: JobTracker;
  /**
   * True while this worker still holds the job's lock (it extends the lock to find out). Asked
   * right before the proxy is renamed into place: an attempt that lost its lock must not write.
   */
  lockHeld?: (job: Job, token: string | undefined) => Promise<boolean>;
  /**
   * Whether a job is active now, so temp files of jobs that ended are swept from a proxy's
   * folder before a new one is written; without it only their age counts.
   */
  jobActive?: (jobId: string) => Promise<boolean>;
  /**
   * The farm-wide list of workers that could not see a job's source. With it, a source missing
   * or changed here goes to another worker, and fails only once worker.distinct_attempts of
   * them (or every live one) could not see it; without it, it fails here at once.
   */
  visibility?: { list: SourceVisibility; distinctAttempts: number };
  /** paths.mtime_tolerance_seconds. */
  mtimeToleranceSec?: number;
  /**
   * Where a long clip's chunks go and what they share. Without it every clip is one job, whatever
   * its payload's chunking says.
   */
  chunks?: Pick<ChunkedClipDeps, 'store' | 'queue'>;
  /** Whether this clip (of this generation, data.queuedAt) was cancelled with its batch. */
  cancelled?: (jobId: string, generation: number) => Promise<boolean>;
  now?: () => number;
}

/**
 * Probe, encode to a temp file of its own beside the proxy, verify with ffprobe, check the
 * source and the folder again, rename if the lock is still held. A bad input is an
 * UnrecoverableError (never retried); anything else is retried by the queue's attempts.
 */
export function createProcessor(deps: ProcessorDeps): Processor<EncodeJob, EncodeResult> {
  const now = deps.now ?? Date.now;
  return async (job, token, signal) => {
    const data = readPayload(
      encodeJobSchema,
      job,
      'job',
      'queue it again with a matching Proxima version (check "proxima status")',
    );
    const jobId = String(job.id);
    const log = deps.logger.child({ job: job.id, source: data.source.path });
    deps.tracker?.started(jobId, data.source.path);
    const started = now();
    let temp: TempFile | undefined;
    /**
     * Whatever failed, an attempt without its lock has no say in the job any more (the queue
     * refuses its result), so it reports the lost lock rather than a failure that would not
     * count, e.g. its temp file swept by the attempt that holds the job now.
     */
    const lostLock = async (): Promise<boolean> =>
      deps.lockHeld !== undefined && !(await deps.lockHeld(job, token).catch(() => true));
    // The batch cancelled: everything below sees it as an abort of this job alone.
    const cancel = new AbortController();
    const jobSignal = signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal;
    const lookCancelled = async () => {
      if (deps.cancelled && (await deps.cancelled(jobId, data.queuedAt).catch(() => false))) {
        cancel.abort({ kind: 'cancelled' } satisfies AbortReason);
      }
    };
    const cancelTimer = deps.cancelled ? setInterval(lookCancelled, CANCEL_CHECK_MS) : undefined;
    try {
      await lookCancelled();
      if (jobSignal.aborted && abortReasonOf(jobSignal)?.kind === 'cancelled') {
        throw cancelled(data.source.path);
      }
      // A long clip resumed once its chunks are done waited for them, not in the queue.
      const resumed = (await deps.chunks?.store.split(jobId))?.generation === data.queuedAt;
      if (!resumed) checkNotExpired(data, now(), deps.jobExpiresSec);
      const vis = deps.visibility;
      if (vis) {
        const unseenBy = await vis.list.unseenBy(data, jobId);
        // BullMQ has no worker affinity: a worker that could not see the source before hands
        // the job on at once, unless no other worker that might see it is left.
        if (unseenBy.includes(vis.list.place)) {
          await handOnOrFail(deps, job, token, data, unseenBy, undefined);
        }
      }
      // Before ffprobe: a FIFO or device would hold this slot for ever.
      await checkSourceFile(data.source, 'before', deps.mtimeToleranceSec).catch(async (err) => {
        if (!vis || !isUnseenSource(err)) throw err;
        log.warn({ code: err.code }, `${err.message}: handing the job to another worker`);
        const unseenBy = await vis.list.markUnseen(data, jobId);
        return handOnOrFail(deps, job, token, data, unseenBy, err);
      });
      const source = await (deps.sourceProber ?? deps.prober).probe(data.source.path, {
        signal: jobSignal,
      });
      checkEncodable(data.source.path, source);
      // Only the worker probes: the rules are applied here, to the table the job carries.
      const choice = choosePreset(
        source,
        data.source.path,
        { size: data.size, user: data.presets },
        data.rules,
        data.preset,
      );
      const preset = choice.preset;
      if (choice.rule)
        log.info({ preset: choice.name, rule: choice.rule.description }, 'preset chosen by rule');
      const chosen = chosenOf(choice);

      const folder = await prepareJobFolder(data);
      const existing = data.reencode
        ? ({ kind: 'stale' } as const)
        : await existingProxy(deps.prober, folder.finalPath, source, preset, jobSignal);
      if (existing.kind === 'reuse') {
        log.info({ proxy: data.proxyPath }, 'verified proxy already there; not encoding again');
        return {
          ...encodeResult(data, existing.proxy, true, started, now(), deps.workerId),
          ...chosen,
        };
      }
      if (existing.kind === 'other-preset') {
        throw new InputError(
          'PROXY_OTHER_PRESET',
          `${data.proxyPath} is already a proxy of ${data.source.path} made with preset ${existing.preset.name} (${existing.preset.label}), not ${choice.name}; it was left as it is`,
          `queue it again with --reencode to replace it with a ${choice.name} proxy, or with --preset ${existing.preset.name} to keep it`,
        );
      }

      const split = deps.chunks ? planChunks(source, data.chunking) : null;
      if (split && deps.chunks) {
        return await runChunkedClip(
          {
            ...deps.chunks,
            ffmpeg: deps.ffmpeg,
            prober: deps.prober,
            workerId: deps.workerId,
            lockHeld: deps.lockHeld,
            mtimeToleranceSec: deps.mtimeToleranceSec,
            now,
          },
          { job, token, signal: jobSignal, data, source, choice, folder, split, log, started },
        );
      }

      // Holding the lock now means any other temp file of this job is a dead attempt's.
      const locked = deps.lockHeld ? await deps.lockHeld(job, token) : undefined;
      if (locked === false) throw new LockLostError(jobId);
      const stem = path.basename(data.proxyPath, '.mov');
      const sweep = { now, jobActive: deps.jobActive, lockedJob: locked ? jobId : undefined };
      for (const s of await sweepStaleTemps(folder.realDir, sweep)) {
        log.info({ temp: s.path, reason: s.reason }, 'removed a stale temp file');
      }
      temp = await createTempFile(folder.realDir, stem, jobId);
      const args = buildFfmpegArgs(source, preset, {
        input: data.source.path,
        output: temp.path,
        threads: deps.threads,
      });
      log.debug({ args }, 'encoding');
      await deps.ffmpeg.run(args, {
        signal: jobSignal,
        // Its signal also carries the batch's cancel: the stall watch still names the job.
        jobId,
        durationSec: source.durationSec,
        onProgress: (p) => {
          job.updateProgress(p).catch((err: unknown) => log.warn({ err }, 'progress not sent'));
        },
      });

      // Before ffprobe too: a FIFO swapped in for the temp file would block it.
      await checkTempIntact(temp);
      const proxy = await deps.prober.probe(temp.path, { signal: jobSignal });
      const problems = verifyProxy(source, proxy, preset);
      if (problems.length > 0) {
        // Retried: a killed ffmpeg can leave a short file that probes fine.
        throw new ProximaError(
          'PROXY_UNVERIFIED',
          `proxy of ${data.source.path} failed verification: ${problems.join('; ')}`,
          'if it keeps failing, report the source file',
        );
      }
      await checkTempIntact(temp);
      // The proxy is of the media that was probed only if the source did not change meanwhile.
      await checkSourceFile(data.source, 'after', deps.mtimeToleranceSec);
      await checkStillInside(folder, data.proxyPath);
      if (deps.lockHeld && !(await deps.lockHeld(job, token))) throw new LockLostError(jobId);
      // rename() replaces a link planted at the final name; it never writes through it.
      await rename(temp.path, folder.finalPath);
      temp = undefined;
      log.info({ proxy: data.proxyPath, seconds: (now() - started) / 1000 }, 'proxy written');
      return { ...encodeResult(data, proxy, false, started, now(), deps.workerId), ...chosen };
    } catch (err) {
      // Already decided: handed on to another worker, or failed for good farm-wide.
      if (err instanceof Settled) throw err.settled;
      const abort = abortOf(jobSignal, err);
      // Measured before the temp file is removed: the free space the write ran into.
      const storage = abort
        ? undefined
        : await storageErrorFrom(
            err,
            { proxyRoot: data.proxyRoot, folder: path.dirname(data.proxyPath) },
            err instanceof FfmpegFailed ? err.reason : undefined,
          );
      if (temp) {
        await rm(temp.path, { force: true }).catch((e: unknown) =>
          log.warn({ err: e, temp: temp?.path }, 'temp file not removed'),
        );
      }
      const lost =
        abort?.kind === 'lock-lost' ||
        err instanceof LockLostError ||
        (!abort && (await lostLock()));
      if (lost) {
        log.warn('lock lost to another worker; stopped without writing the proxy');
        throw new Error(encodeJobError(new LockLostError(jobId)));
      }
      if (abort?.kind === 'stopping') {
        // The worker is stopping: hand the job back untouched for another worker.
        log.warn('encode interrupted; job handed back to the queue');
        await job.moveToWait(token);
        throw new WaitingError();
      }
      throw classify(storage ?? err, data.source.path, job, abort);
    } finally {
      clearInterval(cancelTimer);
      deps.tracker?.ended(jobId);
    }
  };
}

/**
 * Fails the job once the workers that could not see its source are enough (see unseenVerdict),
 * else moves it to delayed for a moment so another worker takes it. Never returns.
 */
async function handOnOrFail(
  deps: ProcessorDeps,
  job: Job,
  token: string | undefined,
  data: EncodeJob,
  unseenBy: string[],
  seen: ProximaError | undefined,
): Promise<never> {
  const vis = deps.visibility!;
  const live = await vis.list.live();
  const verdict = unseenVerdict(unseenBy, live, vis.distinctAttempts);
  if (verdict.kind === 'fail') {
    const why =
      seen instanceof MediaError
        ? seen
        : new MediaError('SOURCE_MISSING', `source file ${data.source.path} not seen`, '');
    const err = unseenFailure(data, why, unseenBy);
    deps.logger.warn({ job: job.id, workers: unseenBy, live }, err.message);
    throw new Settled(new UnrecoverableError(encodeJobError(err)));
  }
  deps.logger.info(
    { job: job.id, unseenBy, live },
    'source not visible on this worker: offered to the others',
  );
  await job.moveToDelayed((deps.now ?? Date.now)() + HAND_ON_MS, token);
  throw new Settled(new DelayedError());
}

/** The result's record of the choice: which preset, and which rule picked it. */
export function chosenOf(choice: PresetChoice): Pick<EncodeResult, 'preset' | 'rule'> {
  return { preset: choice.name, rule: choice.rule };
}

function checkNotExpired(data: EncodeJob, nowMs: number, expiresSec: number): void {
  if (nowMs - data.queuedAt > expiresSec * 1000) {
    throw new InputError(
      'JOB_EXPIRED',
      `job for ${data.source.path} waited more than broker.job_expires (${expiresSec} s)`,
      'queue it again, or raise broker.job_expires',
    );
  }
}

function checkEncodable(file: string, media: MediaInfo): void {
  if (media.isStill) {
    throw new MediaError('STILL_IMAGE', `${file} is a still image`, 'stills need no proxy');
  }
  if (!media.video) {
    throw new MediaError('NO_VIDEO', `${file} has no video stream`, 'audio files need no proxy');
  }
}

/** What is at the final path already; a link or anything but a regular file is stale. */
async function existingProxy(
  prober: Prober,
  proxyPath: string,
  source: MediaInfo,
  preset: Preset,
  signal: AbortSignal | undefined,
): Promise<ExistingProxy> {
  const there = await lstat(proxyPath).catch(() => undefined);
  if (!there?.isFile()) return { kind: 'stale' };
  const proxy = await prober.probe(proxyPath, { signal }).catch(() => undefined);
  return judgeExistingProxy(source, proxy, preset);
}
