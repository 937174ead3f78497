import type { Logger } from 'pino';
import { DependencyError, isProximaError } from '../../core/errors.ts';
import type { BatchView } from '../../core/job/contract.ts';
import { GatewayError, type GatewayClient } from '../gateway-client.ts';
import { applyEvent, stateFromSnapshot, type BatchState } from './batch-state.ts';

export interface WatchOptions {
  /** Called after every event with the new state. */
  onState(state: BatchState): void;
  signal?: AbortSignal;
  logger?: Logger;
  /** Give up when the gateway stays unreachable this long (default 60 s). */
  giveUpAfterMs?: number;
}

/**
 * Follows a batch's event stream until the gateway says `done`. A dropped connection (gateway
 * restart, network blip) is retried with backoff; the gateway starts every stream with a fresh
 * snapshot, so nothing missed in between is lost.
 */
export async function watchBatch(
  client: GatewayClient,
  initial: BatchView,
  options: WatchOptions,
): Promise<BatchState> {
  const giveUpAfterMs = options.giveUpAfterMs ?? 60_000;
  let state = stateFromSnapshot(initial);
  options.onState(state);
  let lastContact = Date.now();
  let delay = 250;

  for (;;) {
    try {
      for await (const event of client.events(initial.id, options.signal)) {
        lastContact = Date.now();
        delay = 250;
        state = applyEvent(state, event);
        options.onState(state);
        if (state.done) return state;
      }
      options.logger?.debug({ batch: initial.id }, 'event stream ended before done; reconnecting');
    } catch (err) {
      if (options.signal?.aborted) throw err;
      if (!isRetryable(err)) throw err;
      options.logger?.warn(
        { batch: initial.id, err: (err as Error).message },
        'lost the progress stream; reconnecting',
      );
    }
    if (Date.now() - lastContact > giveUpAfterMs) {
      throw new DependencyError(
        'GATEWAY_UNREACHABLE',
        `lost the gateway at ${client.url} while waiting for batch ${initial.id}`,
        'the batch keeps running; check the gateway, then see `proxima status`',
      );
    }
    await sleep(delay, options.signal);
    delay = Math.min(delay * 2, 5_000);
  }
}

/** Network trouble and gateway restarts are retried; a refused request is not. */
function isRetryable(err: unknown): boolean {
  if (err instanceof GatewayError) return err.status >= 500;
  if (isProximaError(err))
    return err.code === 'GATEWAY_UNREACHABLE' || err.code === 'GATEWAY_TIMEOUT';
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
