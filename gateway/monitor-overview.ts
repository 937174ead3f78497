import type { ScaleDecisionView } from '../core/job/contract.ts';
import type { MonitorOverview } from '../core/job/monitor-contract.ts';
import type { AppDeps } from './deps.ts';
import { readBatchSummary } from './views.ts';

/** Batches the overview shows, newest first. */
export const OVERVIEW_BATCHES = 20;

/** The farm at a glance, read from Redis (and the autoscaler's own record): nothing kept here. */
export async function readOverview(deps: AppDeps): Promise<MonitorOverview> {
  const [counts, records, workers] = await Promise.all([
    deps.queue.counts(),
    deps.batches.recent(OVERVIEW_BATCHES),
    deps.workers.list(),
  ]);
  const [batches, done] = await Promise.all([
    Promise.all(records.map((r) => readBatchSummary(deps.queue, r))),
    // Jobs each worker finished since it started; zeros when no one counts them.
    deps.stats ? deps.stats.jobsDone(workers.map((w) => w.id)) : workers.map(() => 0),
  ]);
  const a = deps.autoscaler;
  const decisions = a?.reconciler.decisions() ?? [];
  const last = decisions[0];
  return {
    at: Date.now(),
    counts,
    batches,
    workers: workers.map((w, i) => ({ ...w, jobsDone: done[i] ?? 0 })),
    autoscale: a
      ? {
          backend: a.backend.kind,
          target: a.backend.target,
          min: deps.config.autoscale.min,
          max: deps.config.autoscale.max,
          decisions: distinctDecisions(decisions).slice(0, 10),
          current: last?.current ?? null,
          desired: last?.desired ?? null,
        }
      : null,
  };
}

/**
 * One read shared by every open monitor while it is fresh: ten pages open cost Redis what one
 * does.
 */
export function sharedReader<T>(read: () => Promise<T>, freshMs: number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= freshMs) {
      const value = read();
      last = { at: now, value };
      // A failed read is not kept: the next caller tries again.
      value.catch(() => {
        if (last?.value === value) last = undefined;
      });
    }
    return last.value;
  };
}

/**
 * Decisions with the quiet passes folded: of a run of passes that saw the same and decided the
 * same, the newest stands for them. Newest first in, newest first out. Pure.
 */
export function distinctDecisions(decisions: readonly ScaleDecisionView[]): ScaleDecisionView[] {
  const out: ScaleDecisionView[] = [];
  const said = (d: ScaleDecisionView) =>
    `${d.current} ${d.desired} ${d.error ? d.error.code : ''} ${d.reason}`;
  for (const d of decisions) {
    const last = out.at(-1);
    if (!last || said(last) !== said(d)) out.push(d);
  }
  return out;
}
