import { z } from 'zod';

/** Seconds, as a whole number. */
const seconds = z.number().int().min(1);
const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port, e.g. 127.0.0.1:8765');

/**
 * The single source of truth for configuration. Every key has a default, so an empty file is a
 * valid file; unknown keys are errors (a typo must not be silently ignored).
 */
export const configSchema = z.strictObject({
  paths: z
    .strictObject({
      /** Where proxies are written; the source folder structure is mirrored below it. */
      proxy_root: z.string().min(1).default('~/Proxima Proxies'),
    })
    .prefault({}),
  broker: z
    .strictObject({
      /** redis:// URL of the broker. Empty: `proxima up` starts a private redis-server. */
      url: z
        .string()
        .refine((v) => v === '' || /^rediss?:\/\//.test(v), 'empty, or a redis:// or rediss:// URL')
        .default(''),
      /** Queue name; separate farms on one Redis use separate names. */
      queue: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -')
        .default('proxima'),
      /** A job still waiting this long after it was queued is dropped, not encoded. */
      job_expires: seconds.default(86_400),
      /** How long finished jobs and batch records are kept (for `status` and `link`). */
      result_expires: seconds.default(604_800),
    })
    .prefault({}),
  gateway: z
    .strictObject({
      /** Where the CLI reaches the gateway. */
      url: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8765'),
      /** Where the gateway listens. */
      listen: hostPort.default('127.0.0.1:8765'),
      /** Shared secret; when set, API calls need `Authorization: Bearer <token>`. */
      token: z.string().default(''),
    })
    .prefault({}),
  worker: z
    .strictObject({
      /** Jobs encoded at once by one `proxima work` process. 0: half the CPU cores, at least 1. */
      concurrency: z.number().int().min(0).max(256).default(0),
      /** CPU niceness of workers and their ffmpeg (0-19), so the editing app stays responsive. */
      nice: z.number().int().min(0).max(19).default(10),
      /** Attempts for a job that fails for a transient reason. */
      attempts: z.number().int().min(1).max(100).default(3),
      /** Seconds without a heartbeat before a job of a dead worker goes to another worker. */
      lock_seconds: z.number().int().min(2).max(3600).default(30),
    })
    .prefault({}),
  encoding: z
    .strictObject({
      /** Default preset: prores-proxy or dnxhr-lb. */
      preset: z.enum(['prores-proxy', 'dnxhr-lb']).default('prores-proxy'),
    })
    .prefault({}),
  filters: z
    .strictObject({
      /** File extensions queued when a folder is given (case-insensitive, no dot). */
      extensions: z
        .array(
          z
            .string()
            .regex(/^[A-Za-z0-9]{1,10}$/, 'an extension without the dot')
            .transform((s) => s.toLowerCase()),
        )
        .min(1)
        .default(['mov', 'mp4', 'm4v', 'mxf', 'mts', 'm2ts', 'mkv', 'avi', 'mpg', 'mpeg', 'ts']),
      /** Path globs a timeline's clip must match to be queued; empty: every clip. */
      include: z.array(z.string().min(1)).default([]),
      /** Path globs of clips never queued, e.g. any clip below a VFX folder. */
      exclude: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  ffmpeg: z
    .strictObject({
      /** Path to ffmpeg; empty: ffmpeg-static, then @ffmpeg-installer/ffmpeg, then PATH. */
      path: z.string().default(''),
    })
    .prefault({}),
  ffprobe: z
    .strictObject({
      /** Path to ffprobe; empty: @ffprobe-installer/ffprobe, then PATH. */
      path: z.string().default(''),
    })
    .prefault({}),
  resolve: z
    .strictObject({
      /** Python 3 (64-bit) that runs the bridge; empty: python3, then python, on PATH. */
      python: z.string().default(''),
      /** Blackmagic's scripting folder (holds Modules/); empty: RESOLVE_SCRIPT_API, then the OS default. */
      script_api: z.string().default(''),
      /** fusionscript library; empty: RESOLVE_SCRIPT_LIB, then the OS default. */
      script_lib: z.string().default(''),
      /** Seconds one call to Resolve may take; Resolve blocks while a modal dialog is open. */
      timeout_seconds: z.number().int().min(1).max(3600).default(30),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type PresetName = Config['encoding']['preset'];
