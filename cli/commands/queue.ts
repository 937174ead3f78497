import path from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { InputError, isProximaError, ProximaError } from '../../core/errors.ts';
import {
  presetNameSchema,
  type EnqueueRequest,
  type EnqueueResponse,
  type JobError,
  type JobView,
} from '../../core/job/contract.ts';
import { BUILTIN_PRESET_NAMES } from '../../core/presets/names.ts';
import { PROTOCOL_VERSION } from '../../core/version.ts';
import { updateCheckFor } from '../../core/update/update-check.ts';
import type { CliContext } from '../context.ts';
import { renderLine } from '../doctor/check-line.ts';
import { preflight } from '../doctor/preflight.ts';
import { GatewayError, gatewayClientFor, type GatewayClient } from '../gateway-client.ts';
import { Interrupted, onInterrupt, signalExitCode } from '../interrupt.ts';
import { parseOptions, repeatable } from '../options.ts';
import {
  stateChanges,
  stateFromSnapshot,
  succeeded,
  tally,
  type BatchState,
} from '../progress/batch-state.ts';
import { followBatch, printSummary } from '../progress/follow-batch.ts';
import type { ResolveBridge } from '../resolve/bridge-client.ts';
import {
  countFailed,
  linkProxies,
  linkTargets,
  type LinkOutcome,
  type LinkTarget,
} from '../resolve/link-proxies.ts';
import { bridgeFor } from '../resolve/open-from-context.ts';
import { pickTimelines } from '../resolve/pick-timelines.ts';
import {
  planFromResolve,
  planLines,
  resolveRequest,
  type ResolvePlan,
} from '../sources/resolve-sources.ts';
import {
  scanSources,
  skipNoteLines,
  summarizeSkipped,
  type SkipNote,
} from '../sources/scan-sources.ts';
import { timelineFileSources } from '../sources/timeline-file-sources.ts';
import { terminalJson, terminalText } from '../terminal-text.ts';
import { printUpdateNotice } from '../update-notice.ts';

const optionsSchema = z
  .object({
    paths: z.array(z.string().min(1)),
    preset: presetNameSchema.optional(),
    wait: z.boolean().optional(),
    json: z.boolean().default(false),
    label: z.string().min(1).max(200).optional(),
    resolve: z.boolean().default(false),
    timeline: z.array(z.string().min(1)).default([]),
    allTimelines: z.boolean().default(false),
    select: z.boolean().default(false),
    timelineFile: z.string().min(1).optional(),
    mediaRoot: z.string().min(1).optional(),
    force: z.boolean().default(false),
    reencode: z.boolean().default(false),
    dryRun: z.boolean().default(false),
    preflight: z.boolean().default(true),
  })
  .refine(
    (o) =>
      o.paths.length > 0 ||
      o.resolve ||
      o.timeline.length > 0 ||
      o.allTimelines ||
      o.select ||
      o.timelineFile !== undefined,
    {
      path: ['paths'],
      message:
        'give files or folders, --resolve, --timeline NAME, --all-timelines, --select or --timeline-file FILE',
    },
  );

type QueueOptions = z.output<typeof optionsSchema>;

