import type { BatchCounts, JobState } from '../../../../core/job/contract.ts';

const pctText = (pct: number) => `${Math.floor(pct)} %`;
const width = (part: number, whole: number) => `${whole > 0 ? (part / whole) * 100 : 0}%`;

/** One clip's bar, coloured by its state; the percentage is also what assistive tech reads. */
export function JobBar(props: { pct: number; state: JobState; label: string }) {
  const pct = Math.max(0, Math.min(100, props.pct));
  return (
    <div class="bar-line">
      <div
        class={`bar state-${props.state}`}
        role="progressbar"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.floor(pct)}
      >
        <div class="bar-fill" style={{ width: `${pct}%` }} />
      </div>
      <span class="bar-pct">{pctText(pct)}</span>
    </div>
  );
}

/** A batch's bar: done, failed and running clips side by side, over all its clips. */
export function BatchBar(props: { counts: BatchCounts; label: string }) {
  const c = props.counts;
  const finished = c.completed + c.failed;
  const pct = c.total === 0 ? 100 : (finished / c.total) * 100;
  return (
    <div class="bar-line">
      <div
        class="bar stacked"
        role="progressbar"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.floor(pct)}
      >
        <div class="bar-fill state-completed" style={{ width: width(c.completed, c.total) }} />
        <div class="bar-fill state-failed" style={{ width: width(c.failed, c.total) }} />
        <div class="bar-fill state-active" style={{ width: width(c.active, c.total) }} />
      </div>
      <span class="bar-pct">{pctText(pct)}</span>
    </div>
  );
}
