import { z } from 'zod';
import { PRESET_NAME_PATTERN } from '../presets/names.ts';
import { DEFAULT_PROXY_SIZE } from '../presets/presets.ts';
import { presetRulesSchema } from '../presets/rule-schema.ts';
import { proxySizeSchema } from '../presets/size-schema.ts';
import { userPresetsSchema } from '../presets/user-presets.ts';
import { PROTOCOL_VERSION } from '../version.ts';

/**
 * The versioned job contract: request bodies, job payloads, results and progress, shared by the
 * CLI, the gateway and the workers. Validated once at each boundary, then trusted.
 */

/**
 * A built-in or user preset name; whether it is known is checked against the gateway's preset
 * table (core/presets/choose-preset.ts), which only the gateway has.
 */
export const presetNameSchema = z
  .string()
  .regex(PRESET_NAME_PATTERN, 'a preset name (lower-case letters, digits, _ and -)');

/** The rule that chose a job's preset: its 0-based place in encoding.rules, and its text. */
export const chosenRuleSchema = z.strictObject({
  index: z.number().int().min(0),
  description: z.string(),
});

/** paths.layout: below the proxy root (mirror) or in a Proxy folder beside each source. */
export const proxyLayoutSchema = z.enum(['mirror', 'beside']);
export type ProxyLayout = z.output<typeof proxyLayoutSchema>;

/** An absolute source path as the editor's machine sees it (POSIX, drive-letter or UNC). */
export const sourcePathSchema = z
  .string()
  .min(2)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'no NUL characters')
  // Control and text-direction characters only disguise a name (U+202E shows it backwards);
  // half a surrogate pair cannot be written to disk as the same name twice.
  .refine(
    (p) =>
      !/[\u0001-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/u.test(p),
    'no control, text-direction or unpaired surrogate characters',
  )
  .refine(
    (p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\'),
    'an absolute path',
  )
  .refine((p) => !p.split(/[\\/]/).includes('..'), 'no ".." segments');

export const sourceRefSchema = z.strictObject({
  path: sourcePathSchema,
  size: z.number().int().min(0),
  mtimeMs: z.number().min(0),
  /** Another source in the same folder has the same stem: the proxy name keeps the extension. */
  nameClash: z.boolean().default(false),
});
export type SourceRef = z.output<typeof sourceRefSchema>;

const resolveClipFields = {
  /** The media-pool clip's GetMediaId(). */
  mediaId: z.string().min(1).max(200),
  name: z.string().max(1000),
  /** The file the clip plays; a job of the batch makes its proxy unless proxyPath is set. */
  source: sourcePathSchema,
  /** A proxy that was already on disk and is linked as it is. */
  proxyPath: z.string().min(1).max(4096).optional(),
  /** The timelines of the batch that use the clip. */
  timelines: z.array(z.string().max(1000)).max(1000).default([]),
};

/**
 * Which DaVinci Resolve clips a batch's proxies belong to, so `proxima link` can link them
 * after the queueing command is gone. Optional: batches not queued from Resolve have none.
 */
export const resolveRequestSchema = z.strictObject({
  project: z.string().min(1).max(1000),
  timelines: z.array(z.string().max(1000)).max(1000),
  clips: z.array(z.strictObject(resolveClipFields)).max(20_000),
});

export type ResolveRequest = z.input<typeof resolveRequestSchema>;

/** As the gateway keeps it: each clip with the id of the job that encodes its source. */
export const resolveLinksSchema = z.strictObject({
  project: z.string(),
  timelines: z.array(z.string()),
  clips: z.array(z.strictObject({ ...resolveClipFields, jobId: z.string().nullable() })),
});
export type ResolveLinks = z.output<typeof resolveLinksSchema>;

/** A file the client did not queue, and why (a still, audio only, filtered out). */
export const skippedFileSchema = z.strictObject({
  path: z.string().min(1).max(4096),
  reason: z.string().min(1).max(1000),
});
export type SkippedFile = z.output<typeof skippedFileSchema>;

export const enqueueRequestSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  /** Omitted: the gateway's configured encoding.preset. */
  preset: presetNameSchema.optional(),
  sources: z.array(sourceRefSchema).min(1).max(10_000),
  /** Free text shown by `status`, e.g. the timeline name. */
  label: z.string().max(200).optional(),
  resolve: resolveRequestSchema.optional(),
  /** Encode again even when the proxy exists or its job is done (an existing proxy is replaced). */
  reencode: z.boolean().optional(),
  /** Files the client chose not to queue (stills, audio-only, filtered), kept in the batch summary. */
  skipped: z.array(skippedFileSchema).max(100_000).optional(),
});
export type EnqueueRequest = z.input<typeof enqueueRequestSchema>;

