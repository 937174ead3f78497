import type { BatchView, JobError } from '../../../core/job/contract.ts';
import type { MonitorOverview } from '../../../core/job/monitor-contract.ts';
import { relative } from './api.ts';

/** What GET /v1/monitor/events is asked for besides the overview: one page of one batch. */
export interface BatchQuery {
  id: string;
  offset: number;
  limit: number;
  state?: string;
  q?: string;
}

export type LiveState = 'connecting' | 'live' | 'lost';

export interface LiveHandlers {
  overview(o: MonitorOverview): void;
  batch(b: BatchView): void;
  /** The gateway's own `error` event: the batch does not exist, or the farm could not be read. */
  streamError(e: JobError): void;
  state(s: LiveState): void;
  /** Asked after the stream broke: false when the session is gone (stop and sign in). */
  stillSignedIn(): Promise<boolean>;
}

/** The overview comes about once a second; this long without one, the stream is dead. */
const SILENCE_MS = 10_000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

export function eventsUrl(batch: BatchQuery | null): string {
  if (!batch) return '/v1/monitor/events';
  const q = new URLSearchParams({
    batch: batch.id,
    offset: String(batch.offset),
    limit: String(batch.limit),
  });
  if (batch.state) q.set('state', batch.state);
  if (batch.q) q.set('q', batch.q);
  return `/v1/monitor/events?${q}`;
}

/**
 * Follows the monitor's event stream until the returned function is called. EventSource
 * retries a dropped connection by itself, but gives up for good on an error status (a gateway
 * that restarts answers 503 for a moment; an expired session 401) and never notices a
 * connection that silently stopped; so every failure closes it and a fresh one is opened after
 * a growing pause, unless the session is gone.
 */
export function followLive(batch: BatchQuery | null, on: LiveHandlers): () => void {
  let source: EventSource | null = null;
  let stopped = false;
  let retryMs = FIRST_RETRY_MS;
  let retryTimer = 0;
  let lastHeard = Date.now();

  const parse = <T>(e: Event): T | undefined => {
    try {
      return JSON.parse((e as MessageEvent<string>).data) as T;
    } catch {
      return undefined;
    }
  };
  const heard = () => {
    lastHeard = Date.now();
    retryMs = FIRST_RETRY_MS;
  };

  const broken = () => {
    source?.close();
    source = null;
    if (stopped || retryTimer) return;
    on.state('lost');
    retryTimer = window.setTimeout(async () => {
      const signedIn = await on.stillSignedIn().catch(() => true);
      retryTimer = 0;
      if (stopped || !signedIn) return;
      open();
    }, retryMs);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  const open = () => {
    on.state('connecting');
    lastHeard = Date.now();
    const es = new EventSource(relative(eventsUrl(batch)));
    source = es;
    const follow = <T>(name: string, handle: (data: T) => void) =>
      es.addEventListener(name, (e) => {
        const data = parse<T>(e);
        if (!data) return;
        heard();
        on.state('live');
        handle(data);
      });
    follow<MonitorOverview>('overview', on.overview);
    follow<BatchView>('batch', on.batch);
    // The gateway's own `error` event shares its name with EventSource's connection error;
    // only the former carries data.
    es.addEventListener('error', (e) => {
      if (e instanceof MessageEvent) {
        const body = parse<{ error?: JobError }>(e);
        if (body?.error) {
          heard();
          on.streamError(body.error);
        }
        return;
      }
      broken();
    });
  };

  const watchdog = window.setInterval(() => {
    if (source && Date.now() - lastHeard > SILENCE_MS) broken();
  }, 1000);
  open();

  return () => {
    stopped = true;
    window.clearInterval(watchdog);
    window.clearTimeout(retryTimer);
    source?.close();
  };
}
