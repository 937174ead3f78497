import path from 'node:path';
import { Hono } from 'hono';
import { decodeJobError } from '../../core/job/job-error.ts';
import {
  probeRequestSchema,
  probeResponseSchema,
  probeResultSchema,
  type ProbeResponse,
} from '../../core/job/probe-contract.ts';
import type { WorkerInfo } from '../../core/job/contract.ts';
import { toFarm } from '../../core/paths/path-mapping.ts';
import { PRESETS } from '../../core/presets/presets.ts';
import { PROTOCOL_VERSION } from '../../core/version.ts';
import type { AppDeps } from '../deps.ts';
import { HttpError, requestError } from '../errors.ts';
import { isBelowMediaRoot } from '../media-roots.ts';
import { respond } from '../respond.ts';

/** The encoders the presets name after -c:v: every one must be in a worker's ffmpeg. */
const PRESET_ENCODERS = [...new Set(Object.values(PRESETS).map((p) => p.videoArgs[0]!))];

/**
 * POST /v1/probes: a probe job a worker answers with what it sees (ffmpeg and its encoders, the
 * sources after paths.mappings, the proxy root), or why no worker did.
 */
export function probeRoutes(deps: AppDeps): Hono {
  return new Hono().post('/probes', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new HttpError(
        400,
        'BAD_JSON',
        'request body is not valid JSON',
        'send the body as JSON with content-type: application/json',
      );
    }
    const parsed = probeRequestSchema.safeParse(body);
    if (!parsed.success) throw requestError(parsed.error);
    const req = parsed.data;
    const { config } = deps;
    const roots = config.paths.media_roots;
    const mapped = req.sources.map((s) => toFarm(s, config.paths.mappings));
    mapped.forEach((farm, i) => {
      if (!isBelowMediaRoot(farm, roots)) {
        const shown = farm === req.sources[i] ? farm : `${req.sources[i]} (${farm} on the farm)`;
        throw new HttpError(
          403,
          'SOURCE_OUTSIDE_MEDIA_ROOTS',
          `sources[${i}]: ${shown} is not below paths.media_roots (${roots.join(', ')})`,
          'check files below one of those folders, or add their folder to paths.media_roots (or a paths.mappings entry) in the gateway config',
        );
      }
    });
    const preset = req.preset ?? config.encoding.preset;
    const workers = await deps.workers.list();
    const autoscale = deps.autoscaler !== undefined;
    const base = { workers: workers.length, autoscale, mappedSources: mapped, preset };
    const reply = (r: Omit<ProbeResponse, keyof typeof base>) =>
      respond(c, probeResponseSchema, { ...base, ...r });

    const idle = whyNotSent(workers, autoscale, deps.queue.name);
    if (idle) return reply({ ...idle, waitedMs: 0 });
    if (!deps.probes) {
      return reply({
        outcome: 'refused',
        message: 'this gateway cannot send probe jobs',
        hint: 'run the gateway of the same Proxima version as the CLI',
        waitedMs: 0,
      });
    }

    const started = Date.now();
    const timeoutMs = req.timeoutSeconds * 1000;
    const outcome = await deps.probes.run(
      {
        kind: 'probe',
        v: PROTOCOL_VERSION,
        sources: mapped,
        media: req.media,
        preset,
        proxyRoot: writeCheckFolder(config.paths, mapped),
        encoders: PRESET_ENCODERS,
        deadline: started + timeoutMs,
      },
      timeoutMs,
    );
    const waitedMs = Date.now() - started;
    deps.logger.info({ outcome: outcome.kind, ms: waitedMs }, 'probe job');
    if (outcome.kind === 'timeout') {
      return reply({
        outcome: 'timeout',
        message: `no worker answered within ${req.timeoutSeconds} s`,
        hint: 'start one with `proxima work` or check the autoscaler',
        waitedMs,
      });
    }
    if (outcome.kind === 'failed') {
      const e = decodeJobError(outcome.reason);
      return reply({
        outcome: 'refused',
        message: `a worker could not run the probe: ${e.code}: ${e.message}`,
        hint: e.hint,
        waitedMs,
      });
    }
    const result = probeResultSchema.safeParse(outcome.result);
    if (!result.success) {
      return reply({
        outcome: 'refused',
        message: `a worker answered the probe in a shape this gateway does not read (${result.error.issues[0]?.message ?? ''})`,
        hint: 'run the same Proxima version on the workers and the gateway',
        waitedMs,
      });
    }
    return reply({ outcome: 'answered', result: result.data, waitedMs });
  });
}

/**
 * Why a probe is not worth sending: nobody would take it before it times out. Pure. With an
 * autoscaler it is always sent, since the waiting probe is what makes it start an encoder.
 */
export function whyNotSent(
  registered: readonly WorkerInfo[],
  autoscale: boolean,
  queue: string,
  protocol: number = PROTOCOL_VERSION,
): Pick<ProbeResponse, 'outcome' | 'message' | 'hint'> | null {
  if (autoscale) return null;
  // A worker of another protocol version takes none of this gateway's jobs.
  const workers = registered.filter((w) => w.protocol === protocol);
  if (workers.length === 0) {
    const others = registered.length;
    return {
      outcome: 'no-worker',
      message:
        others === 0
          ? `no worker is registered on queue ${queue}`
          : `no worker of protocol ${protocol} is registered on queue ${queue} (${others} of another version)`,
      hint: 'start one with `proxima work` (or `proxima up --workers N`), or set autoscale.backend',
    };
  }
  const slots = workers.reduce((n, w) => n + w.concurrency, 0);
  const busy = workers.reduce((n, w) => n + Math.min(w.concurrency, w.current.length), 0);
  if (busy >= slots) {
    return {
      outcome: 'busy',
      message: `every worker is busy (${busy} of ${slots} slots encoding)`,
      hint: 'the worker-side checks run when a slot is free: try again then, or start another worker with `proxima work`',
    };
  }
  return null;
}

/**
 * Where a worker checks it can write proxies: the proxy root, or with layout beside the folder
 * of the first sampled source, where its Proxy folder is made (checking the Proxy folder itself
 * would leave one behind a batch that is then not queued).
 */
function writeCheckFolder(
  paths: AppDeps['config']['paths'],
  farmSources: readonly string[],
): string {
  const first = farmSources[0];
  if (paths.layout === 'beside' && first !== undefined) return path.dirname(first);
  return path.resolve(paths.proxy_root);
}