export function queueCommand(ctx: CliContext): Command {
  return new Command('queue')
    .description('queue files and folders for proxies, then show progress and a summary')
    .argument('[paths...]', 'files and folders (folders are walked recursively)')
    .option(
      '--preset <name>',
      `${BUILTIN_PRESET_NAMES.join(', ')} or a presets: name; overrides encoding.rules (default: encoding.preset)`,
    )
    .option('--wait', 'wait for the proxies (default at a terminal)')
    .option('--no-wait', 'return once queued')
    .option('--json', 'print a machine-readable summary on stdout (waits unless --no-wait)')
    .option('--label <text>', 'free text shown by status, e.g. the timeline name')
    .option(
      '--resolve',
      "the clips of DaVinci Resolve's current timeline; links each proxy when done",
    )
    .option('--timeline <name>', 'a Resolve timeline by name (repeatable)', repeatable, [])
    .option('--all-timelines', "every timeline of Resolve's current project")
    .option('--select', 'pick timelines and video tracks at the terminal')
    .option('--timeline-file <file>', 'the source media of an FCPXML, FCP 7 XML, EDL or OTIO file')
    .option('--media-root <dir>', 'where to find the files an EDL names')
    .option('--force', 'also clips whose proxy is linked and online')
    .option(
      '--reencode',
      'encode again even when a proxy is already on disk or done (it is replaced)',
    )
    .option('--dry-run', 'show the plan and stop')
    .option('--no-preflight', 'queue without asking a worker first whether it sees the files')
    .action((paths: string[], opts: Record<string, unknown>, cmd: Command) =>
      ctx.run(cmd, () => runQueue(ctx, { ...opts, paths })),
    );
}

/**
 * What --json prints, filled in as the command learns it, so that an error at any point still
 * prints one JSON object with what is known, and the error.
 */
interface JsonReport {
  response: EnqueueResponse | null;
  state: BatchState | null;
  skipped: readonly SkipNote[];
  waited: boolean;
  links?: readonly LinkOutcome[];
  printed: boolean;
}

/** Clips of Resolve timelines being queued, and the links made for them so far. */
interface ResolveSession {
  bridge: ResolveBridge;
  plan: ResolvePlan;
  links: LinkOutcome[];
}

export async function runQueue(ctx: CliContext, raw: unknown): Promise<number> {
  const report: JsonReport = {
    response: null,
    state: null,
    skipped: [],
    waited: false,
    printed: false,
  };
  try {
    return await queueFrom(ctx, raw, report);
  } catch (err) {
    // Read from the raw options: a bad option value is an error --json must report too.
    const json = (raw as { json?: unknown } | null)?.json === true;
    if (json && !report.printed) printReport(ctx, report, jobErrorOf(err));
    throw err;
  }
}

async function queueFrom(ctx: CliContext, raw: unknown, report: JsonReport): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'queue', { paths: 'PATHS' });
  const update = updateCheckFor(ctx.load().loaded);
  const code = await queueParsed(ctx, opts, report);
  printUpdateNotice(update, ctx.io.stderr);
  return code;
}

async function queueParsed(
  ctx: CliContext,
  opts: QueueOptions,
  report: JsonReport,
): Promise<number> {
  const { config } = ctx.load().loaded;
  const note = (line: string) => {
    if (!opts.json) ctx.io.stdout.write(`${terminalText(line)}\n`);
  };

  const paths = [...opts.paths];
  if (opts.timelineFile) {
    paths.push(...(await timelineFileSources(opts.timelineFile, opts.mediaRoot, note)));
  }
  const fromResolve = opts.resolve || opts.timeline.length > 0 || opts.allTimelines || opts.select;
  if (!fromResolve) {
    if (opts.dryRun) {
      for (const p of paths) note(`encode  ${p}`);
      return 0;
    }
    return queuePaths(ctx, opts, paths, null, report);
  }

  const bridge = await bridgeFor(ctx);
  try {
    const picked = opts.select ? await pickTimelines(bridge, ctx.io.stdin, ctx.io.stdout) : null;
    const plan = await planFromResolve(
      bridge,
      picked
        ? { current: false, names: picked.names, all: false, tracks: picked.tracks }
        : { current: opts.resolve, names: opts.timeline, all: opts.allTimelines },
      config,
      { force: opts.force, reencode: opts.reencode },
    );
    for (const line of planLines(plan)) note(line);
    if (opts.dryRun) {
      for (const p of paths) note(`encode  ${p}`);
      for (const c of plan.plan.encode) note(`encode  ${c.path}`);
      for (const c of plan.plan.link) note(`link    ${c.path} -> ${c.proxyPath}`);
      return 0;
    }

    const session: ResolveSession = { bridge, plan, links: [] };
    report.links = session.links;
    // Proxies already on disk are linked before anything is queued: nothing to wait for.
    const onDisk = plan.plan.link.flatMap((c) => linkTargets(c));
    session.links.push(...(await linkProxies(bridge, onDisk, plan.project, note)));
    paths.push(...plan.plan.encode.map((c) => c.path));
    if (paths.length === 0) {
      note('nothing to encode');
      if (opts.json) {
        report.printed = true;
        ctx.io.stdout.write(`${terminalJson({ batch: null, links: session.links })}\n`);
      }
      return countFailed(session.links) > 0 ? 1 : 0;
    }
    const code = await queuePaths(ctx, opts, paths, session, report);
    return countFailed(session.links) > 0 ? Math.max(code, 1) : code;
  } finally {
    await bridge.close();
  }
}

