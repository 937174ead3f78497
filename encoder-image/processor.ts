import { rename, rm, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, WaitingError, type Job, type Processor } from 'bullmq';
import { InputError, MediaError, ProximaError } from '../core/errors.ts';
import { buildFfmpegArgs } from '../core/ffmpeg/build-args.ts';
import { encodeJobSchema, type EncodeJob, type EncodeResult } from '../core/job/contract.ts';
import { encodeJobError } from '../core/job/job-error.ts';
import type { Logger } from '../core/log.ts';
import type { MediaInfo } from '../core/media/media-info.ts';
import { verifyProxy } from '../core/media/verify-proxy.ts';
import { PRESETS, type Preset } from '../core/presets/presets.ts';
import { FfmpegFailed, type FfmpegRunner } from './ffmpeg-runner.ts';
import type { Prober } from './probe-runner.ts';

export interface JobTracker {
  started(jobId: string, source: string): void;
  ended(jobId: string): void;
}

export interface ProcessorDeps {
  ffmpeg: FfmpegRunner;
  prober: Prober;
  logger: Logger;
  workerId: string;
  jobExpiresSec: number;
  /** Encoder threads per job; ffmpeg chooses when absent. */
  threads?: number;
  tracker?: JobTracker;
  now?: () => number;
}

/** ffmpeg reasons that mean the source itself is broken: retrying cannot help. */
const CORRUPT_SOURCE =
  /invalid data found|error while decoding|moov atom not found|truncat|corrupt|end of file|invalid nal|no frame/i;

/**
 * Probe, encode to a temp name beside the proxy, verify with ffprobe, rename. A bad input is
 * an UnrecoverableError (never retried); anything else is retried by the queue's attempts.
 */
export function createProcessor(deps: ProcessorDeps): Processor<EncodeJob, EncodeResult> {
  const now = deps.now ?? Date.now;
  return async (job, token, signal) => {
    const parsed = encodeJobSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(
        encodeJobError(
          new InputError(
            'BAD_JOB',
            `job ${String(job.id)} has a payload this worker cannot read: ${parsed.error.issues[0]?.message ?? ''}`,
            'queue it again with a matching Proxima version (check "proxima status")',
          ),
        ),
      );
    }
    const data = parsed.data;
    const log = deps.logger.child({ job: job.id, source: data.source.path });
    deps.tracker?.started(String(job.id), data.source.path);
    const started = now();
    let temp: string | undefined;
    try {
      checkNotExpired(data, now(), deps.jobExpiresSec);
      await checkSourceUnchanged(data);
      const preset = PRESETS[data.preset];
      const source = await deps.prober.probe(data.source.path);
      checkEncodable(data.source.path, source);

      const reused = data.reencode
        ? undefined
        : await existingProxy(deps.prober, data.proxyPath, source, preset);
      if (reused) {
        log.info({ proxy: data.proxyPath }, 'verified proxy already there; not encoding again');
        return result(data, reused, true, started, now(), deps.workerId);
      }

      await mkdir(path.dirname(data.proxyPath), { recursive: true });
      temp = path.join(
        path.dirname(data.proxyPath),
        `.${path.basename(data.proxyPath, '.mov')}.${String(job.id)}.partial`,
      );
      const args = buildFfmpegArgs(source, preset, {
        input: data.source.path,
        output: temp,
        threads: deps.threads,
      });
      log.debug({ args }, 'encoding');
      await deps.ffmpeg.run(args, {
        signal,
        durationSec: source.durationSec,
        onProgress: (p) => {
          job.updateProgress(p).catch((err: unknown) => log.warn({ err }, 'progress not sent'));
        },
      });

      const proxy = await deps.prober.probe(temp);
      const problems = verifyProxy(source, proxy, preset);
      if (problems.length > 0) {
        // Retried: a full disk or a killed ffmpeg can leave a short file that probes fine.
        throw new ProximaError(
          'PROXY_UNVERIFIED',
          `proxy of ${data.source.path} failed verification: ${problems.join('; ')}`,
          'it will be retried; if it keeps failing, report the source file',
        );
      }
      await rename(temp, data.proxyPath);
      temp = undefined;
      log.info({ proxy: data.proxyPath, seconds: (now() - started) / 1000 }, 'proxy written');
      return result(data, proxy, false, started, now(), deps.workerId);
    } catch (err) {
      if (temp) await rm(temp, { force: true });
      if (signal?.aborted || (err instanceof FfmpegFailed && err.aborted)) {
        // The worker is stopping: hand the job back untouched for another worker.
        log.warn('encode interrupted; job handed back to the queue');
        await job.moveToWait(token);
        throw new WaitingError();
      }
      throw classify(err, data.source.path, job);
    } finally {
      deps.tracker?.ended(String(job.id));
    }
  };
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

async function checkSourceUnchanged(data: EncodeJob): Promise<void> {
  const st = await stat(data.source.path).catch(() => undefined);
  if (!st) {
    throw new MediaError(
      'SOURCE_MISSING',
      `source file ${data.source.path} does not exist on this worker`,
      'check the media is mounted at the same path on every worker, then queue it again',
    );
  }
  if (st.size !== data.source.size || Math.trunc(st.mtimeMs) !== Math.trunc(data.source.mtimeMs)) {
    throw new MediaError(
      'SOURCE_CHANGED',
      `source file ${data.source.path} changed since it was queued`,
      'wait until the copy has finished, then queue it again',
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

async function existingProxy(
  prober: Prober,
  proxyPath: string,
  source: MediaInfo,
  preset: Preset,
): Promise<MediaInfo | undefined> {
  const there = await stat(proxyPath).catch(() => undefined);
  if (!there) return undefined;
  const proxy = await prober.probe(proxyPath).catch(() => undefined);
  return proxy && verifyProxy(source, proxy, preset).length === 0 ? proxy : undefined;
}

function result(
  data: EncodeJob,
  proxy: MediaInfo,
  reused: boolean,
  started: number,
  ended: number,
  worker: string,
): EncodeResult {
  return {
    proxyPath: data.proxyPath,
    reused,
    codec: proxy.video?.codec ?? '',
    width: proxy.video?.width ?? 0,
    height: proxy.video?.height ?? 0,
    frames: proxy.video?.frameCount ?? 0,
    audioStreams: proxy.audio.length,
    timecode: proxy.timecode,
    encodeSeconds: (ended - started) / 1000,
    worker,
  };
}

function classify(err: unknown, file: string, job: Job): Error {
  if (err instanceof MediaError || err instanceof InputError) {
    return new UnrecoverableError(encodeJobError(err));
  }
  if (err instanceof FfmpegFailed && CORRUPT_SOURCE.test(err.reason)) {
    return new UnrecoverableError(
      encodeJobError(
        new MediaError(
          'MEDIA_CORRUPT',
          `${file} cannot be decoded: ${err.reason}`,
          'the file is corrupt or incomplete; replace it and queue again',
        ),
      ),
    );
  }
  if (err instanceof FfmpegFailed) {
    return new Error(
      encodeJobError(
        new ProximaError(
          'ENCODE_FAILED',
          `encoding ${file} failed (attempt ${job.attemptsMade + 1}): ${err.reason}`,
          'it is retried; check free space and the worker log if it keeps failing',
        ),
      ),
    );
  }
  return new Error(encodeJobError(err));
}
