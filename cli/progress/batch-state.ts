import type { BatchEvent, BatchView, JobView } from '../../core/job/contract.ts';

/** What the CLI knows about a batch it is watching; rebuilt from every snapshot. */
export interface BatchState {
  batchId: string;
  /** Jobs in the order the batch lists them. */
  jobs: JobView[];
  /** Set once the gateway sent `done`. */
  done: boolean;
}

export function stateFromSnapshot(batch: BatchView): BatchState {
  return { batchId: batch.id, jobs: batch.jobs.map((j) => ({ ...j })), done: false };
}

/** Pure: the state after one event. Events for jobs not in the batch are ignored. */
export function applyEvent(state: BatchState, event: BatchEvent): BatchState {
  if (event.type === 'snapshot') {
    return stateFromSnapshot(event.batch);
  }
  if (event.type === 'done') return { ...state, done: true };

  const index = state.jobs.findIndex((j) => j.id === event.jobId);
  const job = state.jobs[index];
  if (!job) return state;
  // A progress report can reach the broker after the job's end (it is sent without waiting);
  // a job that really runs again comes with a new snapshot, so a late report is stale.
  const ended = job.state === 'completed' || job.state === 'failed';
  if (ended && (event.type === 'active' || event.type === 'progress')) return state;
  let next: JobView;
  switch (event.type) {
    case 'active':
      next = { ...job, state: 'active', error: null };
      break;
    case 'progress':
      // Progress implies the job is running even if its `active` event was missed.
      next = { ...job, state: 'active', progress: event.progress };
      break;
    case 'completed':
      next = { ...job, state: 'completed', result: event.result, error: null };
      break;
    case 'failed':
      next = { ...job, state: 'failed', error: event.error };
      break;
  }
  const jobs = state.jobs.slice();
  jobs[index] = next;
  return { ...state, jobs };
}

export interface Tally {
  total: number;
  completed: number;
  reused: number;
  failed: number;
  active: number;
  waiting: number;
  /** Removed from the queue (purged, expired) before a worker ran it. */
  gone: number;
}

export function tally(state: BatchState): Tally {
  const t: Tally = {
    total: state.jobs.length,
    completed: 0,
    reused: 0,
    failed: 0,
    active: 0,
    waiting: 0,
    gone: 0,
  };
  for (const j of state.jobs) {
    if (j.state === 'completed') {
      t.completed++;
      if (j.result?.reused) t.reused++;
    } else if (j.state === 'failed') t.failed++;
    else if (j.state === 'active') t.active++;
    else if (j.state === 'unknown') t.gone++;
    else t.waiting++;
  }
  return t;
}

/** Every job has its proxy. */
export function succeeded(state: BatchState): boolean {
  return state.jobs.every((j) => j.state === 'completed');
}

const QUIET_STATES: ReadonlySet<JobView['state']> = new Set(['waiting', 'prioritized', 'delayed']);

/**
 * The jobs whose state differs from what was last shown, updating `seen`. Diffing states rather
 * than reacting to single events means a reconnect's fresh snapshot still reports every job
 * that finished while the connection was down. A job first seen waiting is not news.
 */
export function stateChanges(seen: Map<string, JobView['state']>, state: BatchState): JobView[] {
  const changes: JobView[] = [];
  for (const job of state.jobs) {
    const before = seen.get(job.id);
    if (before === job.state) continue;
    seen.set(job.id, job.state);
    if (before === undefined && QUIET_STATES.has(job.state)) continue;
    changes.push(job);
  }
  return changes;
}
