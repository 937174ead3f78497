import { execFile } from 'node:child_process';
import { open, mkdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { UnrecoverableError, type Processor } from 'bullmq';
import { InputError } from '../core/errors.ts';
import { encodeJobError } from '../core/job/job-error.ts';
import {
  PROBE_JOB_NAME,
  probeJobSchema,
  type ProbeJob,
  type ProbeResult,
  type ProbeSource,
} from '../core/job/probe-contract.ts';
import type { Logger } from '../core/log.ts';
import { freeBytes } from '../core/paths/storage-errors.ts';
import { tempNameFor } from '../core/paths/temp-name.ts';
import { isBuiltinPreset } from '../core/presets/names.ts';
import { PRESETS } from '../core/presets/presets.ts';
import { PROTOCOL_VERSION, PROXIMA_VERSION } from '../core/version.ts';
import type { AnyProcessor } from './job-dispatch.ts';
import {
  estimateProxyBytes,
  parseEncoders,
  proxyRootProblem,
  sourceProblem,
} from './probe-checks.ts';
import { fileVersion } from './file-version.ts';
import { createProber, type Prober } from './probe-runner.ts';
import type { WorkerContext } from './worker.ts';

export interface ProbeJobDeps {
  ffmpegPath: string;
  ffprobePath: string;
  prober: Prober;
  worker: ProbeResult['worker'];
  logger: Logger;
}

/** The processors startWorker's `processors` option takes: probe jobs, by their job name. */
export function probeProcessors(ctx: WorkerContext): Record<string, AnyProcessor> {
  return {
    [PROBE_JOB_NAME]: createProbeJobProcessor({
      ffmpegPath: ctx.ffmpegPath,
      ffprobePath: ctx.ffprobePath,
      prober: createProber(ctx.ffprobePath, { timeoutSeconds: 30 }),
      worker: {
        id: ctx.workerId,
        host: hostname(),
        version: PROXIMA_VERSION,
        protocol: PROTOCOL_VERSION,
      },
      logger: ctx.logger,
    }),
  };
}

/** One read or command of a probe may take this long: a hung mount must not hold the answer. */
const STEP_MS = 10_000;

/**
 * Answers a probe job: what this worker sees of ffmpeg, the sources and the proxy root. Nothing
 * is encoded and nothing is left behind (the test file is removed; a worker killed meanwhile
 * leaves a temp name its sweep removes).
 */
export function createProbeJobProcessor(deps: ProbeJobDeps): Processor<ProbeJob, ProbeResult> {
  const tool = toolOutputCache();
  return async (job) => {
    const parsed = probeJobSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(
        encodeJobError(
          new InputError(
            'BAD_JOB',
            `probe job ${String(job.id)} has a payload this worker cannot read: ${parsed.error.issues[0]?.message ?? ''}`,
            'run the same Proxima version on the workers and the gateway (check `proxima status`)',
          ),
        ),
      );
    }
    const data = parsed.data;
    if (Date.now() > data.deadline) {
      // Nobody waits for the answer any more; checking would only hold a slot.
      throw new UnrecoverableError(
        encodeJobError(
          new InputError(
            'PROBE_EXPIRED',
            `probe job ${String(job.id)} was taken after its deadline; nobody waits for it`,
            'nothing to do: run `proxima doctor` again',
          ),
        ),
      );
    }
    const host = deps.worker.host;
    const [ffmpeg, ffprobe] = await Promise.all([
      checkFfmpeg(tool, deps.ffmpegPath, data.encoders),
      tool(deps.ffprobePath, ['-hide_banner', '-version']).then(
        (out) => ({ path: deps.ffprobePath, version: firstLine(out) }),
        (err: Error) => ({ path: deps.ffprobePath, version: null, error: err.message }),
      ),
    ]);
    const sources: ProbeSource[] = [];
    for (const source of data.sources) {
      sources.push(await checkSource(source, host, data, deps.prober));
    }
    const proxyRoot = await checkProxyRoot(data.proxyRoot, String(job.id), host);
    deps.logger.info(
      {
        job: job.id,
        sources: sources.length,
        unreadable: sources.filter((s) => !s.ok).length,
        proxyRootWritable: proxyRoot.writable,
      },
      'answered a probe',
    );
    return { worker: deps.worker, ffmpeg, ffprobe, sources, proxyRoot };
  };
}

