import type { z } from 'zod';
import type { Config, PresetName } from '../core/config/schema.ts';
import { InputError, isProximaError } from '../core/errors.ts';
import {
  encodeResultSchema,
  enqueueRequestSchema,
  type EncodeJob,
  type EnqueueResponse,
  type ResolveLinks,
  type SkippedFile,
  type SourceRef,
} from '../core/job/contract.ts';
import type { Logger } from '../core/log.ts';
import { jobIdFor, newBatchId, presetsDigest } from '../core/job/job-id.ts';
import {
  presetTableFrom,
  resolvePreset,
  UnknownPresetError,
} from '../core/presets/choose-preset.ts';
import { jobPresets, type JobPresets } from '../core/presets/job-presets.ts';
import { pathStyle, toEditor, toFarm } from '../core/paths/path-mapping.ts';
import { payloadProxyRoot, proxyPathFor } from '../core/paths/proxy-path.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { fieldName, HttpError } from './errors.ts';
import { isBelowMediaRoot } from './media-roots.ts';
import type { ProxyInspector } from './proxy-inspector.ts';
import type { BatchRecord, BatchStore } from './queue/batch-store.ts';
import type { JobQueue, StoredJob } from './queue/job-queue.ts';
import {
  batchViewFrom,
  jobViewFrom,
  missingJobView,
  stateGroup,
  type EditorPaths,
} from './views.ts';

export interface PlannedJob {
  jobId: string;
  /** As the farm sees it (paths.mappings applied). */
  source: SourceRef;
  proxyPath: string;
  /** The same two files as the editor's machine names them. */
  editor: EditorPaths;
}

export interface EnqueuePlan {
  preset: PresetName;
  /** What every job carries to choose and build its preset on any worker. */
  presets: JobPresets;
  label: string | null;
  reencode: boolean;
  /** One per distinct job, in request order. */
  jobs: PlannedJob[];
  resolve: ResolveLinks | null;
  skipped: SkippedFile[];
}

/**
 * Pure: the jobs a request asks for. Sources are mapped to the farm's paths (paths.mappings),
 * and each job's proxy path mapped back for the editor in the style of its source, so a Mac
 * and a Windows editor each see the one proxy under their own name. Duplicates (one farm file
 * spelt two ways too) collapse into one job; two different sources that would write the same
 * proxy file are refused, since one would overwrite the other.
 */
export function planEnqueue(body: unknown, config: Config): EnqueuePlan {
  const request = enqueueRequestSchema.parse(body, { reportInput: true });
  let presets: JobPresets;
  try {
    presets = jobPresets(
      presetTableFrom(config),
      config.encoding.rules,
      config.encoding.preset,
      request.preset,
    );
  } catch (err) {
    if (!(err instanceof UnknownPresetError)) throw err;
    // Worded as the request's other bad values are.
    const known = err.known.map((n) => JSON.stringify(n)).join(', ');
    throw new InputError(
      'INVALID_REQUEST',
      `${fieldName(['preset'])}: expected one of ${known}, got ${JSON.stringify(err.preset)}`,
      err.hint,
    );
  }
  const preset = presets.preset;
  const digest = presetsDigest(presets.rules, presets.presets);
  const jobs: PlannedJob[] = [];
  const byJobId = new Set<string>();
  const byProxyPath = new Map<string, number>();
  const jobOfPath = new Map<string, string>();

  const roots = config.paths.media_roots;
  const mappings = config.paths.mappings;
  request.sources.forEach((queued, i) => {
    const source = { ...queued, path: toFarm(queued.path, mappings) };
    const shown =
      source.path === queued.path ? queued.path : `${queued.path} (${source.path} on the farm)`;
    if (!isBelowMediaRoot(source.path, roots)) {
      throw new HttpError(
        403,
        'SOURCE_OUTSIDE_MEDIA_ROOTS',
        `${fieldName(['sources', i, 'path'])}: ${shown} is not below paths.media_roots (${roots.join(', ')})`,
        'queue files below one of those folders, or add their folder to paths.media_roots (or a paths.mappings entry) in the gateway config',
      );
    }
    const jobId = jobIdFor(
      source,
      preset,
      config.paths.mtime_tolerance_seconds,
      config.encoding.size,
      digest,
    );
    jobOfPath.set(queued.path, jobId);
    if (byJobId.has(jobId)) return;
    let proxyPath: string;
    try {
      proxyPath = proxyPathFor(source.path, config.paths.proxy_root, {
        nameClash: source.nameClash,
        layout: config.paths.layout,
      });
    } catch (err) {
      if (!isProximaError(err)) throw err;
      throw new InputError(
        err.code,
        `${fieldName(['sources', i, 'path'])}: ${err.message}`,
        err.hint,
      );
    }
    const clash = byProxyPath.get(proxyPath);
    if (clash !== undefined) {
      throw new InputError(
        'PROXY_PATH_CLASH',
        `${fieldName(['sources', i, 'path'])}: ${shown} would write the same proxy as ${fieldName(['sources', clash, 'path'])} (${proxyPath})`,
        'set nameClash on sources that share a folder and a file stem, or queue each file once',
      );
    }
    byJobId.add(jobId);
    byProxyPath.set(proxyPath, i);
    const editor = {
      source: queued.path,
      proxyPath: toEditor(proxyPath, mappings, pathStyle(queued.path)),
    };
    jobs.push({ jobId, source, proxyPath, editor });
  });
  return {
    preset,
    presets,
    label: request.label ?? null,
    reencode: request.reencode ?? false,
    jobs,
    resolve: resolveLinks(request, jobOfPath),
    skipped: request.skipped ?? [],
  };
}

