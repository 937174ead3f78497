import {
  encodeJobSchema,
  encodeResultSchema,
  progressSchema,
  type BatchCounts,
  type BatchJobFilterState,
  type BatchSummary,
  type BatchView,
  type EncodeJob,
  type JobError,
  type JobState,
  type JobView,
} from '../core/job/contract.ts';
import { decodeJobError } from '../core/job/job-error.ts';
import type { BatchRecord } from './queue/batch-store.ts';
import type { JobQueue, StoredJob } from './queue/job-queue.ts';

/** A result a worker of another version shaped differently: the proxy cannot be trusted. */
export const BAD_RESULT: JobError = {
  code: 'BAD_RESULT',
  message: 'the worker reported a result the gateway does not understand',
  hint: 'run the same Proxima version on the gateway and every worker, then queue the file again',
};

/** Where the editor's machine sees a job's source and proxy (paths.mappings reversed). */
export interface EditorPaths {
  source: string;
  proxyPath: string;
}

/** A job whose record is gone (purged, or expired after broker.result_expires). */
export function missingJobView(
  id: string,
  preset: BatchRecord['preset'],
  editor?: EditorPaths,
): JobView {
  return {
    id,
    state: 'unknown',
    source: editor?.source ?? '',
    proxyPath: editor?.proxyPath ?? '',
    preset,
    rule: null,
    attempts: 0,
    progress: null,
    result: null,
    error: null,
  };
}

/**
 * `editor`: the paths as the batch being shown queued them; a job another batch queued first
 * has that batch's editor paths in its payload, maybe of another machine.
 */
export function jobViewFrom(
  job: StoredJob,
  fallbackPreset: BatchRecord['preset'],
  editor?: EditorPaths,
  /** job.data as already validated by the caller (a payload it just built): not parsed again. */
  parsed?: EncodeJob,
): JobView {
  const data = parsed
    ? ({ success: true, data: parsed } as const)
    : encodeJobSchema.safeParse(job.data);
  const progress = progressSchema.safeParse(job.progress);
  const payload = data.success ? data.data : null;
  const farmSource = payload?.source.path ?? '';
  const farmProxyPath = payload?.proxyPath ?? '';
  const view: JobView = {
    id: job.id,
    state: job.state,
    source: editor?.source ?? payload?.editorSource ?? farmSource,
    proxyPath: editor?.proxyPath ?? payload?.editorProxyPath ?? farmProxyPath,
    farmSource,
    farmProxyPath,
    preset: data.success ? data.data.preset : fallbackPreset,
    rule: null,
    attempts: job.attemptsMade,
    progress: progress.success ? progress.data : null,
    result: null,
    error: null,
    ...(job.chunks && { chunks: job.chunks }),
    ...(job.processedOn !== undefined && { startedAt: job.processedOn }),
    // A job handed back or retried keeps the end of its earlier attempt: shown only once over.
    ...(job.finishedOn !== undefined && isTerminal(job.state) && { finishedAt: job.finishedOn }),
  };
  if (job.state === 'completed') {
    const result = encodeResultSchema.safeParse(job.returnvalue);
    if (result.success) {
      view.result = result.data;
      // The preset a rule chose is known once the worker has probed and encoded the source.
      if (result.data.preset !== undefined) view.preset = result.data.preset;
      view.rule = result.data.rule ?? null;
    } else return { ...view, state: 'failed', error: BAD_RESULT };
  }
  if (job.state === 'failed') view.error = decodeJobError(job.failedReason ?? undefined);
  return view;
}

const TERMINAL: ReadonlySet<JobState> = new Set(['completed', 'failed', 'unknown']);

/** Nothing more will happen to the job on its own; `unknown` means its record is gone. */
export function isTerminal(state: JobState): boolean {
  return TERMINAL.has(state);
}

/** The group of the batch's counts a state falls in (waiting includes prioritized and delayed). */
export function stateGroup(s: JobState): BatchJobFilterState {
  if (s === 'waiting' || s === 'prioritized' || s === 'delayed') return 'waiting';
  return s;
}

export function countStates(states: Iterable<JobState>): BatchCounts {
  const c: BatchCounts = { total: 0, waiting: 0, active: 0, completed: 0, failed: 0 };
  for (const s of states) {
    c.total++;
    const group = stateGroup(s);
    // Gone jobs count in the total only.
    if (group !== 'unknown') c[group]++;
  }
  return c;
}

export function batchViewFrom(record: BatchRecord, jobs: readonly JobView[]): BatchView {
  return {
    id: record.id,
    createdAt: record.createdAt,
    label: record.label,
    preset: record.preset,
    counts: countStates(jobs.map((j) => j.state)),
    jobs: [...jobs],
    skipped: record.skipped,
    ...(record.resolve && { resolve: record.resolve }),
  };
}

export async function readJobViews(
  queue: JobQueue,
  ids: readonly string[],
  preset: BatchRecord['preset'],
  editor: readonly EditorPaths[] = [],
): Promise<JobView[]> {
  const jobs = await queue.getJobs(ids);
  return jobs.map((j, i) =>
    j ? jobViewFrom(j, preset, editor[i]) : missingJobView(ids[i]!, preset, editor[i]),
  );
}

export async function readBatchView(queue: JobQueue, record: BatchRecord): Promise<BatchView> {
  return batchViewFrom(
    record,
    await readJobViews(queue, record.jobIds, record.preset, record.editorPaths),
  );
}

export async function readBatchSummary(
  queue: JobQueue,
  record: BatchRecord,
): Promise<BatchSummary> {
  const states = await queue.states(record.jobIds);
  return {
    id: record.id,
    createdAt: record.createdAt,
    label: record.label,
    preset: record.preset,
    counts: countStates(states),
    skipped: record.skipped,
    ...(record.resolve && {
      resolve: { project: record.resolve.project, timelines: record.resolve.timelines },
    }),
  };
}

export interface BatchPageQuery {
  offset: number;
  limit: number;
  state?: BatchJobFilterState;
  /** Case-insensitive text the job's source path (as the editor queued it) contains. */
  text?: string;
}

/**
 * One page of a batch's jobs, filtered, with the whole batch's counts. Reads every job's state
 * (one script call per few thousand jobs, for the counts and the filter) but the full record of
 * the page's jobs only.
 */
export async function readBatchPage(
  queue: JobQueue,
  record: BatchRecord,
  query: BatchPageQuery,
): Promise<BatchView> {
  const ids = record.jobIds;
  const states = await queue.states(ids);
  const needle = query.text?.toLowerCase();
  const matching: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (query.state && stateGroup(states[i]!) !== query.state) continue;
    if (needle) {
      const shown = record.editorPaths?.[i]?.source ?? ids[i]!;
      if (!shown.toLowerCase().includes(needle)) continue;
    }
    matching.push(i);
  }
  const page = matching.slice(query.offset, query.offset + query.limit);
  const jobs = await readJobViews(
    queue,
    page.map((i) => ids[i]!),
    record.preset,
    record.editorPaths ? page.map((i) => record.editorPaths![i]!) : [],
  );
  return {
    ...batchViewFrom(record, jobs),
    counts: countStates(states),
    page: { offset: query.offset, limit: query.limit, matched: matching.length },
  };
}
