import { PROTOCOL_VERSION } from '../version.ts';

/**
 * Redis keys Proxima keeps beside BullMQ's own (`bull:<queue>-p<protocol>:*`). One place, so the
 * gateway, the workers and a KEDA or monitoring reader agree on them. Batches and worker
 * registrations stay under the configured name alone, so `status` sees every protocol's workers.
 */
export const keys = {
  /** JSON BatchRecord, expiring after broker.result_expires. */
  batch: (queue: string, batchId: string) => `proxima:${queue}:batch:${batchId}`,
  /** Sorted set of batch ids by creation time, for `status` and `link`. */
  batches: (queue: string) => `proxima:${queue}:batches`,
  /** JSON WorkerInfo, refreshed by each worker; expires when the worker dies. */
  worker: (queue: string, workerId: string) => `proxima:${queue}:worker:${workerId}`,
  workerPattern: (queue: string) => `proxima:${queue}:worker:*`,
  /**
   * Set of the workers (instance or host names) that could not see a job's source. Keyed by
   * the payload's queuedAt too, so the same job queued again (the media mounted meanwhile)
   * starts with an empty list.
   */
  /** Hash of a chunked clip: its split (plan), and each chunk's worker and frames done. */
  clip: (queue: string, clipId: string) => `proxima:${queue}:clip:${clipId}`,
  /** List of the autoscaler's recent decisions, newest first (gateway/autoscale/decision-log.ts). */
  scaleDecisions: (queue: string) => `proxima:${queue}:autoscale:decisions`,
  unseen: (queue: string, jobId: string, queuedAt: number) =>
    `proxima:${queue}:unseen:${jobId}:${queuedAt}`,
  /** Hash of the farm's job counters and duration histograms (core/broker/farm-stats.ts). */
  stats: (queue: string) => `proxima:${queue}:stats`,
  /** Hash of one minute's proxies written and frames encoded; expires by itself. */
  statsMinute: (queue: string, minuteStart: number) =>
    `proxima:${queue}:stats:minute:${minuteStart}`,
  /** Hash of one worker's jobs done and busy milliseconds since it started; expires idle. */
  statsWorker: (queue: string, workerId: string) => `proxima:${queue}:stats:worker:${workerId}`,
};

/**
 * The BullMQ queue jobs of one protocol version go to: `<broker.queue>-p<N>`. A worker takes
 * only its own protocol's, so machines of different versions on one broker never misread each
 * other's payloads; the older ones' jobs wait for workers of their version.
 */
export function jobQueueName(queue: string, protocol: number = PROTOCOL_VERSION): string {
  return `${queue}-p${protocol}`;
}

/** Seconds a worker registration lives without a refresh. */
export const WORKER_TTL_SECONDS = 30;
/** Seconds between refreshes. */
export const WORKER_HEARTBEAT_SECONDS = 10;
