import type { Logger } from 'pino';
import { DependencyError, isProximaError } from '../../core/errors.ts';
import type { BatchView } from '../../core/job/contract.ts';
import { GatewayError, type GatewayClient } from '../gateway-client.ts';
import { applyEvent, stateFromSnapshot, type BatchState } from './batch-state.ts';

/** How the connection to the gateway went, for the one line the display shows about it. */
export type ConnectionNote =
  | { type: 'lost'; url: string; giveUpAfterMs: number }
  | { type: 'back'; url: string; awayMs: number };

export interface WatchOptions {
  /** Called after every event with the new state. */
  onState(state: BatchState): void;
  /** Called once when the stream is lost, and once when it is back. */
  onConnection?(note: ConnectionNote): void;
  signal?: AbortSignal;
  logger?: Logger;
  /** Give up when the gateway is not heard from this long: gateway.reconnect_seconds. */
  giveUpAfterMs?: number;
  /** Passed to the client: a stream this long without a byte is taken as lost. */
  silenceMs?: number;
}

export const DEFAULT_GIVE_UP_MS = 300_000;
export const FIRST_RETRY_MS = 500;
export const MAX_RETRY_MS = 5_000;

/** Pure: the pause before the next attempt, doubling from FIRST_RETRY_MS up to MAX_RETRY_MS. */
export function nextRetryMs(previous: number | null): number {
  return previous === null ? FIRST_RETRY_MS : Math.min(previous * 2, MAX_RETRY_MS);
}

/**
 * Pure: how long to wait before trying again, or null to give up. The deadline counts from the
 * last contact, so a gateway that answers now and then is never given up on, and the last
 * pause is cut short so one more attempt falls just inside it.
 */
export function retryPlan(
  lastContact: number,
  now: number,
  giveUpAfterMs: number,
  delay: number,
): number | null {
  const left = lastContact + giveUpAfterMs - now;
  if (left <= 0) return null;
  return Math.min(delay, left);
}

/**
 * Follows a batch's event stream until the gateway says `done`. Any byte from the gateway,
 * heartbeats included, counts as contact. A dropped stream (gateway restart, network blip) is
 * opened again with backoff for as long as the gateway comes back within giveUpAfterMs of the
 * last contact; every stream starts with a fresh snapshot, so nothing missed in between is lost.
 */
export async function watchBatch(
  client: GatewayClient,
  initial: BatchView,
  options: WatchOptions,
): Promise<BatchState> {
  const giveUpAfterMs = options.giveUpAfterMs ?? DEFAULT_GIVE_UP_MS;
  let state = stateFromSnapshot(initial);
  options.onState(state);
  let lastContact = Date.now();
  let delay: number | null = null;
  /** When the stream was lost; null while connected. */
  let lostAt: number | null = null;

  const contact = () => {
    lastContact = Date.now();
    delay = null;
    if (lostAt !== null) {
      options.onConnection?.({ type: 'back', url: client.url, awayMs: lastContact - lostAt });
      lostAt = null;
    }
  };

  for (;;) {
    try {
      for await (const event of client.events(initial.id, {
        signal: options.signal,
        onContact: contact,
        silenceMs: options.silenceMs,
      })) {
        state = applyEvent(state, event);
        options.onState(state);
        if (state.done) return state;
      }
      options.logger?.debug({ batch: initial.id }, 'event stream ended before done; reconnecting');
    } catch (err) {
      if (options.signal?.aborted) throw err;
      if (!isRetryable(err)) throw err;
      options.logger?.debug({ batch: initial.id, err: (err as Error).message }, 'stream lost');
    }
    if (lostAt === null) {
      lostAt = Date.now();
      options.onConnection?.({ type: 'lost', url: client.url, giveUpAfterMs });
    }
    delay = nextRetryMs(delay);
    const wait = retryPlan(lastContact, Date.now(), giveUpAfterMs, delay);
    if (wait === null) throw gaveUp(client.url, initial.id, giveUpAfterMs);
    await sleep(wait, options.signal);
  }
}

export function gaveUp(url: string, batchId: string, giveUpAfterMs: number): DependencyError {
  return new DependencyError(
    'GATEWAY_UNREACHABLE',
    `lost the gateway at ${url} while waiting for batch ${batchId}: no contact for ${Math.round(giveUpAfterMs / 1000)} s`,
    `the batch keeps running; start the gateway again (\`proxima up\`), then \`proxima status\` shows the queue; gateway.reconnect_seconds sets how long to wait`,
  );
}

/** Network trouble and gateway restarts are retried; a refused request is not. */
function isRetryable(err: unknown): boolean {
  if (err instanceof GatewayError) return err.status >= 500;
  if (isProximaError(err))
    return (
      err.code === 'GATEWAY_UNREACHABLE' ||
      err.code === 'GATEWAY_TIMEOUT' ||
      err.code === 'GATEWAY_SILENT'
    );
  // undici ends a broken body with a plain TypeError ("terminated").
  return true;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
