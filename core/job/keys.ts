/**
 * Redis keys Proxima keeps beside BullMQ's own (`bull:<queue>:*`). One place, so the gateway,
 * the workers and a KEDA or monitoring reader agree on them.
 */
export const keys = {
  /** JSON BatchRecord, expiring after broker.result_expires. */
  batch: (queue: string, batchId: string) => `proxima:${queue}:batch:${batchId}`,
  /** Sorted set of batch ids by creation time, for `status` and `link`. */
  batches: (queue: string) => `proxima:${queue}:batches`,
  /** JSON WorkerInfo, refreshed by each worker; expires when the worker dies. */
  worker: (queue: string, workerId: string) => `proxima:${queue}:worker:${workerId}`,
  workerPattern: (queue: string) => `proxima:${queue}:worker:*`,
};

/** Seconds a worker registration lives without a refresh. */
export const WORKER_TTL_SECONDS = 30;
/** Seconds between refreshes. */
export const WORKER_HEARTBEAT_SECONDS = 10;
