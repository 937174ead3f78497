import type { EncoderState } from './policy.ts';

/** One encoder as the autoscaler sees it: a container or a pod, and what its worker is doing. */
export interface Encoder {
  /** Container or pod name; the worker registers under it (encoder.instance). */
  name: string;
  state: EncoderState;
}

/**
 * Who is busy: the instance names of registered workers with a job, and of those without.
 * An encoder in neither set has not registered yet (starting).
 */
export interface WorkerActivity {
  busy: ReadonlySet<string>;
  idle: ReadonlySet<string>;
}

/**
 * Where encoders run. `list` says what runs now; `scaleTo` brings the count to `desired` without
 * ever stopping a busy encoder. Both throw a DependencyError (core/errors.ts) when the platform cannot be reached or
 * refuses (no socket, no permission, image missing): the reconciler reports it and retries.
 */
export interface ScaleBackend {
  readonly kind: 'docker' | 'kubernetes';
  /** What the backend talks to, for logs and the API: a socket path, namespace/deployment. */
  readonly target: string;
  list(activity: WorkerActivity): Promise<Encoder[]>;
  scaleTo(desired: number, encoders: readonly Encoder[]): Promise<void>;
  close?(): Promise<void>;
}

/** An encoder's state from what its worker registered (nothing yet: starting). */
export function encoderState(name: string, activity: WorkerActivity): EncoderState {
  if (activity.busy.has(name)) return 'busy';
  if (activity.idle.has(name)) return 'idle';
  return 'starting';
}
