import { z } from 'zod';
import { PROTOCOL_VERSION } from '../version.ts';
import { presetNameSchema, sourcePathSchema } from './contract.ts';

/**
 * Probe jobs: a worker reports what it sees (its ffmpeg and encoders, the sources, the proxy
 * root) for `proxima doctor` and the pre-flight of `proxima queue`. They share the encode
 * queue, so whichever worker would encode a batch answers, but carry the BullMQ job name
 * "probe" and a payload no encode schema accepts: a probe is never taken for an encode.
 */
export const PROBE_JOB_NAME = 'probe';

/** At most this many sources per probe: a sample, not the batch. */
export const PROBE_MAX_SOURCES = 50;

/** POST /v1/probes */
export const probeRequestSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  /** As the editor's machine names them; the gateway applies paths.mappings. */
  sources: z.array(sourcePathSchema).max(PROBE_MAX_SOURCES).default([]),
  /** Also ffprobe each source, for the estimate of the proxies' size. */
  media: z.boolean().default(false),
  /** Omitted: the gateway's encoding.preset. */
  preset: presetNameSchema.optional(),
  /** How long the gateway waits for a worker to answer. */
  timeoutSeconds: z.number().int().min(1).max(600).default(15),
});
export type ProbeRequest = z.input<typeof probeRequestSchema>;

export const probeJobSchema = z.strictObject({
  kind: z.literal('probe'),
  v: z.literal(PROTOCOL_VERSION),
  sources: z.array(z.string()).max(PROBE_MAX_SOURCES),
  media: z.boolean(),
  preset: presetNameSchema,
  proxyRoot: z.string(),
  /** The encoders the presets need, checked in `ffmpeg -encoders`. */
  encoders: z.array(z.string()),
  /** Epoch ms after which nobody waits for the answer: a worker that takes it later skips it. */
  deadline: z.number(),
});
export type ProbeJob = z.output<typeof probeJobSchema>;

const toolSchema = z.strictObject({
  path: z.string(),
  /** The first line of `-version`; null when it did not run. */
  version: z.string().nullable(),
  error: z.string().optional(),
});

export const probeSourceSchema = z.strictObject({
  /** As the worker sees it (after paths.mappings). */
  path: z.string(),
  ok: z.boolean(),
  code: z.string().optional(),
  message: z.string().optional(),
  /** Bytes the proxy of this source is estimated to take (with media: true). */
  estimatedProxyBytes: z.number().min(0).optional(),
  durationSec: z.number().min(0).optional(),
});
export type ProbeSource = z.output<typeof probeSourceSchema>;

export const probeResultSchema = z.strictObject({
  worker: z.strictObject({
    id: z.string(),
    host: z.string(),
    version: z.string(),
    protocol: z.number().int(),
  }),
  ffmpeg: toolSchema.extend({ missingEncoders: z.array(z.string()) }),
  ffprobe: toolSchema,
  sources: z.array(probeSourceSchema),
  proxyRoot: z.strictObject({
    path: z.string(),
    writable: z.boolean(),
    code: z.string().optional(),
    message: z.string().optional(),
    /** Free bytes for an unprivileged writer; null when it could not be read. */
    freeBytes: z.number().min(0).nullable(),
  }),
  /** Set when the worker took the job after its deadline and checked nothing. */
  expired: z.boolean().optional(),
});
export type ProbeResult = z.output<typeof probeResultSchema>;

/** What came of a probe: a worker's answer, or why there is none. */
export const probeResponseSchema = z.strictObject({
  outcome: z.enum(['answered', 'no-worker', 'busy', 'timeout', 'refused']),
  /** Set unless answered: one line saying what happened, and the fix. */
  message: z.string().optional(),
  hint: z.string().optional(),
  /** Registered workers when the probe was sent. */
  workers: z.number().int(),
  /** Whether an autoscaler may start an encoder for the probe. */
  autoscale: z.boolean(),
  waitedMs: z.number().min(0),
  /** Sources in the order of the request, as the farm sees them. */
  mappedSources: z.array(z.string()),
  preset: presetNameSchema,
  result: probeResultSchema.optional(),
});
export type ProbeResponse = z.output<typeof probeResponseSchema>;
