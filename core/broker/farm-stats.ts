import type { Redis } from 'ioredis';
import { z } from 'zod';
import { keys } from '../job/keys.ts';

/**
 * What the farm has done, kept in Redis so it outlives gateway restarts and is the same whichever
 * gateway is asked: workers add to it when a job ends, the gateway reads it for /metrics, the
 * monitor's throughput chart and its worker list. Every key is bounded: the counters hash has a
 * field per kind, reason code and duration bucket (codes are checked, see safeCode), a minute's
 * hash expires after THROUGHPUT_MAX_MINUTES, a worker's after WORKER_KEEP_SECONDS without a job.
 */

/** Upper bounds (seconds) of the queue wait and encode duration histograms; +Inf above. */
export const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600] as const;

/** The longest throughput window anyone may ask for; minute buckets live this long (+ a margin). */
export const THROUGHPUT_MAX_MINUTES = 180;

const MINUTE_MS = 60_000;
const MINUTE_KEEP_MS = (THROUGHPUT_MAX_MINUTES + 5) * MINUTE_MS;
/** A worker that ran no job for a week is long gone (its id carries its pid). */
const WORKER_KEEP_SECONDS = 7 * 24 * 3600;

export const jobKindSchema = z.enum(['clip', 'chunk']);
export type JobKind = z.output<typeof jobKindSchema>;
export const JOB_KINDS = jobKindSchema.options;

/** The two histograms: queued until taken (`wait`), and taken until finished (`run`). */
export type DurationName = 'wait' | 'run';
const DURATIONS: readonly DurationName[] = ['wait', 'run'];

export const jobOutcomeSchema = z.strictObject({
  kind: jobKindSchema,
  status: z.enum(['completed', 'failed']),
  /** The JobError code of a failed job. */
  code: z.string().optional(),
  /** Seconds from queued to the run that ended it; null when not known. */
  waitSec: z.number().min(0).nullable(),
  /** Seconds that run (a chunked clip: from its split to its join) took; null when not known. */
  runSec: z.number().min(0).nullable(),
  /** 1 for a clip whose proxy was written (not reused), else 0. */
  proxies: z.number().int().min(0),
  /** Frames encoded by this job (a chunked clip's are its chunks'). */
  frames: z.number().int().min(0),
});
export type JobOutcome = z.output<typeof jobOutcomeSchema>;

/** One job's end as a worker saw it: one MULTI. */
export const jobEndSchema = z.strictObject({
  /** When it ended (ms since the epoch): its minute in the throughput chart. */
  at: z.number(),
  /** The worker's share: runs of its own since the last record, and jobs it finished. */
  worker: z
    .strictObject({
      id: z.string().min(1),
      busyMs: z.number().min(0),
      jobsDone: z.number().int().min(0),
    })
    .optional(),
  /** Absent for a run that did not end its job (retried later, handed on, waiting for chunks). */
  outcome: jobOutcomeSchema.optional(),
});
export type JobEnd = z.input<typeof jobEndSchema>;

export interface Histogram {
  /** Cumulative counts, one per DURATION_BUCKETS bound (Prometheus `le`). */
  buckets: number[];
  sum: number;
  count: number;
}

export interface FarmTotals {
  completed: { kind: JobKind; count: number }[];
  failed: { kind: JobKind; code: string; count: number }[];
  proxies: number;
  frames: number;
  /** Only kinds that have one. */
  durations: { name: DurationName; kind: JobKind; histogram: Histogram }[];
}

export interface MinuteThroughput {
  /** Start of the minute, ms since the epoch. */
  at: number;
  proxies: number;
  frames: number;
}

export interface WorkerWork {
  jobsDone: number;
  busyMs: number;
}

export interface FarmStats {
  /** Adds one job's end in one MULTI. Rejects when Redis does: callers at a job's end catch it. */
  record(end: JobEnd): Promise<void>;
  totals(): Promise<FarmTotals>;
  /** The last `minutes` minutes (1..THROUGHPUT_MAX_MINUTES), oldest first, the current one last. */
  throughput(minutes: number, now: number): Promise<MinuteThroughput[]>;
  /** Jobs each worker finished since it started, in the order asked; 0 for one never seen. */
  jobsDone(workerIds: readonly string[]): Promise<number[]>;
  workers(workerIds: readonly string[]): Promise<WorkerWork[]>;
}

