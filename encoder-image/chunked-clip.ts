import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, WaitingChildrenError, type Job } from 'bullmq';
import pLimit from 'p-limit';
import type { ChunkStore } from '../core/broker/chunk-store.ts';
import type { ChunkPlan } from '../core/chunks/plan.ts';
import { ProximaError } from '../core/errors.ts';
import { buildAssembleArgs, concatList } from '../core/ffmpeg/chunk-args.ts';
import { chunkJobId } from '../core/job/chunk-id.ts';
import type { ChunkJob, EncodeJob, EncodeResult, FrameRange } from '../core/job/contract.ts';
import { decodeJobError, encodeJobError } from '../core/job/job-error.ts';
import type { Logger } from '../core/log.ts';
import type { MediaInfo } from '../core/media/media-info.ts';
import { verifyChunk, verifyProxy } from '../core/media/verify-proxy.ts';
import { checkStillInside, type ProxyFolder } from '../core/paths/proxy-folder.ts';
import { checkTempIntact, createTempFile, type TempFile } from '../core/paths/safe-write.ts';
import { checkSourceFile } from '../core/paths/source-file.ts';
import { chunkFileName, chunkListName, parseChunkFileName } from '../core/paths/temp-name.ts';
import type { PresetChoice } from '../core/presets/choose-preset.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import type { ChunkQueue } from './chunk-queue.ts';
import { encodeResult } from './encode-result.ts';
import type { FfmpegRunner } from './ffmpeg-runner.ts';
import { cancelled, LockLostError, Settled } from './job-failure.ts';
import type { Prober } from './probe-runner.ts';

export interface ChunkedClipDeps {
  ffmpeg: FfmpegRunner;
  prober: Prober;
  store: ChunkStore;
  queue: ChunkQueue;
  workerId: string;
  lockHeld?: (job: Job, token: string | undefined) => Promise<boolean>;
  mtimeToleranceSec?: number;
  now: () => number;
}

export interface ClipContext {
  job: Job;
  token: string | undefined;
  signal: AbortSignal | undefined;
  data: EncodeJob;
  source: MediaInfo;
  /** Made once, after the clip's probe: every chunk and the join use this preset. */
  choice: PresetChoice;
  folder: ProxyFolder;
  split: ChunkPlan;
  log: Logger;
  started: number;
}

/** Times a finished chunk whose file is missing is encoded again before the clip fails. */
const MAX_REQUEUES = 3;

/** Chunk files checked at once when a clip resumes; each is one short ffprobe. */
const PROBES_AT_ONCE = 4;

/**
 * A long clip's job, run each time it is taken: the first time it splits the clip into chunk
 * jobs (its BullMQ children) and waits for them; once they are done it joins their files into
 * the proxy. Every run starts from what is there, so it resumes whatever stopped it: a chunk
 * file already encoded and verified is never queued again, and a chunk that failed for good
 * fails the clip with that chunk's reason, its other chunks removed or stopped.
 */
export async function runChunkedClip(
  deps: ChunkedClipDeps,
  ctx: ClipContext,
): Promise<EncodeResult> {
  const { job, data, split } = ctx;
  const clipId = String(job.id);
  const generation = data.queuedAt;
  const saved = await deps.store.saveSplit(clipId, {
    generation,
    startedAt: ctx.started,
    totalFrames: split.totalFrames,
    rate: [split.rate[0], split.rate[1]],
    chunks: split.chunks,
  });
  const ids = split.chunks.map((c) => chunkJobId(clipId, generation, c.index));

  // Cancelled with its batch: its chunks dropped themselves; nothing is joined or queued again.
  if (await deps.store.cancelled(clipId, generation)) {
    await abandonClip(deps, ctx, ids);
    throw new Settled(new UnrecoverableError(encodeJobError(cancelled(data.source.path))));
  }

  const failed = await failedChunk(job, ids, split);
  if (failed) {
    await abandonClip(deps, ctx, ids);
    const e = failed.error;
    const range = `chunk ${failed.range.index + 1} of ${split.chunks.length} (frames ${failed.range.start}-${failed.range.start + failed.range.frames - 1})`;
    ctx.log.warn({ chunk: failed.range.index, code: e.code }, `${range} failed: ${e.message}`);
    throw new Settled(
      new UnrecoverableError(
        encodeJobError(new ProximaError(e.code, `${range}: ${e.message}`, e.hint)),
      ),
    );
  }

  // Twice at most: chunks may all finish between the look at the files and the wait.
  for (let round = 0; round < 2; round++) {
    const missing = await missingChunks(deps, ctx);
    if (missing.length === 0) return assemble(deps, { ...ctx, started: saved.startedAt }, ids);
    await queueChunks(deps, ctx, missing);
    if (!ctx.token) throw new LockLostError(clipId);
    if (await job.moveToWaitingChildren(ctx.token)) {
      ctx.log.info(
        { chunks: split.chunks.length, pending: missing.length, frames: split.totalFrames },
        'clip split into chunks; waiting for them',
      );
      throw new Settled(new WaitingChildrenError());
    }
  }
  throw new ProximaError(
    'CHUNKS_INCOMPLETE',
    `the chunks of ${data.source.path} finished but some of their files are missing or wrong`,
    'something removes files from the proxy folder; the clip is retried',
  );
}