async function queuePaths(
  ctx: CliContext,
  opts: QueueOptions,
  paths: string[],
  resolve: ResolveSession | null,
  report: JsonReport,
): Promise<number> {
  const { loaded, logger } = ctx.load();
  const { config } = loaded;
  const out = ctx.io.stdout;
  const scan = await scanSources(paths, {
    extensions: config.filters.extensions,
    proxyRoot: config.paths.proxy_root,
    layout: config.paths.layout,
  });
  report.skipped = scan.skipped;
  if (!opts.json)
    for (const line of skipNoteLines(scan.skipped)) out.write(`${terminalText(line)}\n`);
  if (scan.sources.length === 0) {
    throw new InputError(
      'NOTHING_TO_QUEUE',
      `no video files in ${paths.join(', ')}${scan.skipped.length ? ` (${summarizeSkipped(scan.skipped)})` : ''}`,
      'queue files whose extension is in filters.extensions (see `proxima config show`)',
    );
  }

  if (opts.preflight) {
    // A worker that cannot see the media or write the proxies would fail every job of the
    // batch one by one; one refusal now says why, before anything is queued.
    const failures = await preflight(config, scan.sources, opts.preset, logger);
    if (failures.length > 0) {
      for (const l of failures) ctx.io.stderr.write(`${renderLine(l)}\n`);
      throw new ProximaError(
        'PREFLIGHT_FAILED',
        `pre-flight: ${failures[0]!.message}`,
        'fix what the lines above say (`proxima doctor PATHS` checks again), or queue anyway with --no-preflight',
      );
    }
  }

  // scanSources resolves each path it is given; a clip is found again by its resolved path.
  const queuedAs = new Map(scan.sources.map((s) => [path.resolve(s.path), s.path]));
  const client = gatewayClientFor(config);
  const { response, recorded } = await enqueue(
    client,
    {
      v: PROTOCOL_VERSION,
      preset: opts.preset,
      sources: scan.sources,
      label: opts.label ?? resolve?.plan.timelines.join(', ').slice(0, 200),
      // --force takes clips whose proxy is linked: encoding them again is the point.
      ...((opts.reencode || opts.force) && { reencode: true }),
      resolve: resolve
        ? resolveRequest(resolve.plan, (p) => queuedAs.get(path.resolve(p)))
        : undefined,
      skipped: skippedForRequest(scan.skipped),
    },
    (line) => ctx.io.stderr.write(`${terminalText(line)}\n`),
  );
  const { batch } = response;
  report.response = response;
  report.state = stateFromSnapshot(batch);
  logger.debug({ batch: batch.id, jobs: batch.jobs.length }, 'queued');
  // Without the batch's record (an older gateway) only a scan of the proxy root finds them.
  const linkLater = recorded ? `proxima link --batch ${batch.id}` : 'proxima link --scan';

  const wait = opts.wait ?? (opts.json || Boolean(out.isTTY));
  if (!opts.json) {
    out.write(
      `${terminalText(`queued ${batch.jobs.length} file${batch.jobs.length === 1 ? '' : 's'} as batch ${batch.id} (${batch.preset}${response.deduplicated ? `, ${response.deduplicated} already queued or done` : ''})`)}\n`,
    );
  }
  if (!wait) {
    if (opts.json) printReport(ctx, report);
    else {
      out.write('not waiting; `proxima status` shows the queue\n');
      if (resolve) {
        out.write(`run \`${linkLater}\` when it is done to link the proxies in Resolve\n`);
      }
    }
    return 0;
  }

  report.waited = true;
  const interrupt = onInterrupt();
  let state: BatchState;
  try {
    const linker = resolve ? linkAsDone(resolve, queuedAs) : undefined;
    state = await followBatch(client, response, {
      out,
      mode: opts.json ? 'silent' : out.isTTY ? 'tty' : 'plain',
      logger,
      signal: interrupt.signal,
      giveUpAfterMs: config.gateway.reconnect_seconds * 1000,
      notices: ctx.io.stderr,
      onState: (s, note) => {
        report.state = s;
        linker?.onState(s, note);
      },
    });
    await linker?.done();
  } catch (err) {
    const reason: unknown = interrupt.signal.reason;
    if (reason instanceof Interrupted) {
      const stopped = `stopped watching batch ${batch.id}; its jobs keep running`;
      ctx.io.stderr.write(`${terminalText(stopped)} (see \`proxima status\`)\n`);
      if (resolve) ctx.io.stderr.write(`\`${linkLater}\` links them later\n`);
      if (opts.json) {
        printReport(ctx, report, {
          code: 'INTERRUPTED',
          message: `${stopped} (${reason.signalName})`,
          hint: resolve ? `\`${linkLater}\` links them later` : 'see `proxima status`',
        });
      }
      return signalExitCode(reason.signalName);
    }
    throw err;
  } finally {
    interrupt.dispose();
  }

  if (opts.json) {
    // The stream's events carry states and results; a re-read adds what only the gateway
    // assembles, e.g. the chunks of a clip split after the stream's first snapshot.
    const final = await client.batch(batch.id).catch(() => undefined);
    if (final) report.state = { ...stateFromSnapshot(final), done: state.done };
    printReport(ctx, report);
  } else printSummary(out, state, response);
  return succeeded(state) ? 0 : 1;
}

