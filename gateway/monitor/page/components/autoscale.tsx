import type { MonitorOverview } from '../../../../core/job/monitor-contract.ts';
import { clock } from '../format.ts';

/** How many decisions are listed; the gateway keeps more (GET /v1/autoscale). */
const SHOWN = 6;

/** The autoscaler's encoder count now and wanted, and why it decided what it did lately. */
export function Autoscale(props: {
  autoscale: NonNullable<MonitorOverview['autoscale']>;
  now: number;
}) {
  const a = props.autoscale;
  const count = (n: number | null) => (n === null ? '?' : String(n));
  return (
    <section class="panel" aria-labelledby="autoscale-h">
      <h2 id="autoscale-h">Autoscaler</h2>
      <p>
        <span class="big">{count(a.current)}</span> encoders running,{' '}
        <span class="big">{count(a.desired)}</span> wanted
        <span class="muted">
          {' '}
          ({a.backend}, {a.target}; {a.min} to {a.max})
        </span>
      </p>
      {a.decisions.length === 0 ? (
        <p class="muted">No decision yet.</p>
      ) : (
        <ol class="decisions">
          {a.decisions.slice(0, SHOWN).map((d) => (
            <li key={d.at}>
              <span class="muted">{clock(d.at, props.now)}</span>{' '}
              <strong>
                {d.current} → {d.desired}
              </strong>{' '}
              {d.reason}
              {d.error && (
                <span class="bad">
                  {' '}
                  {d.error.code}: {d.error.message} <span class="hint">{d.error.hint}</span>
                </span>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