function chunkPath(ctx: ClipContext, c: FrameRange): string {
  const stem = path.basename(ctx.data.proxyPath, '.mov');
  return path.join(ctx.folder.realDir, chunkFileName(stem, String(ctx.job.id), c.start, c.frames));
}

/** The chunks whose file is not there, or not exactly what its range needs. */
async function missingChunks(deps: ChunkedClipDeps, ctx: ClipContext): Promise<FrameRange[]> {
  const limit = pLimit(PROBES_AT_ONCE);
  const verdicts = await Promise.all(
    ctx.split.chunks.map((c) =>
      limit(async () => {
        const probe = await deps.prober
          .probe(chunkPath(ctx, c), { signal: ctx.signal })
          .catch(() => undefined);
        return (
          probe !== undefined &&
          verifyChunk(ctx.source, probe, ctx.choice.preset, c, ctx.split.totalFrames).length === 0
        );
      }),
    ),
  );
  return ctx.split.chunks.filter((_, i) => !verdicts[i]);
}

/** Queues a job for each missing chunk that has none pending; a finished one is queued again. */
async function queueChunks(
  deps: ChunkedClipDeps,
  ctx: ClipContext,
  missing: readonly FrameRange[],
): Promise<void> {
  const clipId = String(ctx.job.id);
  const generation = ctx.data.queuedAt;
  const toAdd: { id: string; data: ChunkJob }[] = [];
  for (const range of missing) {
    const id = chunkJobId(clipId, generation, range.index);
    const state = await deps.queue.state(id);
    // Its file went missing after it finished (removed by hand, or a restarted stack).
    if (state === 'completed') {
      if ((await deps.store.requeued(clipId, range.index)) > MAX_REQUEUES) {
        throw new ProximaError(
          'CHUNK_LOST',
          `chunk ${range.index + 1} of ${ctx.split.chunks.length} of ${ctx.data.source.path} was encoded ${MAX_REQUEUES} times but its file is gone or wrong each time the clip is joined`,
          `something removes or changes files in ${ctx.folder.realDir}; keep other programs out of the proxy folder`,
        );
      }
      await deps.queue.remove(id);
    } else if (state !== 'unknown') continue;
    toAdd.push({
      id,
      data: {
        v: PROTOCOL_VERSION,
        clipId,
        generation,
        batchId: ctx.data.batchId,
        source: ctx.data.source,
        preset: ctx.choice.name,
        size: ctx.data.size,
        presets: Object.hasOwn(ctx.data.presets, ctx.choice.name)
          ? { [ctx.choice.name]: ctx.data.presets[ctx.choice.name]! }
          : {},
        proxyPath: ctx.data.proxyPath,
        proxyRoot: ctx.data.proxyRoot,
        layout: ctx.data.layout,
        range,
        totalFrames: ctx.split.totalFrames,
      },
    });
  }
  if (toAdd.length > 0) await deps.queue.add(ctx.job, toAdd);
}

interface FailedChunk {
  range: FrameRange;
  error: ReturnType<typeof decodeJobError>;
}

/** The first chunk of this split that failed for good, if one did. */
async function failedChunk(
  job: Job,
  ids: readonly string[],
  split: ChunkPlan,
): Promise<FailedChunk | undefined> {
  const values = await job.getFailedChildrenValues();
  let first: FailedChunk | undefined;
  for (const [key, reason] of Object.entries(values)) {
    // Keys are `<prefix>:<queue>:<job id>`; ids hold no ':'.
    const i = ids.indexOf(key.slice(key.lastIndexOf(':') + 1));
    if (i < 0) continue;
    const range = split.chunks[i]!;
    if (!first || range.index < first.range.index) first = { range, error: decodeJobError(reason) };
  }
  return first;
}