/**
 * The walk's skip notes as the request carries them, within the contract's limits: a name too
 * long to send is left out of the list, not a reason to refuse the batch.
 */
export function skippedForRequest(
  skipped: readonly SkipNote[],
): EnqueueRequest['skipped'] | undefined {
  const sendable = skipped
    .filter((s) => s.path.length >= 1 && s.path.length <= 4096)
    .slice(0, 100_000)
    .map((s) => ({ path: s.path, reason: s.reason }));
  return sendable.length > 0 ? sendable : undefined;
}

/** The --json output for what is known so far; once per run. */
function printReport(ctx: CliContext, report: JsonReport, error?: JobError): void {
  report.printed = true;
  const value = report.response
    ? jsonSummary(
        report.response,
        report.state ?? stateFromSnapshot(report.response.batch),
        report.skipped,
        report.waited,
        report.links,
      )
    : { batch: null, skipped: report.skipped, ...(report.links && { links: report.links }) };
  ctx.io.stdout.write(`${terminalJson(error ? { ...value, error } : value)}\n`);
}

/** An error as the --json output carries it, with the same code and hint printError shows. */
function jobErrorOf(err: unknown): JobError {
  if (isProximaError(err)) return { code: err.code, message: err.message, hint: err.hint };
  return {
    code: 'INTERNAL',
    message: err instanceof Error ? err.message : String(err),
    hint: 'run again with --verbose for details',
  };
}

/** The optional request fields a gateway of an earlier version may not know. */
const OPTIONAL_FIELDS = ['resolve', 'skipped'] as const;

