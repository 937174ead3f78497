import { lstat, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { WaitingError, type Job, type Processor } from 'bullmq';
import type { ChunkStore } from '../core/broker/chunk-store.ts';
import { clipProgress } from '../core/chunks/plan.ts';
import { MediaError, ProximaError } from '../core/errors.ts';
import { buildChunkArgs } from '../core/ffmpeg/chunk-args.ts';
import {
  chunkJobSchema,
  type ChunkJob,
  type ChunkResult,
  type Progress,
} from '../core/job/contract.ts';
import { encodeJobError } from '../core/job/job-error.ts';
import type { Logger } from '../core/log.ts';
import { chunkTolerance, verifyChunk } from '../core/media/verify-proxy.ts';
import { prepareJobFolder } from '../core/paths/proxy-folder.ts';
import {
  checkTempIntact,
  createTempFile,
  sweepStaleTemps,
  type TempFile,
} from '../core/paths/safe-write.ts';
import { checkSourceFile } from '../core/paths/source-file.ts';
import { storageErrorFrom } from '../core/paths/storage-errors.ts';
import { chunkFileName } from '../core/paths/temp-name.ts';
import { resolvePreset } from '../core/presets/choose-preset.ts';
import type { JobTracker } from './processor.ts';
import { FfmpegFailed, type FfmpegRunner } from './ffmpeg-runner.ts';
import { abortOf, classify, LockLostError, readPayload } from './job-failure.ts';
import type { Prober } from './probe-runner.ts';

export interface ChunkProcessorDeps {
  ffmpeg: FfmpegRunner;
  prober: Prober;
  /** Probes the clip's source; every chunk of a clip asks it the same (see sourceProbeCache). */
  sourceProber?: Prober;
  store: ChunkStore;
  logger: Logger;
  workerId: string;
  threads?: number;
  tracker?: JobTracker;
  lockHeld?: (job: Job, token: string | undefined) => Promise<boolean>;
  /** Sets the clip job's progress (one bar per clip, whichever workers do its chunks). */
  clipProgress: (clipId: string, progress: Progress) => Promise<void>;
  mtimeToleranceSec?: number;
  /** Whether a job is active now, so temp files of dead attempts are swept (see processor.ts). */
  jobActive?: (jobId: string) => Promise<boolean>;
  now?: () => number;
}

/** Progress of a chunk is shared at most this often; every report costs a few Redis calls. */
const REPORT_MS = 1000;
/** How often a running chunk looks whether its clip has failed meanwhile. */
const CANCEL_CHECK_MS = 2000;

/** The clip failed while this chunk ran: it stops, and nothing of it is kept. */
class ClipCancelled extends Error {}

/**
 * One chunk of a long clip: its frame range of the clip's video only, to a chunk file beside the
 * clip's proxy, verified (exact frame count) and renamed into place. A chunk file already there
 * and sound is kept (a resumed clip). The clip's own job joins the chunks.
 */
export function createChunkProcessor(deps: ChunkProcessorDeps): Processor<ChunkJob, ChunkResult> {
  const now = deps.now ?? Date.now;
  return async (job, token, signal) => {
    const data = readPayload(
      chunkJobSchema,
      job,
      'chunk',
      'run workers of the same Proxima version as the gateway (check "proxima status")',
    );
    const jobId = String(job.id);
    const { range } = data;
    const log = deps.logger.child({ job: jobId, clip: data.clipId, chunk: range.index });
    const started = now();
    const dropped = (): ChunkResult => ({
      frames: 0,
      reused: false,
      encodeSeconds: 0,
      worker: deps.workerId,
    });
    if (await deps.store.cancelled(data.clipId, data.generation)) {
      log.info('its clip failed meanwhile: chunk dropped');
      return dropped();
    }
    deps.tracker?.started(jobId, data.source.path);
    const cancel = new AbortController();
    const jobSignal = signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal;
    let temp: TempFile | undefined;
    let cancelTimer: NodeJS.Timeout | undefined;
    try {
      await checkSourceFile(data.source, 'before', deps.mtimeToleranceSec).catch((err) => {
        // Another worker may see it: retried (on whichever worker takes it) rather than
        // failing the whole clip here.
        if (err instanceof MediaError && err.code === 'SOURCE_MISSING') {
          throw new ProximaError(err.code, err.message, err.hint);
        }
        throw err;
      });
      // The clip job's choice, as it defined it: the same lookup the clip job made.
      const preset = resolvePreset({ size: data.size, user: data.presets }, data.preset);
      const source = await (deps.sourceProber ?? deps.prober).probe(data.source.path, {
        signal: jobSignal,
      });
      const folder = await prepareJobFolder(data);
      const stem = path.basename(data.proxyPath, '.mov');
      const finalPath = path.join(
        folder.realDir,
        chunkFileName(stem, data.clipId, range.start, range.frames),
      );
      const rate = source.video?.frameRate ?? [25, 1];
      const tolerance = chunkTolerance(range, data.totalFrames);
      const report = async (frames: number, fps: number, done: boolean) => {
        const sum = done
          ? await deps.store.finished(data.clipId, range.index, frames)
          : await deps.store.progress(data.clipId, range.index, frames, fps);
        await deps.clipProgress(
          data.clipId,
          clipProgress(sum.frames, sum.fps, data.totalFrames, rate),
        );
      };

      const there = await lstat(finalPath).catch(() => undefined);
      if (there?.isFile()) {
        const probe = await deps.prober
          .probe(finalPath, { signal: jobSignal })
          .catch(() => undefined);
        if (probe && verifyChunk(source, probe, preset, range, data.totalFrames).length === 0) {
          log.info({ file: finalPath }, 'chunk already encoded and verified; not encoding again');
          await report(range.frames, 0, true);
          return {
            frames: probe.video?.frameCount ?? range.frames,
            reused: true,
            encodeSeconds: 0,
            worker: deps.workerId,
          };
        }
      }

      await deps.store.started(data.clipId, range.index, deps.workerId);
      cancelTimer = setInterval(() => {
        void deps.store.cancelled(data.clipId, data.generation).then(
          (yes) => yes && cancel.abort(new ClipCancelled()),
          () => undefined,
        );
      }, CANCEL_CHECK_MS);
      // Holding the lock now means any other temp file of this chunk is a dead attempt's (a
      // worker killed mid-chunk).
      const locked = deps.lockHeld ? await deps.lockHeld(job, token) : undefined;
      if (locked === false) throw new LockLostError(jobId);
      const sweep = { now, jobActive: deps.jobActive, lockedJob: locked ? jobId : undefined };
      for (const s of await sweepStaleTemps(folder.realDir, sweep)) {
        log.info({ temp: s.path, reason: s.reason }, 'removed a stale temp file');
      }
      temp = await createTempFile(folder.realDir, stem, jobId);
      let lastReport = 0;
      const ffmpegStarted = now();
      await deps.ffmpeg.run(
        // The last chunk may run a frame past the plan: it stops where the source does.
        buildChunkArgs(
          source,
          preset,
          { ...range, frames: range.frames + tolerance },
          {
            input: data.source.path,
            output: temp.path,
            threads: deps.threads,
          },
        ),
        {
          signal: jobSignal,
          // Its signal also carries the clip's cancel: the stall watch still names the chunk.
          jobId,
          durationSec: (range.frames * rate[1]) / rate[0],
          onProgress: (p) => {
            const t = now();
            if (t - lastReport < REPORT_MS) return;
            lastReport = t;
            report(Math.min(p.frame, range.frames), p.fps, false).catch((err: unknown) =>
              log.warn({ err }, 'progress not sent'),
            );
          },
        },
      );
      const ffmpegSeconds = (now() - ffmpegStarted) / 1000;
      await checkTempIntact(temp);
      const probe = await deps.prober.probe(temp.path, { signal: jobSignal });
      const problems = verifyChunk(source, probe, preset, range, data.totalFrames);
      if (problems.length > 0) {
        throw new ProximaError(
          'CHUNK_UNVERIFIED',
          `chunk of ${data.source.path} (frames ${range.start}-${range.start + range.frames - 1}) failed verification: ${problems.join('; ')}`,
          'if it keeps failing, report the source file',
        );
      }
      await checkTempIntact(temp);
      await checkSourceFile(data.source, 'after', deps.mtimeToleranceSec);
      if (deps.lockHeld && !(await deps.lockHeld(job, token))) throw new LockLostError(jobId);
      await rename(temp.path, finalPath);
      temp = undefined;
      // The clip may have failed while this chunk was verified: its clean-up listed the folder
      // before this file was there, so it is this chunk's to remove.
      if (await deps.store.cancelled(data.clipId, data.generation)) {
        await rm(finalPath, { force: true });
        log.info('its clip failed meanwhile: chunk file removed');
        return dropped();
      }
      await report(range.frames, 0, true).catch((err: unknown) =>
        log.warn({ err }, 'progress not sent'),
      );
      log.info(
        { frames: range.frames, seconds: (now() - started) / 1000, ffmpegSeconds },
        'chunk encoded',
      );
      return {
        frames: range.frames,
        reused: false,
        encodeSeconds: (now() - started) / 1000,
        worker: deps.workerId,
      };
    } catch (err) {
      if (temp) await rm(temp.path, { force: true }).catch(() => undefined);
      if (cancel.signal.aborted) {
        log.info('its clip failed meanwhile: chunk stopped, nothing kept');
        return dropped();
      }
      const abort = abortOf(signal, err);
      if (abort?.kind === 'lock-lost' || err instanceof LockLostError) {
        throw new Error(encodeJobError(new LockLostError(jobId)));
      }
      if (abort?.kind === 'stopping') {
        log.warn('chunk interrupted; handed back to the queue');
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const storage = abort
        ? undefined
        : await storageErrorFrom(
            err,
            { proxyRoot: data.proxyRoot, folder: path.dirname(data.proxyPath) },
            err instanceof FfmpegFailed ? err.reason : undefined,
          );
      throw classify(storage ?? err, data.source.path, job, abort);
    } finally {
      if (cancelTimer) clearInterval(cancelTimer);
      deps.tracker?.ended(jobId);
    }
  };
}