/** Each Resolve clip with the job that encodes its source; a clip nothing will link is refused. */
function resolveLinks(
  request: z.output<typeof enqueueRequestSchema>,
  jobOfPath: ReadonlyMap<string, string>,
): ResolveLinks | null {
  if (!request.resolve) return null;
  const clips = request.resolve.clips.map((clip, i) => {
    const jobId = jobOfPath.get(clip.source) ?? null;
    if (jobId === null && clip.proxyPath === undefined) {
      throw new InputError(
        'INVALID_REQUEST',
        `${fieldName(['resolve', 'clips', i, 'source'])}: ${clip.source} is not among the sources and has no proxyPath`,
        'name each Resolve clip by the path of a queued source, or give the proxy it is linked to',
      );
    }
    return { ...clip, jobId };
  });
  return { ...request.resolve, clips };
}

export interface EnqueueDeps {
  queue: JobQueue;
  batches: BatchStore;
  proxies: ProxyInspector;
  config: Config;
  logger: Logger;
}

/**
 * Pure: the proxy a finished job vouches for, when it is the one this request plans. A result
 * for another path (paths.proxy_root changed since) or one the gateway cannot read vouches for
 * nothing.
 */
export function claimedProxy(job: StoredJob | null, planned: string): string | null {
  if (job?.state !== 'completed') return null;
  const result = encodeResultSchema.safeParse(job.returnvalue);
  return result.success && result.data.proxyPath === planned ? planned : null;
}

/**
 * The finished jobs whose proxy is no longer what they say: deleted, replaced by another
 * preset's, or written under an earlier proxy root. Redis only remembers; the disk decides.
 */
async function staleFinished(
  deps: EnqueueDeps,
  done: readonly PlannedJob[],
  plan: EnqueuePlan,
): Promise<PlannedJob[]> {
  if (done.length === 0) return [];
  const stored = await deps.queue.getJobs(done.map((j) => j.jobId));
  const table = { size: deps.config.encoding.size, user: plan.presets.presets };
  const verdicts = await Promise.all(
    done.map(async (j, i) => {
      const claimed = claimedProxy(stored[i] ?? null, j.proxyPath);
      if (claimed === null) return { ok: false as const, reason: 'its result names another path' };
      // The preset the worker chose (by a rule, perhaps), as the same lookup the worker uses.
      const chosen = encodeResultSchema.parse(stored[i]!.returnvalue).preset ?? plan.preset;
      try {
        return await deps.proxies.inspect(claimed, resolvePreset(table, chosen));
      } catch (err) {
        if (!isProximaError(err)) throw err;
        return { ok: false as const, reason: err.message };
      }
    }),
  );
  const stale: PlannedJob[] = [];
  verdicts.forEach((v, i) => {
    if (v.ok) return;
    const j = done[i]!;
    deps.logger.info(
      { job: j.jobId, proxy: j.proxyPath, reason: v.reason },
      'finished job has no usable proxy; encoding it again',
    );
    stale.push(j);
  });
  return stale;
}

/**
 * Queues what is not queued yet and retries what failed; a job already waiting, running or done
 * is only linked to the new batch, so the caller can wait on it like any other.
 */