async function checkFfmpeg(tool: Tool, file: string, encoders: readonly string[]) {
  try {
    const [versionText, encoderText] = await Promise.all([
      tool(file, ['-hide_banner', '-version']),
      tool(file, ['-hide_banner', '-encoders']),
    ]);
    const version = firstLine(versionText);
    const found = parseEncoders(encoderText);
    return { path: file, version, missingEncoders: encoders.filter((e) => !found.has(e)) };
  } catch (err) {
    return { path: file, version: null, error: (err as Error).message, missingEncoders: [] };
  }
}

async function checkSource(
  source: string,
  host: string,
  job: ProbeJob,
  prober: Prober,
): Promise<ProbeSource> {
  try {
    const s = await withTimeout(stat(source));
    if (!s.isFile()) {
      return {
        path: source,
        ok: false,
        code: 'SOURCE_NOT_REGULAR',
        message: `${source} is not a regular file on worker ${host}`,
      };
    }
    // Reading a byte proves more than a listing: permissions, a share that lists but hangs.
    const handle = await withTimeout(open(source, 'r'));
    try {
      await withTimeout(handle.read(Buffer.alloc(1), 0, 1, 0));
    } finally {
      await handle.close().catch(() => undefined);
    }
  } catch (err) {
    return { path: source, ok: false, ...sourceProblem(errnoOf(err), source, host) };
  }
  if (!job.media) return { path: source, ok: true };
  try {
    const media = await prober.probe(source, { signal: AbortSignal.timeout(STEP_MS * 3) });
    return {
      path: source,
      ok: true,
      durationSec: media.durationSec,
      // A user preset's definition is the gateway's: estimated as the default built-in.
      estimatedProxyBytes: media.video
        ? estimateProxyBytes(
            media,
            PRESETS[isBuiltinPreset(job.preset) ? job.preset : 'prores-proxy'],
          )
        : 0,
    };
  } catch (err) {
    // Readable but not media: the encode would fail the same way, with the same reason.
    const e = err as { code?: string; message: string };
    return {
      path: source,
      ok: false,
      code: e.code ?? 'MEDIA_UNREADABLE',
      message: e.message,
    };
  }
}

async function checkProxyRoot(root: string, jobId: string, host: string) {
  const file = path.join(root, tempNameFor('proxima-probe', jobId));
  let problem: { code: string; message: string } | undefined;
  try {
    // The encoder creates the root on its first job too.
    await withTimeout(mkdir(root, { recursive: true }));
    const handle = await withTimeout(open(file, 'wx'));
    try {
      await withTimeout(handle.write('proxima probe\n'));
      await withTimeout(handle.sync());
    } finally {
      await handle.close().catch(() => undefined);
    }
  } catch (err) {
    problem = proxyRootProblem(errnoOf(err), root, host);
  } finally {
    await rm(file, { force: true }).catch(() => undefined);
  }
  const free = await withTimeout(freeBytes(root)).catch(() => undefined);
  return {
    path: root,
    writable: problem === undefined,
    ...problem,
    freeBytes: free ?? null,
  };
}

type Tool = (file: string, args: string[]) => Promise<string>;

/**
 * Runs a tool's version or encoder listing once per binary: `queue` asks a worker before every
 * batch, and three runs of a static ffmpeg cost a tenth of a second. A binary replaced since
 * (another size or time) is asked again; a failed run is not kept.
 */
function toolOutputCache(): Tool {
  const kept = new Map<string, Promise<string>>();
  return async (file, args) => {
    const version = await fileVersion(file, (f) => withTimeout(stat(f)));
    if (!version) return runTool(file, args);
    const key = [version, ...args].join('\0');
    let out = kept.get(key);
    if (!out) {
      out = runTool(file, args);
      kept.set(key, out);
      out.catch(() => kept.delete(key));
    }
    return out;
  };
}

function runTool(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: STEP_MS, killSignal: 'SIGKILL', maxBuffer: 8 * 1024 * 1024 },
      (err, out) => {
        if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message.trim()}`));
        else resolve(out);
      },
    );
  });
}

/** "ffmpeg version 6.1.1" of the first line, without the copyright that follows. */
function firstLine(text: string): string {
  const line = text.split('\n')[0]?.trim() ?? '';
  return /^\S+ version \S+/.exec(line)?.[0] ?? line;
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Rejects with code TIMEOUT when a filesystem call hangs (the call itself cannot be stopped). */
function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })),
      STEP_MS,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
