import type { BatchCounts, BatchSummary } from '../../../../core/job/contract.ts';
import { batchTitle, clock } from '../format.ts';
import { routeHash } from '../route.ts';
import { BatchBar } from './bar.tsx';

/** "12 of 40 done · 2 failed · 3 running · 23 waiting": only the groups that have clips. */
export function countsText(c: BatchCounts): string {
  const parts = [`${c.completed} of ${c.total} done`];
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.active) parts.push(`${c.active} running`);
  if (c.waiting) parts.push(`${c.waiting} waiting`);
  return parts.join(' · ');
}

/** The newest batches first, each a link to its clips. */
export function BatchList(props: { batches: BatchSummary[]; now: number }) {
  return (
    <section class="panel batches" aria-labelledby="batches-h">
      <h2 id="batches-h">Batches</h2>
      {props.batches.length === 0 && (
        <p class="muted">
          Nothing queued yet: <code>proxima queue FOLDER</code> sends a batch here.
        </p>
      )}
      <ul class="batch-list">
        {props.batches.map((b) => {
          const { title, subtitle } = batchTitle(b);
          return (
            <li key={b.id}>
              <a class="batch-card" href={routeHash({ view: 'batch', id: b.id, offset: 0 })}>
                <span class="batch-name">
                  <strong>{title}</strong>
                  {subtitle && <span class="muted"> {subtitle}</span>}
                </span>
                <span class="batch-meta muted">
                  {clock(b.createdAt, props.now)} · {b.preset}
                  {b.skipped.length > 0 && ` · ${b.skipped.length} skipped`}
                </span>
                <BatchBar counts={b.counts} label={`${title}: clips finished`} />
                <span class="batch-counts">{countsText(b.counts)}</span>
              </a>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