export function createFarmStats(redis: Redis, queue: string): FarmStats {
  const totalsKey = keys.stats(queue);
  const workers = async (ids: readonly string[]): Promise<WorkerWork[]> => {
    if (ids.length === 0) return [];
    const pipe = redis.pipeline();
    for (const id of ids) pipe.hmget(keys.statsWorker(queue, id), 'jobs', 'busyMs');
    const replies = checked(await pipe.exec());
    return replies.map((r) => {
      const [jobs, busy] = (r ?? []) as (string | null)[];
      return { jobsDone: num(jobs), busyMs: num(busy) };
    });
  };
  return {
    async record(end) {
      const e = jobEndSchema.parse(end);
      const multi = redis.multi();
      let commands = 0;
      const o = e.outcome;
      if (o) {
        const field =
          o.status === 'completed' ? `completed:${o.kind}` : `failed:${o.kind}:${safeCode(o.code)}`;
        multi.hincrby(totalsKey, field, 1);
        commands++;
        for (const name of DURATIONS) {
          const sec = name === 'wait' ? o.waitSec : o.runSec;
          if (sec === null) continue;
          multi
            .hincrby(totalsKey, `${name}:${o.kind}:le:${bucketBound(sec)}`, 1)
            .hincrbyfloat(totalsKey, `${name}:${o.kind}:sum`, sec)
            .hincrby(totalsKey, `${name}:${o.kind}:count`, 1);
        }
        if (o.proxies > 0 || o.frames > 0) {
          const minute = minuteOf(e.at);
          const key = keys.statsMinute(queue, minute);
          multi
            .hincrby(totalsKey, 'proxies', o.proxies)
            .hincrby(totalsKey, 'frames', o.frames)
            .hincrby(key, 'proxies', o.proxies)
            .hincrby(key, 'frames', o.frames)
            // An end recorded late (a worker cut off from Redis) past the window is gone at once.
            .pexpireat(key, minute + MINUTE_KEEP_MS);
        }
      }
      if (e.worker) {
        const key = keys.statsWorker(queue, e.worker.id);
        multi
          .hincrby(key, 'jobs', e.worker.jobsDone)
          .hincrby(key, 'busyMs', Math.round(e.worker.busyMs))
          .expire(key, WORKER_KEEP_SECONDS);
        commands++;
      }
      if (commands === 0) {
        multi.discard();
        return;
      }
      // EXEC answers OK with an error per command that failed (WRONGTYPE on a foreign key).
      checked(await multi.exec());
    },
    async totals() {
      return totalsFrom(await redis.hgetall(totalsKey));
    },
    async throughput(minutes, now) {
      const starts = minuteStarts(minutes, now);
      const pipe = redis.pipeline();
      for (const at of starts) pipe.hmget(keys.statsMinute(queue, at), 'proxies', 'frames');
      const replies = checked(await pipe.exec());
      return starts.map((at, i) => {
        const [proxies, frames] = (replies[i] ?? []) as (string | null)[];
        return { at, proxies: num(proxies), frames: num(frames) };
      });
    },
    async jobsDone(workerIds) {
      return (await workers(workerIds)).map((w) => w.jobsDone);
    },
    workers,
  };
}

/** The histogram bucket a duration falls in: its smallest bound not below it, or `inf`. */
export function bucketBound(seconds: number): string {
  const bound = DURATION_BUCKETS.find((b) => seconds <= b);
  return bound === undefined ? 'inf' : String(bound);
}

export function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

/** Starts of the last `minutes` minutes up to the one `now` is in, oldest first. */
export function minuteStarts(minutes: number, now: number): number[] {
  const n = Math.max(1, Math.min(THROUGHPUT_MAX_MINUTES, Math.floor(minutes) || 1));
  const last = minuteOf(now);
  return Array.from({ length: n }, (_, i) => last - (n - 1 - i) * MINUTE_MS);
}

/**
 * A reason code as a hash field and a metric label: codes are upper-case words, and anything
 * else (a message some library put where a code goes) is OTHER, so the hash cannot grow without
 * bound.
 */
export function safeCode(code: string | undefined): string {
  return code && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'OTHER';
}

/**
 * The share of a worker's job slots busy since it started: busy ms over uptime times its
 * concurrency, 0..1. Runs count when they end, so a long encode still running is not in it yet.
 */
export function busyRatio(
  busyMs: number,
  startedAt: number,
  concurrency: number,
  now: number,
): number {
  const slotsMs = Math.max(0, now - startedAt) * Math.max(1, concurrency);
  return slotsMs > 0 ? Math.min(1, Math.max(0, busyMs / slotsMs)) : 0;
}

/** The counters hash read back: fields `completed:<kind>`, `failed:<kind>:<code>`, histograms. */
export function totalsFrom(hash: Readonly<Record<string, string>>): FarmTotals {
  const totals: FarmTotals = {
    completed: [],
    failed: [],
    proxies: num(hash.proxies),
    frames: num(hash.frames),
    durations: [],
  };
  const kindOf = (s: string | undefined) => jobKindSchema.safeParse(s).data;
  for (const [field, value] of Object.entries(hash)) {
    const [head, k, code, ...rest] = field.split(':');
    const kind = kindOf(k);
    if (!kind || rest.length > 0) continue;
    if (head === 'completed' && code === undefined) {
      totals.completed.push({ kind, count: num(value) });
    } else if (head === 'failed' && code !== undefined) {
      totals.failed.push({ kind, code, count: num(value) });
    }
  }
  for (const name of DURATIONS) {
    for (const kind of JOB_KINDS) {
      const count = num(hash[`${name}:${kind}:count`]);
      if (count === 0) continue;
      let seen = 0;
      const buckets = DURATION_BUCKETS.map((b) => (seen += num(hash[`${name}:${kind}:le:${b}`])));
      totals.durations.push({
        name,
        kind,
        histogram: { buckets, sum: num(hash[`${name}:${kind}:sum`]), count },
      });
    }
  }
  const byLabels = (a: { kind: string; code?: string }, b: { kind: string; code?: string }) =>
    a.kind.localeCompare(b.kind) || (a.code ?? '').localeCompare(b.code ?? '');
  totals.completed.sort(byLabels);
  totals.failed.sort(byLabels);
  return totals;
}

function num(value: string | null | undefined): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/** A pipeline's or MULTI's replies, throwing the first command error among them. */
function checked(replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new FarmStatsError('the transaction was discarded');
  for (const [err] of replies) if (err) throw err;
  return replies.map(([, value]) => value);
}

/** Redis answered, but not as a FarmStats command expects (EXEC discarded). */
export class FarmStatsError extends Error {
  constructor(message: string) {
    super(`farm statistics: ${message}`);
    this.name = 'FarmStatsError';
  }
}
