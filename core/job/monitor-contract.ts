import { z } from 'zod';
import {
  autoscaleResponseSchema,
  batchSummarySchema,
  batchViewSchema,
  jobViewSchema,
  queueCountsSchema,
  workerInfoSchema,
} from './contract.ts';

/**
 * The web monitor's API (served by the gateway beside the CLI's): who is signed in, the farm's
 * overview pushed over server-sent events, search across batches, throughput, and the write
 * actions the page offers. Shapes only; the gateway validates every reply against them.
 */

/** GET /v1/session: 200 when the caller may read (token, cookie, or no token configured). */
export const sessionResponseSchema = z.strictObject({
  /** False when the gateway has no gateway.token: nobody needs to sign in. */
  tokenRequired: z.boolean(),
  /** Sent back as the x-proxima-csrf header on every write made with the session cookie. */
  csrf: z.string(),
});
export type SessionResponse = z.output<typeof sessionResponseSchema>;

/** POST /v1/session: exchanges the gateway token for the session cookie. */
export const sessionRequestSchema = z.strictObject({ token: z.string().min(1).max(4096) });

/** The header a cookie-authenticated write must carry (see sessionResponseSchema.csrf). */
export const CSRF_HEADER = 'x-proxima-csrf';
/** The session cookie's name. */
export const SESSION_COOKIE = 'proxima_session';

/** A worker as the monitor shows it: its registration and what it has done since it started. */
export const monitorWorkerSchema = workerInfoSchema.extend({
  /** Jobs (clips and chunks) it finished, completed or failed, since it started. */
  jobsDone: z.number().int(),
});
export type MonitorWorker = z.output<typeof monitorWorkerSchema>;

/** Event `overview` of GET /v1/monitor/events, sent about once a second. */
export const monitorOverviewSchema = z.strictObject({
  at: z.number(),
  counts: queueCountsSchema,
  /** Newest first (the 20 most recent). */
  batches: z.array(batchSummarySchema),
  workers: z.array(monitorWorkerSchema),
  /** Null when the gateway does not scale encoders. */
  autoscale: autoscaleResponseSchema
    .extend({ current: z.number().int().nullable(), desired: z.number().int().nullable() })
    .nullable(),
});
export type MonitorOverview = z.output<typeof monitorOverviewSchema>;

/**
 * Event `batch` of GET /v1/monitor/events?batch=ID[&offset&limit&state&q]: one page of that
 * batch (as GET /v1/batches/:id with the same query), sent about once a second.
 */
export const monitorBatchEventSchema = batchViewSchema;

/** GET /v1/search?q=TEXT[&limit=50]: clips whose source or proxy path contains the text. */
export const searchResponseSchema = z.strictObject({
  jobs: z.array(
    z.strictObject({
      batchId: z.string(),
      batchLabel: z.string().nullable(),
      job: jobViewSchema,
    }),
  ),
  /** True when more matched than were returned. */
  more: z.boolean(),
});
export type SearchResponse = z.output<typeof searchResponseSchema>;

/** POST /v1/jobs/:id/retry: a failed clip queued again. */
export const retryJobResponseSchema = z.strictObject({ job: jobViewSchema });

/** POST /v1/batches/:id/retry: every failed clip of the batch queued again. */
export const retryBatchResponseSchema = z.strictObject({ retried: z.number().int() });

/**
 * POST /v1/batches/:id/cancel: waiting clips removed; running ones stopped (their temp files
 * removed), failed with code CANCELLED, so a retry queues them again.
 */
export const cancelBatchResponseSchema = z.strictObject({
  removed: z.number().int(),
  stopped: z.number().int(),
});

/** GET /v1/throughput?minutes=60: per minute, oldest first, the farm's finished work. */
export const throughputResponseSchema = z.strictObject({
  minutes: z.array(
    z.strictObject({
      /** Start of the minute, ms since the epoch. */
      at: z.number(),
      /** Proxies written (clips completed, reused ones not counted). */
      proxies: z.number().int(),
      /** Frames encoded (clips and chunks). */
      frames: z.number().int(),
    }),
  ),
});
export type ThroughputResponse = z.output<typeof throughputResponseSchema>;
