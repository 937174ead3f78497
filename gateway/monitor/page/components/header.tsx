import { useEffect, useState } from 'preact/hooks';
import type { QueueCounts } from '../../../../core/job/contract.ts';
import type { LiveState } from '../live.ts';
import { routeHash } from '../route.ts';

const LIVE_TEXT: Record<LiveState, string> = {
  connecting: 'connecting…',
  live: 'live',
  lost: 'reconnecting…',
};

/** The bar on top of every view: where am I, the queue at a glance, search, sign out. */
export function Header(props: {
  live: LiveState;
  counts: QueueCounts | null;
  query: string;
  onSearch: (q: string) => void;
  onSignOut: (() => void) | null;
}) {
  const [q, setQ] = useState(props.query);
  useEffect(() => setQ(props.query), [props.query]);
  const c = props.counts;
  return (
    <header class="top">
      <a class="brand" href={routeHash({ view: 'overview' })}>
        Proxima
      </a>
      <span class={`live live-${props.live}`} role="status" aria-live="polite">
        {LIVE_TEXT[props.live]}
      </span>
      {c && (
        <span class="queue-counts" aria-label="queue">
          <span>{c.waiting + c.delayed} waiting</span>
          <span>{c.active} active</span>
          <span>{c.completed} done</span>
          <span class={c.failed > 0 ? 'bad' : ''}>{c.failed} failed</span>
        </span>
      )}
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          if (q.trim()) props.onSearch(q.trim());
        }}
      >
        <input
          type="search"
          name="q"
          placeholder="Find a clip by name or path"
          aria-label="Find a clip by name or path"
          value={q}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Find</button>
      </form>
      {props.onSignOut && (
        <button type="button" class="quiet" onClick={props.onSignOut}>
          Sign out
        </button>
      )}
    </header>
  );
}