export const encodeJobSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  batchId: z.string(),
  source: sourceRefSchema,
  /** The request's preset, else encoding.preset: the one used when no rule matches. */
  preset: presetNameSchema,
  /** The gateway's encoding.size, so every worker makes the same frame size. */
  size: proxySizeSchema.default(DEFAULT_PROXY_SIZE),
  /**
   * The user presets the job may use (its preset's and its rules'), defined as the gateway's
   * config has them, so every worker builds the same proxy whatever its own config says.
   */
  presets: userPresetsSchema.default({}),
  /** The gateway's encoding.rules, applied after the worker's probe; empty with an explicit preset. */
  rules: presetRulesSchema.default([]),
  proxyPath: z.string(),
  /**
   * mirror: the proxy root proxyPath is below, no folder between them may lead outside it.
   * beside: the Proxy folder beside the source, for messages; the worker derives the one place
   * it may write from source.path itself.
   */
  proxyRoot: z.string(),
  /** Which of the two rules above proxyPath was made by, and the worker checks. */
  layout: proxyLayoutSchema.default('mirror'),
  /** Epoch ms; a job waiting longer than broker.job_expires is dropped. */
  queuedAt: z.number(),
  /** Replace a verified proxy already at proxyPath instead of reusing it. */
  reencode: z.boolean().optional(),
  /**
   * source.path and proxyPath are the farm's (paths.mappings applied); these are the same files
   * as the editor's machine that queued the job names them, for views.
   */
  editorSource: z.string().optional(),
  editorProxyPath: z.string().optional(),
  /** The gateway's chunking settings; null: never chunked. */
  chunking: z
    .strictObject({ chunkSeconds: z.number().positive(), minSeconds: z.number().min(0) })
    .nullable()
    .default(null),
});
export type EncodeJob = z.output<typeof encodeJobSchema>;

/** Output frames [start, start + frames) of a clip, numbered from 0. */
export const frameRangeSchema = z.strictObject({
  index: z.number().int().min(0),
  start: z.number().int().min(0),
  frames: z.number().int().min(1),
});
export type FrameRange = z.output<typeof frameRangeSchema>;

/**
 * One chunk of a long clip (job name 'chunk'), a child of the clip's encode job. Encodes the
 * clip's video frames of its range to a chunk file beside the proxy; the clip's job joins them.
 */
export const chunkJobSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  /** The clip's encode job. */
  clipId: z.string(),
  /** The clip job's queuedAt when it split: chunks of an earlier split are not this one's. */
  generation: z.number(),
  batchId: z.string(),
  source: sourceRefSchema,
  /** The preset the clip job chose after its probe, so every chunk and the join agree. */
  preset: presetNameSchema,
  size: proxySizeSchema.default(DEFAULT_PROXY_SIZE),
  /** The chosen preset's definition when it is a user preset. */
  presets: userPresetsSchema.default({}),
  /** The clip's proxy; the chunk file is named after it, in its folder. */
  proxyPath: z.string(),
  proxyRoot: z.string(),
  layout: proxyLayoutSchema.default('mirror'),
  range: frameRangeSchema,
  /** Frames of the whole clip. */
  totalFrames: z.number().int().min(1),
});
export type ChunkJob = z.output<typeof chunkJobSchema>;

export const chunkResultSchema = z.strictObject({
  frames: z.number().int(),
  /** True when a verified chunk file was already there (a resumed clip). */
  reused: z.boolean(),
  encodeSeconds: z.number(),
  worker: z.string(),
});
export type ChunkResult = z.output<typeof chunkResultSchema>;

export const progressSchema = z.strictObject({
  /** 0-100. */
  pct: z.number().min(0).max(100),
  frame: z.number().int().min(0),
  fps: z.number().min(0),
  /** Encoding speed relative to real time (2 = twice real time). */
  speed: z.number().min(0),
  /** Seconds of output written so far. */
  outSec: z.number().min(0),
});
export type Progress = z.output<typeof progressSchema>;

