import type { PurgeResponse, QueueCounts } from '../../../../core/job/contract.ts';
import { postJson } from '../api.ts';
import { plural } from '../format.ts';
import { useAct } from '../notice.ts';
import { ConfirmButton } from './confirm-button.tsx';

/** The whole queue's counts, and purge: every waiting job removed (running ones finish). */
export function QueuePanel(props: { counts: QueueCounts }) {
  const act = useAct();
  const c = props.counts;
  const waiting = c.waiting + c.delayed;
  const shown: [string, number, boolean][] = [
    ['waiting', c.waiting, false],
    ['retrying', c.delayed, false],
    ['active', c.active, false],
    ['done', c.completed, false],
    ['failed', c.failed, true],
  ];
  const purge = () =>
    act(async () => {
      const r = await postJson<PurgeResponse>('/v1/purge');
      return `Purged: ${plural(r.removed, 'waiting job')} removed`;
    });
  return (
    <section class="panel" aria-labelledby="queue-h">
      <h2 id="queue-h">Queue</h2>
      <dl class="counts">
        {shown.map(([label, n, bad]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd class={bad && n > 0 ? 'bad' : ''}>{n}</dd>
          </div>
        ))}
      </dl>
      <ConfirmButton
        label="Purge waiting jobs"
        question={`Remove ${plural(waiting, 'waiting job')}?`}
        yes="Yes, purge"
        danger
        disabled={waiting === 0}
        onConfirm={purge}
      />
    </section>
  );
}