export async function enqueueBatch(
  deps: EnqueueDeps,
  body: unknown,
  now: number = Date.now(),
): Promise<EnqueueResponse> {
  const plan = planEnqueue(body, deps.config);
  const batchId = newBatchId();
  // Every part of a payload comes from the request parsed above or the config: built as the
  // contract's type says, not parsed again per job (10,000 parses were a tenth of a big enqueue).
  // Workers validate each payload they take.
  const common = {
    v: PROTOCOL_VERSION,
    batchId,
    preset: plan.preset,
    size: deps.config.encoding.size,
    presets: plan.presets.presets,
    rules: plan.presets.rules,
    layout: deps.config.paths.layout,
    queuedAt: now,
    ...(plan.reencode && { reencode: true }),
    chunking: deps.config.chunking.enabled
      ? {
          chunkSeconds: deps.config.chunking.chunk_seconds,
          minSeconds: deps.config.chunking.min_seconds,
        }
      : null,
  } as const;
  const payload = (job: PlannedJob): EncodeJob => ({
    ...common,
    source: job.source,
    proxyPath: job.proxyPath,
    proxyRoot: payloadProxyRoot(common.layout, deps.config.paths.proxy_root, job.proxyPath),
    editorSource: job.editor.source,
    editorProxyPath: job.editor.proxyPath,
  });

  const ids = plan.jobs.map((j) => j.jobId);
  /** The payloads this request added as new jobs, by id. */
  const added = new Map<string, EncodeJob>();
  if (plan.reencode) {
    for (const j of plan.jobs) await deps.queue.reencode({ id: j.jobId, data: payload(j) });
  } else {
    const states = await deps.queue.states(ids);
    const fresh = plan.jobs.filter((_, i) => states[i] === 'unknown');
    const failed = plan.jobs.filter((_, i) => states[i] === 'failed');
    const done = plan.jobs.filter((_, i) => states[i] === 'completed');
    const stale = await staleFinished(deps, done, plan);
    // Largest files first: long clips start early and their chunks spread over the workers
    // while the short ones fill the gaps, instead of one long clip finishing last.
    const bySize = [...fresh].sort((a, b) => b.source.size - a.source.size);
    const newJobs = bySize.map((j) => ({ id: j.jobId, data: payload(j) }));
    for (const j of newJobs) added.set(j.id, j.data);
    await deps.queue.addJobs(newJobs);
    for (const j of failed) await deps.queue.retryFailed({ id: j.jobId, data: payload(j) });
    // Without the reencode flag: should a good proxy turn up meanwhile, the worker reuses it.
    for (const j of stale) await deps.queue.reencode({ id: j.jobId, data: payload(j) });
  }

  const record: BatchRecord = {
    id: batchId,
    createdAt: now,
    label: plan.label,
    preset: plan.preset,
    jobIds: ids,
    skipped: plan.skipped,
    ...(plan.resolve && { resolve: plan.resolve }),
    editorPaths: plan.jobs.map((j) => j.editor),
  };
  await deps.batches.save(record);

  // Read back rather than trusting what we sent: a job that another request queued first keeps
  // that request's payload, and so counts as deduplicated even if it was unknown a moment ago.
  // Only whose payload each job carries is read for all of them; a job this request added with
  // its own payload is shown from that payload, and only the others are read in full.
  const [owners, states] = await Promise.all([deps.queue.batchesOf(ids), deps.queue.states(ids)]);
  // One a worker has taken already is read in full too: it may even have finished.
  const readIds = ids.filter(
    (id, i) => !(added.has(id) && owners[i] === batchId && stateGroup(states[i]!) === 'waiting'),
  );
  const read = new Map<string, StoredJob | null>();
  (await deps.queue.getJobs(readIds)).forEach((job, i) => read.set(readIds[i]!, job));
  const views = ids.map((id, i) => {
    const editor = plan.jobs[i]!.editor;
    const own = read.has(id) ? undefined : added.get(id);
    const job: StoredJob | null = own
      ? {
          id,
          state: states[i]!,
          data: own,
          attemptsMade: 0,
          progress: null,
          returnvalue: null,
          failedReason: null,
        }
      : (read.get(id) ?? null);
    if (!job) return missingJobView(id, plan.preset, editor);
    return jobViewFrom(job, plan.preset, editor, own);
  });
  const deduplicated = owners.filter((owner) => owner !== null && owner !== batchId).length;
  return { batch: batchViewFrom(record, views), deduplicated };
}
