import { useEffect, useState } from 'preact/hooks';
import type { z } from 'zod';
import type { BatchView, JobError, JobView } from '../../../../core/job/contract.ts';
import type {
  cancelBatchResponseSchema,
  retryBatchResponseSchema,
  retryJobResponseSchema,
} from '../../../../core/job/monitor-contract.ts';
import { postJson } from '../api.ts';
import { baseName, batchTitle, clock, plural } from '../format.ts';
import { useAct } from '../notice.ts';
import { FILTER_STATES, PAGE_SIZE, routeHash, type Route } from '../route.ts';
import { BatchBar } from './bar.tsx';
import { countsText } from './batch-list.tsx';
import { ConfirmButton } from './confirm-button.tsx';
import { JobRow, type WorkerNames } from './job-row.tsx';

/** A reply's shape from its schema, as a type only: zod itself stays out of the bundle. */
type Reply<S extends z.ZodType> = z.output<S>;
type BatchRoute = Extract<Route, { view: 'batch' }>;

const FILTER_TEXT: Record<(typeof FILTER_STATES)[number], string> = {
  waiting: 'Waiting',
  active: 'Running',
  completed: 'Done',
  failed: 'Failed',
  unknown: 'Gone',
};

/** Typing in the filter reopens the stream; wait for a pause in the typing first. */
const FILTER_PAUSE_MS = 400;

export function BatchDetail(props: {
  route: BatchRoute;
  batch: BatchView | null;
  error: JobError | null;
  workers: WorkerNames;
  now: number;
  go: (route: Route, replace?: boolean) => void;
}) {
  const { route, batch } = props;
  const act = useAct();
  const [text, setText] = useState(route.q ?? '');
  useEffect(() => setText(route.q ?? ''), [route.id, route.q]);
  useEffect(() => {
    if (text === (route.q ?? '')) return;
    const timer = window.setTimeout(
      () => props.go({ ...route, q: text || undefined, offset: 0 }, true),
      FILTER_PAUSE_MS,
    );
    return () => window.clearTimeout(timer);
  }, [text]);

  if (props.error) {
    return (
      <main class="panel">
        <div role="alert">
          <p>
            <code>{props.error.code}</code> {props.error.message}
          </p>
          <p class="hint">{props.error.hint}</p>
        </div>
        <a href={routeHash({ view: 'overview' })}>Back to the batches</a>
      </main>
    );
  }
  if (!batch || batch.id !== route.id) {
    return <main class="panel muted">Loading the batch…</main>;
  }

  const { title, subtitle } = batchTitle(batch);
  const c = batch.counts;
  const page = batch.page;
  const matched = page?.matched ?? batch.jobs.length;
  const first = matched === 0 ? 0 : route.offset + 1;
  const last = route.offset + batch.jobs.length;

  const retryJob = (job: JobView) =>
    act(async () => {
      await postJson<Reply<typeof retryJobResponseSchema>>(`/v1/jobs/${job.id}/retry`);
      return `${baseName(job.source)} queued again`;
    });
  const retryAll = () =>
    act(async () => {
      const r = await postJson<Reply<typeof retryBatchResponseSchema>>(
        `/v1/batches/${batch.id}/retry`,
      );
      return `${plural(r.retried, 'failed clip')} queued again`;
    });
  const cancel = () =>
    act(async () => {
      const r = await postJson<Reply<typeof cancelBatchResponseSchema>>(
        `/v1/batches/${batch.id}/cancel`,
      );
      return `Batch cancelled: ${plural(r.removed, 'waiting clip')} removed, ${plural(r.stopped, 'running clip')} stopped`;
    });

  return (
    <main class="batch-detail">
      <section class="panel" aria-labelledby="batch-h">
        <a href={routeHash({ view: 'overview' })} class="back">
          ← Batches
        </a>
        <h1 id="batch-h">{title}</h1>
        {subtitle && <p class="muted">{subtitle}</p>}
        <p class="muted">
          {batch.id} · {clock(batch.createdAt, props.now)} · {batch.preset}
        </p>
        <BatchBar counts={c} label={`${title}: clips finished`} />
        <p class="batch-counts">{countsText(c)}</p>
        <div class="actions">
          {c.failed > 0 && (
            <button type="button" onClick={retryAll}>
              Retry all failed ({c.failed})
            </button>
          )}
          {c.waiting + c.active > 0 && (
            <ConfirmButton
              label="Cancel batch"
              question="Stop this batch's clips?"
              yes="Yes, cancel"
              danger
              onConfirm={cancel}
            />
          )}
        </div>
      </section>

      <section class="panel" aria-label="clips">
        <nav class="filters" aria-label="show clips">
          <a
            href={routeHash({ ...route, state: undefined, offset: 0 })}
            aria-current={route.state === undefined ? 'page' : undefined}
          >
            All ({c.total})
          </a>
          {FILTER_STATES.filter((s) => s !== 'unknown' || route.state === 'unknown').map((s) => (
            <a
              key={s}
              href={routeHash({ ...route, state: s, offset: 0 })}
              aria-current={route.state === s ? 'page' : undefined}
            >
              {FILTER_TEXT[s]}
              {s !== 'unknown' && ` (${c[s]})`}
            </a>
          ))}
          <input
            type="search"
            placeholder="Filter by name or path"
            aria-label="Filter clips by name or path"
            value={text}
            onInput={(e) => setText((e.target as HTMLInputElement).value)}
          />
        </nav>
        {batch.jobs.length === 0 ? (
          <p class="muted">No clip matches.</p>
        ) : (
          <div class="jobs">
            {batch.jobs.map((job) => (
              <JobRow
                key={job.id}
                job={job}
                workers={props.workers}
                now={props.now}
                onRetry={retryJob}
              />
            ))}
          </div>
        )}
        {matched > PAGE_SIZE && (
          <nav class="pager" aria-label="pages">
            {route.offset > 0 && (
              <a href={routeHash({ ...route, offset: Math.max(0, route.offset - PAGE_SIZE) })}>
                ← Previous
              </a>
            )}
            <span>
              {first}–{last} of {matched}
            </span>
            {last < matched && (
              <a href={routeHash({ ...route, offset: route.offset + PAGE_SIZE })}>Next →</a>
            )}
          </nav>
        )}
      </section>

      {batch.skipped.length > 0 && (
        <details class="panel">
          <summary>{plural(batch.skipped.length, 'file')} not queued</summary>
          <ul class="skipped">
            {batch.skipped.map((s) => (
              <li key={s.path}>
                <span title={s.path}>{baseName(s.path)}</span> <span class="muted">{s.reason}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
    </main>
  );
}
