import type { ScaleDecisionView } from '../../core/job/contract.ts';
import { DependencyError, isProximaError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import type { WorkerDirectory } from '../queue/worker-directory.ts';
import type { Encoder, ScaleBackend, WorkerActivity } from './backend.ts';
import type { DecisionLog } from './decision-log.ts';
import { decideScale, type QueueLoad, type ScalePolicy } from './policy.ts';

export interface ReconcilerDeps {
  backend: ScaleBackend;
  queue: Pick<JobQueue, 'load' | 'subscribe'>;
  workers: WorkerDirectory;
  policy: ScalePolicy;
  /** Between passes when no queue event comes; also how soon a failed pass is retried. */
  intervalMs: number;
  logger: Logger;
  /** A burst of queue events (a batch of 500 jobs) makes one pass, this long after the first. */
  debounceMs?: number;
  /** Decisions kept for the API. */
  keep?: number;
  /** Where decisions are kept beyond this process (the monitor shows them after a restart). */
  decisionLog?: DecisionLog;
  now?: () => number;
}

export interface Reconciler {
  start(): void;
  /** One pass now (after any running one); its decision. */
  reconcile(): Promise<ScaleDecisionView>;
  /** Newest first. */
  decisions(): ScaleDecisionView[];
  stop(): Promise<void>;
}

/**
 * Compares the encoders the queue needs (the policy) with the ones the backend runs, and acts.
 * Runs on queue events and on a timer; one pass at a time. A backend that fails is reported in
 * the decision and the log and tried again on the next pass: the gateway never stops for it.
 */
export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const { backend, policy, logger } = deps;
  const now = deps.now ?? Date.now;
  const keep = deps.keep ?? 50;
  const log = logger.child({ component: 'autoscale', backend: backend.kind });
  const history: ScaleDecisionView[] = [];
  let lastChangeAt: number | null = null;
  let lastLogged = '';
  let running: Promise<ScaleDecisionView> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let stopped = false;

  const pass = async (): Promise<ScaleDecisionView> => {
    const at = now();
    let load: QueueLoad | null = null;
    let encoders: Encoder[] = [];
    let decision: ScaleDecisionView;
    try {
      load = await deps.queue.load().catch((err: Error) => {
        throw new DependencyError(
          'BROKER_UNREACHABLE',
          `queue counts not readable (${err.message})`,
          'check that redis is up at broker.url; the gateway reconnects by itself',
        );
      });
      encoders = await backend.list(activityOf(await deps.workers.list()));
      const states = encoders.map((e) => e.state);
      const d = decideScale(load, states, policy, { lastChangeAt }, at);
      decision = { at, load, encoders: countStates(encoders), ...d };
      if (d.desired !== d.current) {
        await backend.scaleTo(d.desired, encoders);
        lastChangeAt = at;
      }
    } catch (err) {
      const current = encoders.filter((e) => e.state !== 'exiting').length;
      decision = {
        at,
        load: load ?? { waiting: 0, prioritized: 0, delayedDue: 0, active: 0 },
        encoders: countStates(encoders),
        current,
        desired: current,
        reason: 'backend error: retrying on the next pass',
        error: asJobError(err),
      };
    }
    record(decision);
    return decision;
  };

  const record = (d: ScaleDecisionView) => {
    history.unshift(d);
    history.length = Math.min(history.length, keep);
    const line = d.error ? `${d.error.code}: ${d.error.message}` : d.reason;
    // Kept beyond this process: what changed or said something new, not every quiet pass.
    // Redis away is in the decision itself; losing its record then costs nothing else.
    if (d.desired !== d.current || line !== lastLogged) {
      deps.decisionLog?.append(d).catch(() => undefined);
    }
    const fields = { current: d.current, desired: d.desired, load: d.load, encoders: d.encoders };
    if (d.error) {
      // The same failure every few seconds says nothing new.
      if (line !== lastLogged) log.warn({ ...fields, hint: d.error.hint }, line);
    } else if (d.desired !== d.current || line !== lastLogged) {
      log.info(fields, line);
    } else {
      log.debug(fields, line);
    }
    lastLogged = line;
  };

  const reconcile = (): Promise<ScaleDecisionView> => {
    if (running) {
      again = true;
      return running;
    }
    running = pass().finally(() => {
      running = null;
      if (again && !stopped) {
        again = false;
        void reconcile();
      }
    });
    return running;
  };

  const soon = () => {
    if (stopped || debounce) return;
    debounce = setTimeout(() => {
      debounce = undefined;
      void reconcile();
    }, deps.debounceMs ?? 250);
  };

  return {
    start() {
      unsubscribe = deps.queue.subscribe((event) => {
        if (event.type === 'waiting' || event.type === 'completed' || event.type === 'failed') {
          soon();
        }
      });
      timer = setInterval(() => void reconcile(), deps.intervalMs);
      timer.unref();
      log.info({ target: backend.target, min: policy.min, max: policy.max }, 'autoscaler started');
      // The decisions of the gateway before this one first, so the first pass goes after them.
      void (deps.decisionLog?.recent(keep) ?? Promise.resolve([]))
        .then((earlier) => {
          history.push(...earlier);
          history.length = Math.min(history.length, keep);
        })
        .catch(() => undefined)
        .then(() => reconcile());
    },
    reconcile,
    decisions: () => [...history],
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(debounce);
      unsubscribe?.();
      await running?.catch(() => undefined);
      await backend.close?.();
    },
  };
}

/** Registered workers by the container or pod they run in. */
export function activityOf(
  workers: readonly { host: string; instance?: string; current: readonly unknown[] }[],
): WorkerActivity {
  const busy = new Set<string>();
  const idle = new Set<string>();
  for (const w of workers) (w.current.length > 0 ? busy : idle).add(w.instance ?? w.host);
  for (const name of busy) idle.delete(name);
  return { busy, idle };
}

function countStates(encoders: readonly Encoder[]): ScaleDecisionView['encoders'] {
  const c = { starting: 0, idle: 0, busy: 0, exiting: 0 };
  for (const e of encoders) c[e.state] += 1;
  return c;
}

function asJobError(err: unknown): NonNullable<ScaleDecisionView['error']> {
  if (isProximaError(err)) return { code: err.code, message: err.message, hint: err.hint };
  return {
    code: 'AUTOSCALE_FAILED',
    message: err instanceof Error ? err.message : String(err),
    hint: 'see the gateway log',
  };
}
