import { Counter, Gauge, Registry, type Histogram as PromHistogram } from 'prom-client';
import {
  busyRatio,
  DURATION_BUCKETS,
  type DurationName,
  type FarmStats,
  type FarmTotals,
  type Histogram,
  type JobKind,
  type MinuteThroughput,
  type WorkerWork,
} from '../core/broker/farm-stats.ts';
import type { QueueCounts, WorkerInfo } from '../core/job/contract.ts';
import type { Logger } from '../core/log.ts';
import type { ScaleBackend } from './autoscale/backend.ts';
import type { Reconciler } from './autoscale/reconciler.ts';
import type { JobQueue } from './queue/job-queue.ts';
import type { WorkerDirectory } from './queue/worker-directory.ts';

/**
 * GET /metrics for Prometheus, with prom-client (the maintained Prometheus client for Node) on a
 * registry of its own. Nothing is counted in the gateway's memory: at each scrape the collect
 * hooks read the queue and the farm statistics in Redis (one read shared by every metric), so
 * the figures are the farm's whichever gateway is scraped and survive restarts. A Redis that
 * does not answer within `timeoutMs` gives `proxima_redis_up 0` and no Redis-derived samples,
 * never a hung or failed scrape.
 */
export interface MetricsSources {
  queue: Pick<JobQueue, 'counts' | 'ping'>;
  workers: WorkerDirectory;
  stats?: FarmStats;
  autoscaler?: { backend: Pick<ScaleBackend, 'kind'>; reconciler: Pick<Reconciler, 'decisions'> };
  logger: Logger;
  /** Longest wait for Redis per scrape; default 2 s (Prometheus's own timeout is 10 s). */
  timeoutMs?: number;
  now?: () => number;
}

export interface GatewayMetrics {
  registry: Registry;
  contentType: string;
  render(): Promise<string>;
}

/** What one scrape read; a part that could not be read is absent, and so are its samples. */
interface Scrape {
  up: boolean;
  counts?: QueueCounts;
  totals?: FarmTotals;
  lastMinute?: MinuteThroughput;
  workers?: { info: WorkerInfo; work: WorkerWork }[];
}

const DEFAULT_TIMEOUT_MS = 2000;