export const encodeResultSchema = z.strictObject({
  proxyPath: z.string(),
  /** True when a verified proxy was already at proxyPath and nothing was encoded. */
  reused: z.boolean(),
  codec: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  frames: z.number().int(),
  audioStreams: z.number().int(),
  timecode: z.string().nullable(),
  encodeSeconds: z.number(),
  worker: z.string(),
  /** Chunks the clip was encoded in, when it was split. */
  chunks: z.number().int().optional(),
  /** The preset the proxy was made with, and the rule that chose it (null: none matched). */
  preset: presetNameSchema.optional(),
  rule: chosenRuleSchema.nullable().optional(),
});
export type EncodeResult = z.output<typeof encodeResultSchema>;

export const jobStateSchema = z.enum([
  'waiting',
  'prioritized',
  'delayed',
  'active',
  'completed',
  'failed',
  'unknown',
]);
export type JobState = z.output<typeof jobStateSchema>;

export const jobErrorSchema = z.strictObject({
  code: z.string(),
  message: z.string(),
  hint: z.string(),
});
export type JobError = z.output<typeof jobErrorSchema>;

export const jobViewSchema = z.strictObject({
  id: z.string(),
  state: jobStateSchema,
  /** As queued: the editor's path. */
  source: z.string(),
  /** As the editor's machine sees it (paths.mappings reversed): what Resolve links. */
  proxyPath: z.string(),
  /** The source as the encoder reads it; absent from gateways before path mapping. */
  farmSource: z.string().optional(),
  /** The proxy as the encoder writes it. */
  farmProxyPath: z.string().optional(),
  /** The preset queued, or once encoded the one the proxy was made with. */
  preset: presetNameSchema,
  /** The encoding.rules entry that chose the preset; null: none did (or not encoded yet). */
  rule: chosenRuleSchema.nullable().optional(),
  attempts: z.number().int(),
  progress: progressSchema.nullable(),
  /** As the worker reported it: its proxyPath is the farm's (farmProxyPath). */
  result: encodeResultSchema.nullable(),
  error: jobErrorSchema.nullable(),
  /** A clip encoded in chunks: each chunk's frame range, state and worker. */
  chunks: z.array(z.lazy(() => chunkViewSchema)).optional(),
  /** When a worker last took it and when it ended (ms since the epoch); absent before. */
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
});
export type JobView = z.output<typeof jobViewSchema>;

export const chunkViewSchema = z.strictObject({
  index: z.number().int(),
  start: z.number().int(),
  frames: z.number().int(),
  state: jobStateSchema,
  /** The worker encoding or that encoded it; null before one took it. */
  worker: z.string().nullable(),
});
export type ChunkView = z.output<typeof chunkViewSchema>;

export const batchCountsSchema = z.strictObject({
  total: z.number().int(),
  waiting: z.number().int(),
  active: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
});
export type BatchCounts = z.output<typeof batchCountsSchema>;

export const batchViewSchema = z.strictObject({
  id: z.string(),
  createdAt: z.number(),
  label: z.string().nullable(),
  preset: presetNameSchema,
  counts: batchCountsSchema,
  jobs: z.array(jobViewSchema),
  /** What the client found but did not queue, with its reasons; kept with the batch. */
  skipped: z.array(skippedFileSchema).default([]),
  /** Only on batches queued from DaVinci Resolve. */
  resolve: resolveLinksSchema.optional(),
  /**
   * Only when a page was asked for (GET /v1/batches/:id?limit=...): `jobs` holds that page of
   * the jobs matching the filter, `counts` stay the whole batch's.
   */
  page: z
    .strictObject({
      offset: z.number().int(),
      limit: z.number().int(),
      /** Jobs of the batch matching the filter (state, text), across every page. */
      matched: z.number().int(),
    })
    .optional(),
});
export type BatchView = z.output<typeof batchViewSchema>;

/** What a batch's jobs can be filtered by: the groups its counts have, and gone (unknown). */
export const batchJobFilterStateSchema = z.enum([
  'waiting',
  'active',
  'completed',
  'failed',
  'unknown',
]);
export type BatchJobFilterState = z.output<typeof batchJobFilterStateSchema>;

export const enqueueResponseSchema = z.strictObject({
  batch: batchViewSchema,
  /** Jobs already queued, running or done for the same source and preset (not encoded again). */
  deduplicated: z.number().int(),
});
export type EnqueueResponse = z.output<typeof enqueueResponseSchema>;