/**
 * A chunk failed for good: chunks not started are removed, running ones are told to stop, and
 * no chunk file of the clip is left behind.
 */
async function abandonClip(
  deps: ChunkedClipDeps,
  ctx: ClipContext,
  ids: readonly string[],
): Promise<void> {
  const clipId = String(ctx.job.id);
  await deps.store.cancel(clipId, ctx.data.queuedAt);
  await ctx.job
    .removeUnprocessedChildren()
    .catch((err: unknown) => ctx.log.warn({ err }, 'chunks not started could not be removed'));
  for (const id of ids) await deps.queue.remove(id);
  await removeChunkFiles(ctx);
}

async function removeChunkFiles(ctx: ClipContext): Promise<void> {
  const clipId = String(ctx.job.id);
  const stem = path.basename(ctx.data.proxyPath, '.mov');
  const names = await readdir(ctx.folder.realDir).catch(() => [] as string[]);
  for (const name of names) {
    const parsed = parseChunkFileName(name);
    const isList = name === chunkListName(stem, clipId);
    if (!isList && (parsed?.clipId !== clipId || parsed.stem !== stem)) continue;
    await rm(path.join(ctx.folder.realDir, name), { force: true }).catch((err: unknown) =>
      ctx.log.warn({ err, file: name }, 'chunk file not removed'),
    );
  }
}

/**
 * Joins the chunk files by stream copy with every audio stream of the source taken in one
 * pass, then verifies and renames it like any proxy.
 */
async function assemble(
  deps: ChunkedClipDeps,
  ctx: ClipContext,
  ids: readonly string[],
): Promise<EncodeResult> {
  const { job, data, source, folder, split, log } = ctx;
  const preset = ctx.choice.preset;
  const clipId = String(job.id);
  const stem = path.basename(data.proxyPath, '.mov');
  const list = path.join(folder.realDir, chunkListName(stem, clipId));
  await writeFile(list, concatList(split.chunks.map((c) => chunkPath(ctx, c))), { mode: 0o644 });
  let temp: TempFile | undefined;
  try {
    if (deps.lockHeld && !(await deps.lockHeld(job, ctx.token))) throw new LockLostError(clipId);
    temp = await createTempFile(folder.realDir, stem, clipId);
    const joinStarted = deps.now();
    await deps.ffmpeg.run(
      buildAssembleArgs(source, {
        list,
        source: data.source.path,
        output: temp.path,
        audio: preset.audio,
      }),
      { signal: ctx.signal, jobId: clipId, durationSec: source.durationSec },
    );
    await checkTempIntact(temp);
    const proxy = await deps.prober.probe(temp.path, { signal: ctx.signal });
    // As strict as a single pass: the chunks' own counts were exact, all but the last.
    const problems = verifyProxy(source, proxy, preset);
    if (problems.length > 0) {
      throw new ProximaError(
        'PROXY_UNVERIFIED',
        `joined proxy of ${data.source.path} failed verification: ${problems.join('; ')}`,
        'if it keeps failing, report the source file',
      );
    }
    await checkTempIntact(temp);
    await checkSourceFile(data.source, 'after', deps.mtimeToleranceSec);
    await checkStillInside(folder, data.proxyPath);
    if (deps.lockHeld && !(await deps.lockHeld(job, ctx.token))) throw new LockLostError(clipId);
    await rename(temp.path, folder.finalPath);
    temp = undefined;
    log.info(
      {
        proxy: data.proxyPath,
        chunks: split.chunks.length,
        joinSeconds: (deps.now() - joinStarted) / 1000,
        seconds: (deps.now() - ctx.started) / 1000,
      },
      'proxy joined from its chunks and written',
    );
    await removeChunkFiles(ctx);
    // Done chunks only count against the queue's totals from here on.
    for (const id of ids) await deps.queue.remove(id);
    return {
      ...encodeResult(data, proxy, false, ctx.started, deps.now(), deps.workerId),
      chunks: split.chunks.length,
      preset: ctx.choice.name,
      rule: ctx.choice.rule,
    };
  } finally {
    if (temp) await rm(temp.path, { force: true }).catch(() => undefined);
    await rm(list, { force: true }).catch(() => undefined);
  }
}