export function createMetrics(src: MetricsSources): GatewayMetrics {
  const timeoutMs = src.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = src.now ?? Date.now;
  const log = src.logger.child({ component: 'metrics' });
  const registry = new Registry();
  const registers = [registry];

  const part = async <T>(what: string, read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await within(read(), timeoutMs, what);
    } catch (err) {
      // Every scrape while Redis is away would repeat it; redis_up says it already.
      log.debug({ err: (err as Error).message }, `metrics: ${what} not read`);
      return undefined;
    }
  };
  const read = async (): Promise<Scrape> => {
    const stats = src.stats;
    const [up, counts, totals, minutes, workers] = await Promise.all([
      part('ping', async () => {
        await src.queue.ping();
        return true;
      }).then((ok) => ok === true),
      part('queue counts', () => src.queue.counts()),
      stats ? part('job totals', () => stats.totals()) : undefined,
      // The minute before this one: the last one complete.
      stats ? part('throughput', () => stats.throughput(2, now())) : undefined,
      part('workers', async () => {
        const infos = await src.workers.list();
        const work = stats ? await stats.workers(infos.map((w) => w.id)) : undefined;
        return work ? infos.map((info, i) => ({ info, work: work[i]! })) : undefined;
      }),
    ]);
    return { up, counts, totals, lastMinute: minutes?.[0], workers };
  };
  // One read of Redis per scrape, whichever metrics ask: prom-client collects them all at once.
  let inFlight: Promise<Scrape> | undefined;
  const scrape = (): Promise<Scrape> =>
    (inFlight ??= read().finally(() => {
      inFlight = undefined;
    }));

  new Gauge({
    name: 'proxima_redis_up',
    help: 'Whether the gateway reached its Redis broker during this scrape (1) or not (0).',
    registers,
    async collect() {
      this.set((await scrape()).up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'proxima_queue_jobs',
    help: 'Clips in the queue by state (a chunked clip counts once; completed and failed as kept).',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      this.reset();
      const counts = (await scrape()).counts;
      for (const [state, n] of Object.entries(counts ?? {})) this.set({ state }, n);
    },
  });
  new Counter({
    name: 'proxima_jobs_completed_total',
    help: 'Jobs (clips and chunks) completed, once each.',
    labelNames: ['kind'] as const,
    registers,
    async collect() {
      this.reset();
      for (const c of (await scrape()).totals?.completed ?? []) this.inc({ kind: c.kind }, c.count);
    },
  });
  new Counter({
    name: 'proxima_jobs_failed_total',
    help: 'Jobs (clips and chunks) failed for good, by reason code; retried attempts do not count.',
    labelNames: ['kind', 'code'] as const,
    registers,
    async collect() {
      this.reset();
      for (const f of (await scrape()).totals?.failed ?? []) {
        this.inc({ kind: f.kind, code: f.code }, f.count);
      }
    },
  });
  new Counter({
    name: 'proxima_proxies_written_total',
    help: 'Proxies written (clips encoded, not reused).',
    registers,
    async collect() {
      setOrAbsent(this, (await scrape()).totals?.proxies);
    },
  });
  new Counter({
    name: 'proxima_frames_encoded_total',
    help: 'Frames encoded by clips and chunks.',
    registers,
    async collect() {
      setOrAbsent(this, (await scrape()).totals?.frames);
    },
  });
  new Gauge({
    name: 'proxima_encoded_frames_per_second',
    help: 'Frames the farm encoded per second over the last full minute.',
    registers,
    async collect() {
      const minute = (await scrape()).lastMinute;
      setOrAbsent(this, minute && minute.frames / 60);
    },
  });
  new Gauge({
    name: 'proxima_worker_busy_ratio',
    help: "Share of a worker's job slots busy since it started (runs count when they end).",
    labelNames: ['worker', 'host'] as const,
    registers,
    async collect() {
      this.reset();
      const t = now();
      for (const { info, work } of (await scrape()).workers ?? []) {
        this.set(
          { worker: info.id, host: info.host },
          busyRatio(work.busyMs, info.startedAt, info.concurrency, t),
        );
      }
    },
  });
  new Gauge({
    name: 'proxima_worker_jobs_done',
    help: 'Jobs (clips and chunks) a worker finished, completed or failed, since it started.',
    labelNames: ['worker', 'host'] as const,
    registers,
    async collect() {
      this.reset();
      for (const { info, work } of (await scrape()).workers ?? []) {
        this.set({ worker: info.id, host: info.host }, work.jobsDone);
      }
    },
  });
  for (const [name, field, help] of [
    ['proxima_encoders_desired', 'desired', "Encoders the autoscaler's latest decision wants."],
    ['proxima_encoders_actual', 'current', "Encoders running at the autoscaler's latest decision."],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['backend'] as const,
      registers,
      collect() {
        // No autoscaler or no decision yet: no sample rather than a made-up 0.
        this.reset();
        const a = src.autoscaler;
        const last = a?.reconciler.decisions()[0];
        if (a && last) this.set({ backend: a.backend.kind }, last[field]);
      },
    });
  }
  for (const [name, duration, help] of [
    [
      'proxima_queue_wait_seconds',
      'wait',
      'Seconds from queued until a worker took the run that ended the job.',
    ],
    [
      'proxima_encode_duration_seconds',
      'run',
      'Seconds a worker took over the run that ended the job (a chunked clip: from its split to its join).',
    ],
  ] as const) {
    registry.registerMetric(
      storedHistogram(name, help, async () => durationsOf((await scrape()).totals, duration)),
    );
  }

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
  };
}

function durationsOf(
  totals: FarmTotals | undefined,
  name: DurationName,
): { kind: JobKind; histogram: Histogram }[] {
  return (totals?.durations ?? []).filter((d) => d.name === name);
}

/** An unlabelled metric's value, or no sample at all when it could not be read. */
function setOrAbsent(metric: Gauge | Counter, value: number | undefined): void {
  metric.reset();
  if (value === undefined) metric.remove({});
  else if (metric instanceof Gauge) metric.set(value);
  else metric.inc(value);
}

/**
 * A histogram whose buckets were counted elsewhere (by the workers, in Redis). prom-client's
 * Histogram can only observe values one by one, so this is a registered metric of its own whose
 * get() returns the buckets in the shape Histogram.get() does; prom-client still writes the text.
 */
function storedHistogram(
  name: string,
  help: string,
  read: () => Promise<{ kind: JobKind; histogram: Histogram }[]>,
): PromHistogram<'kind'> {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: {
        metricName: string;
        labels: Record<string, string | number>;
        value: number;
      }[] = [];
      for (const { kind, histogram: h } of await read()) {
        DURATION_BUCKETS.forEach((le, i) => {
          values.push({ metricName: `${name}_bucket`, labels: { kind, le }, value: h.buckets[i]! });
        });
        values.push(
          { metricName: `${name}_bucket`, labels: { kind, le: '+Inf' }, value: h.count },
          { metricName: `${name}_sum`, labels: { kind }, value: h.sum },
          { metricName: `${name}_count`, labels: { kind }, value: h.count },
        );
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
  // The registry needs only name and get(); its types know prom-client's own classes alone.
  return metric as unknown as PromHistogram<'kind'>;
}

/** `p`, or a ScrapeTimeout after `ms`: a scrape never waits for a Redis that does not answer. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ScrapeTimeout(what, ms)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

export class ScrapeTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = 'ScrapeTimeout';
  }
}
