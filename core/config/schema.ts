import { z } from 'zod';
import { pathStyle } from '../paths/path-mapping.ts';
import { BUILTIN_PRESET_NAMES, isBuiltinPreset, PRESET_NAME_PATTERN } from '../presets/names.ts';
import { DEFAULT_PROXY_SIZE } from '../presets/presets.ts';
import { presetRulesSchema } from '../presets/rule-schema.ts';
import { proxySizeSchema } from '../presets/size-schema.ts';
import { userPresetsSchema } from '../presets/user-presets.ts';

/** Seconds, as a whole number. */
const seconds = z.number().int().min(1);
const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port, e.g. 127.0.0.1:8765');

/** A paths.mappings prefix: a relative one would match nothing, silently. */
const mappedPrefix = z
  .string()
  .min(1)
  .max(4096)
  .refine(
    (p) => pathStyle(p) !== null,
    'an absolute path (R:\\Footage, \\\\nas\\share or /mnt/media)',
  );

/**
 * The single source of truth for configuration. Every key has a default, so an empty file is a
 * valid file; unknown keys are errors (a typo must not be silently ignored).
 */
const configObject = z.strictObject({
  app: z
    .strictObject({
      /** At most once a day, `queue`, `up` and `status` say when a newer Proxima is published. */
      check_for_updates: z.boolean().default(true),
    })
    .prefault({}),
  paths: z
    .strictObject({
      /** Where proxies are written with layout mirror; the source folders are mirrored below it. */
      proxy_root: z.string().min(1).default('~/Proxima Proxies'),
      /**
       * mirror: below proxy_root, the source folders mirrored; beside: a Proxy/ folder next to
       * each source (as Resolve and Blackmagic Proxy Generator write them).
       */
      layout: z.enum(['mirror', 'beside']).default('mirror'),
      /** Folders sources must be below; a source elsewhere is refused. Empty: any. */
      media_roots: z.array(z.string().min(1)).default([]),
      /**
       * Two-way path mapping between the editor's machine and the farm (gateway and encoders):
       * the longest matching editor prefix maps a source to the farm, and farm paths going back
       * to the editor are mapped the other way. Empty: every machine sees the same paths.
       */
      mappings: z
        .array(
          z.strictObject({
            editor: mappedPrefix,
            farm: mappedPrefix,
          }),
        )
        .max(1000)
        .default([]),
      /** Modification times within this many seconds are one (SMB and FAT round them). */
      mtime_tolerance_seconds: z.number().min(0).max(3600).default(2),
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
      /**
       * Host names the gateway answers to besides its listen address and loopback names
       * (Host and Origin are checked, so a web page cannot drive it through DNS rebinding).
       */
      allowed_hosts: z.array(z.string().min(1).max(253)).default([]),
      /** Seconds the CLI keeps reconnecting to a gateway that went away while it waits. */
      reconnect_seconds: z.number().int().min(0).max(86_400).default(300),
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
      /** Seconds a starting worker tries to reach the broker before it stops with an error. */
      broker_wait_seconds: z.number().int().min(1).max(3600).default(30),
      /**
       * A job whose source a worker cannot see (not mounted, another path) is handed on, not
       * failed; it fails once this many different workers, or every live one, could not see it.
       */
      distinct_attempts: z.number().int().min(1).max(100).default(3),
      /** Seconds a worker told to stop waits for its jobs and the broker before it exits anyway. */
      stop_seconds: z.number().int().min(1).max(86_400).default(30),
      /** Seconds without progress from ffmpeg before it is killed and its job retried. */
      stall_seconds: z.number().int().min(5).max(86_400).default(120),
      /** Seconds one ffprobe may take before it is killed. */
      probe_seconds: z.number().int().min(5).max(3600).default(60),
    })
    .prefault({}),
  encoding: z
    .strictObject({
      /** Default preset: a built-in (core/presets/names.ts) or one defined under `presets:`. */
      preset: z.string().regex(PRESET_NAME_PATTERN, 'a preset name').default('prores-proxy'),
      /**
       * Proxy size as Resolve offers it: 720 (a height, also as the string "720"), 540, 1080,
       * half, quarter or source. Never larger than the source.
       */
      size: proxySizeSchema.default(DEFAULT_PROXY_SIZE),
      /**
       * Ordered: the first rule whose match fits a source's probe picks its preset; none:
       * encoding.preset. A request's explicit preset overrides them.
       */
      rules: presetRulesSchema.default([]),
    })
    .prefault({}),
  /** User presets: name -> a built-in base with overrides (core/presets/user-presets.ts). */
  presets: userPresetsSchema.default({}),
  chunking: z
    .strictObject({
      /** Split long clips into chunks any worker can encode, joined without re-encoding. */
      enabled: z.boolean().default(true),
      /** Clips longer than this many seconds are chunked; shorter ones stay one job. */
      min_seconds: z.number().min(1).max(86_400).default(120),
      /** About this many seconds of frames per chunk (a whole number of frames). */
      chunk_seconds: z.number().min(1).max(86_400).default(30),
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
  encoder: z
    .strictObject({
      /** An encoder container exits after this many seconds without work; 0: never. */
      idle_exit_seconds: z.number().int().min(0).max(86_400).default(60),
      /** The name it registers under, so the autoscaler knows which container or pod is busy; empty: the host name. */
      instance: z.string().max(253).default(''),
    })
    .prefault({}),
  autoscale: z
    .strictObject({
      /** How the gateway starts and stops encoders: none, docker or kubernetes. */
      backend: z.enum(['none', 'docker', 'kubernetes']).default('none'),
      /** Encoders kept even with no work. */
      min: z.number().int().min(0).max(10_000).default(0),
      /** Encoders at most. */
      max: z.number().int().min(1).max(10_000).default(4),
      /** Jobs waiting or running per encoder before another one is started. */
      jobs_per_encoder: z.number().int().min(1).max(1_000).default(1),
      /** Encoders added at most per decision. */
      scale_up_step: z.number().int().min(1).max(10_000).default(4),
      /** Seconds after a change before the count is lowered again. */
      cooldown_seconds: z.number().int().min(0).max(86_400).default(60),
      /** With no work at all, go down to min (else keep at least one encoder). */
      scale_to_zero: z.boolean().default(true),
      /** Seconds between decisions when no queue event comes. */
      interval_seconds: z.number().int().min(1).max(3_600).default(10),
    })
    .prefault({}),
  docker: z
    .strictObject({
      /** Docker engine: a socket path or tcp://host:port; empty: /var/run/docker.sock. */
      socket: z.string().default(''),
      /** Image the encoders run (built from Dockerfile.encoder). */
      image: z.string().min(1).default('proxima-encoder:latest'),
      /** Network mode of the encoders: host, or a network name (a compose project's network). */
      network: z.string().min(1).default('host'),
      /** Bind mounts, SOURCE:TARGET[:ro]; media and proxies at the same paths the jobs name. */
      mounts: z
        .array(
          z.string().regex(/^[^:]+:\/[^:]*(:(ro|rw))?$/, 'SOURCE:/TARGET or SOURCE:/TARGET:ro'),
        )
        .default([]),
      /** CPUs per encoder (e.g. 2 or 1.5); 0: no limit. */
      cpus: z.number().min(0).max(1024).default(0),
      /** Memory limit per encoder in MiB; 0: no limit. */
      memory_mb: z.number().int().min(0).max(1_048_576).default(0),
      /** broker.url as the encoders reach it; empty: the gateway's broker.url. */
      broker_url: z
        .string()
        .refine((v) => v === '' || /^rediss?:\/\//.test(v), 'empty, or a redis:// or rediss:// URL')
        .default(''),
    })
    .prefault({}),
  kubernetes: z
    .strictObject({
      /** Namespace of the encoder Deployment. */
      namespace: z.string().min(1).default('proxima'),
      /** The encoder Deployment whose replicas the gateway sets. */
      deployment: z.string().min(1).default('proxima-encoder'),
      /** kubeconfig file; empty: KUBECONFIG, then ~/.kube/config, then the in-cluster service account. */
      kubeconfig: z.string().default(''),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

export const configSchema = configObject.superRefine((config, ctx) => {
  // Names are checked against the table here, where both the built-ins and `presets:` are known.
  const known = [...BUILTIN_PRESET_NAMES, ...Object.keys(config.presets)];
  const isKnown = (name: string) => isBuiltinPreset(name) || Object.hasOwn(config.presets, name);
  const refs: [string, (string | number)[]][] = [
    [config.encoding.preset, ['encoding', 'preset']],
    ...config.encoding.rules.map((r, i): [string, (string | number)[]] => [
      r.preset,
      ['encoding', 'rules', i, 'preset'],
    ]),
  ];
  for (const [name, path] of refs) {
    // As an enum's issue, so the error lists the names like any other choice of values.
    if (!isKnown(name)) ctx.addIssue({ code: 'invalid_value', values: known, path, input: name });
  }
});

export type Config = z.output<typeof configSchema>;
export type PresetName = Config['encoding']['preset'];