/** Pure: the optional field a refusal names as unknown, if that is what it is. */
export function refusedField(err: unknown): (typeof OPTIONAL_FIELDS)[number] | null {
  if (!(err instanceof GatewayError) || err.code !== 'INVALID_REQUEST') return null;
  return OPTIONAL_FIELDS.find((f) => err.message.startsWith(`${f}: unknown field`)) ?? null;
}

/**
 * The batch, and whether the gateway kept its Resolve record. A gateway of an earlier version
 * refuses a field it does not know; the batch is queued without it. Without `resolve` only
 * `proxima link --scan` finds its proxies later; without `skipped` only this summary lists the
 * files left out.
 */
async function enqueue(
  client: GatewayClient,
  request: EnqueueRequest,
  warn: (line: string) => void,
): Promise<{ response: EnqueueResponse; recorded: boolean }> {
  let sent = request;
  for (;;) {
    try {
      return { response: await client.enqueue(sent), recorded: Boolean(sent.resolve) };
    } catch (err) {
      const field = refusedField(err);
      if (field === null || sent[field] === undefined) throw err;
      if (field === 'resolve') {
        warn(
          'warning: the gateway is of an earlier version and keeps no record of the Resolve clips; `proxima link --scan` finds the proxies later',
        );
      }
      sent = { ...sent, [field]: undefined };
    }
  }
}

/**
 * Links each proxy as soon as its job succeeds, so the editor sees proxies appear during the
 * batch. Diffing states (not events) also catches jobs that were already done when queued.
 */
function linkAsDone(resolve: ResolveSession, queuedAs: ReadonlyMap<string, string>) {
  const bySource = new Map<string, typeof resolve.plan.plan.encode>();
  for (const c of resolve.plan.plan.encode) {
    const source = queuedAs.get(path.resolve(c.path));
    if (source !== undefined) bySource.set(source, [...(bySource.get(source) ?? []), c]);
  }
  const seen = new Map<string, JobView['state']>();
  let linking = Promise.resolve();
  return {
    onState(state: BatchState, note: (line: string) => void) {
      for (const job of stateChanges(seen, state)) {
        if (job.state !== 'completed' || !job.result) continue;
        // The view's proxyPath is the editor's name for it; the result's is the farm's.
        const proxyPath = job.proxyPath;
        const targets: LinkTarget[] = (bySource.get(job.source) ?? []).flatMap((c) =>
          linkTargets(c, proxyPath),
        );
        linking = linking.then(async () => {
          resolve.links.push(
            ...(await linkProxies(resolve.bridge, targets, resolve.plan.project, note)),
          );
        });
      }
    },
    done: () => linking,
  };
}

/** The --json output: stable keys a script or an editor panel can rely on. */
export function jsonSummary(
  response: EnqueueResponse,
  state: BatchState,
  skipped: readonly SkipNote[],
  waited: boolean,
  links?: readonly LinkOutcome[],
) {
  const t = tally(state);
  return {
    batch: response.batch.id,
    preset: response.batch.preset,
    label: response.batch.label,
    waited,
    deduplicated: response.deduplicated,
    counts: {
      total: t.total,
      completed: t.completed,
      reused: t.reused,
      failed: t.failed,
      gone: t.gone,
      unfinished: t.total - t.completed - t.failed - t.gone,
    },
    jobs: state.jobs.map((j) => ({
      id: j.id,
      source: j.source,
      state: j.state,
      proxyPath: j.proxyPath,
      farmSource: j.farmSource ?? j.source,
      farmProxyPath: j.farmProxyPath ?? j.proxyPath,
      // The preset the proxy was made with, and the encoding.rules entry that chose it; a
      // completed event carries them in its result only.
      preset: j.result?.preset ?? j.preset,
      rule: j.result?.rule ?? j.rule ?? null,
      reused: j.result ? j.result.reused : null,
      error: j.error,
      ...(j.chunks && { chunks: j.chunks }),
    })),
    skipped,
    ...(links && { links }),
  };
}
