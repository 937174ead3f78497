import type { FarmStats } from '../core/broker/farm-stats.ts';
import type { Config } from '../core/config/schema.ts';
import type { Logger } from '../core/log.ts';
import type { ScaleBackend } from './autoscale/backend.ts';
import type { ProbeQueue } from './probe-queue.ts';
import type { ProxyInspector } from './proxy-inspector.ts';
import type { Reconciler } from './autoscale/reconciler.ts';
import type { BatchStore } from './queue/batch-store.ts';
import type { JobQueue } from './queue/job-queue.ts';
import type { WorkerDirectory } from './queue/worker-directory.ts';

export interface AppOptions {
  /** Comment lines on idle event streams, so proxies do not cut them; also when jobs are re-read. */
  heartbeatMs?: number;
  /** Largest request body accepted. */
  bodyLimitBytes?: number;
  /** How often an open monitor page is sent what it shows. */
  monitorTickMs?: number;
}

/** Everything the HTTP app talks to, passed in so tests and the server wire the same app. */
export interface AppDeps {
  queue: JobQueue;
  batches: BatchStore;
  workers: WorkerDirectory;
  proxies: ProxyInspector;
  /** Probe jobs for `proxima doctor`; without it POST /v1/probes says it cannot send them. */
  probes?: ProbeQueue;
  /** What the farm has done (workers record it); without it /metrics and throughput show none. */
  stats?: FarmStats;
  config: Config;
  logger: Logger;
  /** Present when autoscale.backend is not none. */
  autoscaler?: { backend: ScaleBackend; reconciler: Reconciler };
  options?: AppOptions;
}