/** Server-sent events on GET /v1/batches/:id/events. The event name is `type`. */
export const batchEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('snapshot'), batch: batchViewSchema }),
  z.strictObject({ type: z.literal('progress'), jobId: z.string(), progress: progressSchema }),
  z.strictObject({ type: z.literal('active'), jobId: z.string() }),
  z.strictObject({ type: z.literal('completed'), jobId: z.string(), result: encodeResultSchema }),
  z.strictObject({ type: z.literal('failed'), jobId: z.string(), error: jobErrorSchema }),
  z.strictObject({ type: z.literal('done'), counts: batchCountsSchema }),
]);
export type BatchEvent = z.output<typeof batchEventSchema>;

export const workerInfoSchema = z.strictObject({
  id: z.string(),
  host: z.string(),
  /** The container or pod it runs in (encoder.instance), so an autoscaler knows which is busy. */
  instance: z.string().optional(),
  pid: z.number().int(),
  version: z.string(),
  protocol: z.number().int(),
  concurrency: z.number().int(),
  startedAt: z.number(),
  /** Jobs being encoded now, with their source paths. */
  current: z.array(z.strictObject({ jobId: z.string(), source: z.string() })),
  seenAt: z.number(),
});
export type WorkerInfo = z.output<typeof workerInfoSchema>;

export const queueCountsSchema = z.strictObject({
  waiting: z.number().int(),
  active: z.number().int(),
  delayed: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
});
export type QueueCounts = z.output<typeof queueCountsSchema>;

export const purgeResponseSchema = z.strictObject({ removed: z.number().int() });
export type PurgeResponse = z.output<typeof purgeResponseSchema>;

export const apiErrorSchema = z.strictObject({ error: jobErrorSchema });

export const healthResponseSchema = z.strictObject({
  ok: z.boolean(),
  version: z.string(),
  protocol: z.number().int(),
});
export type HealthResponse = z.output<typeof healthResponseSchema>;

/** A batch without its job list and clips, for GET /v1/batches. */
export const batchSummarySchema = batchViewSchema.omit({ jobs: true, resolve: true }).extend({
  resolve: z.strictObject({ project: z.string(), timelines: z.array(z.string()) }).optional(),
});
export type BatchSummary = z.output<typeof batchSummarySchema>;

export const batchListResponseSchema = z.strictObject({ batches: z.array(batchSummarySchema) });
export type BatchListResponse = z.output<typeof batchListResponseSchema>;

export const workerListResponseSchema = z.strictObject({ workers: z.array(workerInfoSchema) });
export type WorkerListResponse = z.output<typeof workerListResponseSchema>;

export const encoderCountsSchema = z.strictObject({
  starting: z.number().int(),
  idle: z.number().int(),
  busy: z.number().int(),
  exiting: z.number().int(),
});

/** One pass of the gateway's autoscaler: what it saw, what it decided and why. */
export const scaleDecisionSchema = z.strictObject({
  at: z.number(),
  load: z.strictObject({
    waiting: z.number().int(),
    prioritized: z.number().int(),
    delayedDue: z.number().int(),
    active: z.number().int(),
  }),
  encoders: encoderCountsSchema,
  current: z.number().int(),
  desired: z.number().int(),
  reason: z.string(),
  /** Set when the backend could not be read or refused the change; retried on the next pass. */
  error: jobErrorSchema.optional(),
});
export type ScaleDecisionView = z.output<typeof scaleDecisionSchema>;

export const autoscaleResponseSchema = z.strictObject({
  backend: z.enum(['none', 'docker', 'kubernetes']),
  /** What it scales: a docker socket, or namespace/deployment. */
  target: z.string(),
  min: z.number().int(),
  max: z.number().int(),
  /** Newest first. */
  decisions: z.array(scaleDecisionSchema),
});
export type AutoscaleResponse = z.output<typeof autoscaleResponseSchema>;

export const statusResponseSchema = z.strictObject({
  version: z.string(),
  protocol: z.number().int(),
  queue: z.string(),
  counts: queueCountsSchema,
  workers: z.array(workerInfoSchema),
  /** When the gateway scales encoders: its backend and latest decision. */
  autoscale: z
    .strictObject({
      backend: z.enum(['docker', 'kubernetes']),
      target: z.string(),
      last: scaleDecisionSchema.nullable(),
    })
    .optional(),
});
export type StatusResponse = z.output<typeof statusResponseSchema>;
