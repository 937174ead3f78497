import type { ChunkView, JobView } from '../../../../core/job/contract.ts';
import { baseName, duration, elapsedSeconds, etaSeconds, folderOf, jobPercent } from '../format.ts';
import { JobBar } from './bar.tsx';

const STATE_TEXT: Record<JobView['state'], string> = {
  waiting: 'waiting',
  prioritized: 'waiting',
  delayed: 'retrying soon',
  active: 'encoding',
  completed: 'done',
  failed: 'failed',
  unknown: 'gone',
};

/** Who names a worker: its registration's id mapped to its container or host name. */
export interface WorkerNames {
  /** Job id to the name of the worker running it now. */
  byJob: ReadonlyMap<string, string>;
  /** Worker id (as results and chunks give it) to its name. */
  byId: ReadonlyMap<string, string>;
}

/**
 * Who encodes it: the registered worker running the clip's job, or for a chunked clip the
 * workers of its running chunks (the clip's own job only joins them at the end); once done,
 * the one its result names. A worker gone since keeps its id.
 */
function workersOf(job: JobView, workers: WorkerNames): string[] {
  const name = (id: string) => workers.byId.get(id) ?? id;
  if (job.state === 'completed' && job.result) return [name(job.result.worker)];
  const names = new Set<string>();
  const own = workers.byJob.get(job.id);
  if (own) names.add(own);
  for (const c of job.chunks ?? []) if (c.state === 'active' && c.worker) names.add(name(c.worker));
  return [...names];
}

function ChunkStrip(props: { chunks: ChunkView[] }) {
  const done = props.chunks.filter((c) => c.state === 'completed').length;
  return (
    <span class="chunks">
      chunks {done}/{props.chunks.length}
      <span class="chunk-strip" aria-hidden="true">
        {props.chunks.map((c) => (
          <span
            key={c.index}
            class={`chunk state-${c.state}`}
            style={{ flexGrow: String(c.frames) }}
            title={`chunk ${c.index + 1}: frames ${c.start}-${c.start + c.frames - 1}, ${c.state}${c.worker ? `, ${c.worker}` : ''}`}
          />
        ))}
      </span>
    </span>
  );
}

export function JobRow(props: {
  job: JobView;
  workers: WorkerNames;
  now: number;
  onRetry: (job: JobView) => void;
}) {
  const { job, now } = props;
  const name = baseName(job.source);
  const eta = etaSeconds(job, now);
  const elapsed = elapsedSeconds(job, now);
  const workers = workersOf(job, props.workers);
  const p = job.progress;
  const facts: string[] = [];
  if (job.state === 'active' && p && p.fps >= 0.1) {
    facts.push(`${p.fps.toFixed(p.fps < 10 ? 1 : 0)} fps`);
  }
  if (eta !== null) facts.push(`ETA ${duration(eta)}`);
  if (workers.length) facts.push(workers.join(', '));
  if (elapsed !== null) facts.push(`${duration(elapsed)} elapsed`);
  if (job.attempts > 1) facts.push(`attempt ${job.attempts}`);

  return (
    <article class={`job state-${job.state}`} aria-label={name} data-job={job.id}>
      <div class="job-head">
        <span class="job-name" title={job.source}>
          <strong>{name}</strong>
          <span class="muted job-folder">{folderOf(job.source)}</span>
        </span>
        <span class={`badge state-${job.state}`}>{STATE_TEXT[job.state]}</span>
      </div>
      <JobBar pct={jobPercent(job)} state={job.state} label={`${name} progress`} />
      <div class="job-facts muted">
        {facts.map((f) => (
          <span key={f}>{f}</span>
        ))}
        {job.chunks && job.chunks.length > 0 && <ChunkStrip chunks={job.chunks} />}
      </div>
      {job.state === 'failed' && (
        <div class="job-error" role="group" aria-label={`${name}: why it failed`}>
          {job.error && (
            <>
              <p>
                <code>{job.error.code}</code> {job.error.message}
              </p>
              <p class="hint">{job.error.hint}</p>
            </>
          )}
          <button type="button" onClick={() => props.onRetry(job)}>
            Retry
          </button>
        </div>
      )}
      {job.state === 'completed' && job.result && (
        <p class="job-result muted" title={job.proxyPath}>
          {job.result.reused ? 'proxy already there: ' : 'proxy: '}
          {baseName(job.proxyPath)} · {job.result.width}×{job.result.height} · {job.result.frames}{' '}
          frames
          {job.result.chunks ? ` · ${job.result.chunks} chunks` : ''}
        </p>
      )}
    </article>
  );
}
