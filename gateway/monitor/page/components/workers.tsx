import type { MonitorWorker } from '../../../../core/job/monitor-contract.ts';
import { age, baseName } from '../format.ts';

/** A worker's name: its container or pod when it runs in one, else its host. */
export function workerName(w: Pick<MonitorWorker, 'host' | 'instance'>): string {
  return w.instance || w.host;
}

/** Every registered worker and encoder, with what it runs now and has done since it started. */
export function Workers(props: { workers: MonitorWorker[]; now: number; protocol: number | null }) {
  return (
    <section class="panel" aria-labelledby="workers-h">
      <h2 id="workers-h">Workers and encoders ({props.workers.length})</h2>
      {props.workers.length === 0 ? (
        <p class="muted">
          None registered: start one with <code>proxima work</code>, or <code>proxima up</code>.
        </p>
      ) : (
        <table class="workers">
          <thead>
            <tr>
              <th>Name</th>
              <th>Version</th>
              <th>Protocol</th>
              <th>Current job</th>
              <th>Uptime</th>
              <th>Jobs done</th>
            </tr>
          </thead>
          <tbody>
            {props.workers.map((w) => (
              <tr key={w.id}>
                <td data-label="Name">
                  <strong>{workerName(w)}</strong>
                  {w.instance && w.instance !== w.host && <span class="muted"> on {w.host}</span>}
                  <span class="muted"> pid {w.pid}</span>
                </td>
                <td data-label="Version">{w.version}</td>
                <td
                  data-label="Protocol"
                  class={props.protocol !== null && w.protocol !== props.protocol ? 'bad' : ''}
                >
                  {w.protocol}
                </td>
                <td data-label="Current job">
                  {w.current.length === 0 ? (
                    <span class="muted">idle</span>
                  ) : (
                    w.current.map((j) => (
                      <span key={j.jobId} class="current-job" title={j.source}>
                        {baseName(j.source)}
                      </span>
                    ))
                  )}
                  <span class="muted">
                    {' '}
                    ({w.current.length}/{w.concurrency})
                  </span>
                </td>
                <td data-label="Uptime">{age(props.now - w.startedAt)}</td>
                <td data-label="Jobs done">{w.jobsDone}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
