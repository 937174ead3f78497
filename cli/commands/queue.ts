import { Command } from 'commander';
import { z } from 'zod';
import { existsSync } from 'node:fs';
import { InputError } from '../../core/errors.ts';
import { presetNameSchema, type EnqueueResponse, type JobView } from '../../core/job/contract.ts';
import { PROTOCOL_VERSION } from '../../core/version.ts';
import type { CliContext } from '../context.ts';
import { gatewayClientFor } from '../gateway-client.ts';
import { Interrupted, onInterrupt, signalExitCode } from '../interrupt.ts';
import { parseOptions, repeatable } from '../options.ts';
import {
  stateChanges,
  stateFromSnapshot,
  succeeded,
  tally,
  type BatchState,
} from '../progress/batch-state.ts';
import type { ResolveBridge } from '../resolve/bridge-client.ts';
import { bridgeFor } from '../resolve/open-from-context.ts';
import { linkProxies } from '../resolve/link-proxies.ts';
import { pickTimelines } from '../resolve/pick-timelines.ts';
import { planLine } from '../resolve/select-clips.ts';
import { planFromResolve, type ResolvePlan } from '../sources/resolve-sources.ts';
import { followBatch, printSummary } from '../progress/follow-batch.ts';
import {
  scanSources,
  skipNoteLines,
  summarizeSkipped,
  type SkipNote,
} from '../sources/scan-sources.ts';

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
        'give files or folders, --resolve, --timeline NAME, --all-timelines or --timeline-file FILE',
    },
  );

type QueueOptions = z.output<typeof optionsSchema>;

export function queueCommand(ctx: CliContext): Command {
  return new Command('queue')
    .description('queue files and folders for proxies, then show progress and a summary')
    .argument('[paths...]', 'files and folders (folders are walked recursively)')
    .option('--preset <name>', 'prores-proxy or dnxhr-lb (default: encoding.preset)')
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
    .option('--reencode', 'encode even when a proxy is already on disk (else it is linked)')
    .option('--dry-run', 'show the plan and stop')
    .action((paths: string[], opts: Record<string, unknown>, cmd: Command) =>
      ctx.run(cmd, () => runQueue(ctx, { ...opts, paths })),
    );
}

export async function runQueue(ctx: CliContext, raw: unknown): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'queue', { paths: 'PATHS' });
  const { loaded, logger } = ctx.load();
  const { config } = loaded;
  const out = ctx.io.stdout;
  const fromResolve = opts.resolve || opts.timeline.length > 0 || opts.allTimelines || opts.select;
  const note = (line: string) => {
    if (!opts.json) out.write(`${line}\n`);
  };

  const paths = [...opts.paths];
  const links = { failed: 0 };
  let resolve: { bridge: ResolveBridge; plan: ResolvePlan } | null = null;
  try {
    if (opts.timelineFile) {
      const { readTimelineFile } = await import('../timeline/read-timeline-file.ts');
      const timeline = await readTimelineFile(opts.timelineFile, { mediaRoot: opts.mediaRoot });
      note(`${timeline.file}: ${timeline.sources.length} source files (${timeline.format})`);
      for (const u of timeline.unresolved) note(`note: not found ${u.name} (${u.reason})`);
      for (const s of timeline.sources) {
        if (existsSync(s.path)) paths.push(s.path);
        else note(`note: skipped ${s.path} (media file missing)`);
      }
    }
    if (fromResolve) {
      resolve = await planResolve(ctx, opts, note);
      paths.push(...resolve.plan.plan.encode.map((c) => c.path));
      if (opts.dryRun) {
        for (const c of resolve.plan.plan.encode) note(`encode  ${c.path}`);
        for (const c of resolve.plan.plan.link) note(`link    ${c.path} -> ${c.proxyPath}`);
        return 0;
      }
      if (resolve.plan.plan.link.length > 0) {
        const r = await linkProxies(
          resolve.bridge,
          resolve.plan.plan.link,
          resolve.plan.project,
          out,
        );
        links.failed += r.failed;
      }
      if (paths.length === 0) {
        note('nothing to encode');
        return links.failed > 0 ? 1 : 0;
      }
    }
    if (opts.dryRun) {
      for (const p of paths) note(`encode  ${p}`);
      return 0;
    }
    const code = await queuePaths(ctx, opts, paths, resolve, links);
    return links.failed > 0 ? Math.max(code, 1) : code;
  } finally {
    await resolve?.bridge.close();
  }

  async function planResolve(
    c: CliContext,
    o: QueueOptions,
    say: (line: string) => void,
  ): Promise<{ bridge: ResolveBridge; plan: ResolvePlan }> {
    const { loaded: l } = c.load();
    const bridge = await bridgeFor(c);
    try {
      const picked = o.select ? await pickTimelines(bridge, c.io.stdin, c.io.stdout) : null;
      const plan = await planFromResolve(
        bridge,
        picked
          ? { current: false, names: picked.names, all: false, tracks: picked.tracks }
          : { current: o.resolve, names: o.timeline, all: o.allTimelines },
        l.config,
        { force: o.force, reencode: o.reencode },
      );
      say(
        `resolve: project ${plan.project}, timeline${plan.timelines.length === 1 ? '' : 's'} ${plan.timelines.join(', ')}`,
      );
      say(planLine(plan.plan));
      if (plan.compound && 'found' in plan.compound) {
        say(`compound clips: ${plan.compound.found} clips inside them, read from an FCPXML export`);
      } else if (plan.compound) {
        say(
          `note: the clips inside compound clips were not read (${plan.compound.error}); queue them with --timeline-file on an FCPXML export of the timeline`,
        );
      }
      for (const o2 of plan.offline) say(`note: skipped ${o2.path} (media offline)`);
      return { bridge, plan };
    } catch (err) {
      await bridge.close();
      throw err;
    }
  }
}

async function queuePaths(
  ctx: CliContext,
  opts: QueueOptions,
  paths: string[],
  resolve: { bridge: ResolveBridge; plan: ResolvePlan } | null,
  links: { failed: number },
): Promise<number> {
  const { loaded, logger } = ctx.load();
  const { config } = loaded;
  const out = ctx.io.stdout;
  const scan = await scanSources(paths, {
    extensions: config.filters.extensions,
    proxyRoot: config.paths.proxy_root,
  });
  if (!opts.json) for (const line of skipNoteLines(scan.skipped)) out.write(`${line}\n`);
  if (scan.sources.length === 0) {
    throw new InputError(
      'NOTHING_TO_QUEUE',
      `no video files in ${paths.join(', ')}${scan.skipped.length ? ` (${summarizeSkipped(scan.skipped)})` : ''}`,
      'queue files whose extension is in filters.extensions (see `proxima config show`)',
    );
  }

  const client = gatewayClientFor(config);
  const response = await client.enqueue({
    v: PROTOCOL_VERSION,
    preset: opts.preset,
    sources: scan.sources,
    label: opts.label ?? (resolve ? resolve.plan.timelines.join(', ') : undefined),
  });
  const { batch } = response;
  logger.debug({ batch: batch.id, jobs: batch.jobs.length }, 'queued');

  const wait = opts.wait ?? (opts.json || Boolean(out.isTTY));
  if (!opts.json) {
    out.write(
      `queued ${batch.jobs.length} file${batch.jobs.length === 1 ? '' : 's'} as batch ${batch.id} (${batch.preset}${response.deduplicated ? `, ${response.deduplicated} already queued or done` : ''})\n`,
    );
  }
  if (!wait) {
    if (opts.json)
      out.write(
        `${JSON.stringify(jsonSummary(response, stateFromSnapshot(batch), scan.skipped, false), null, 2)}\n`,
      );
    else {
      out.write('not waiting; `proxima status` shows the queue\n');
      if (resolve) out.write('run `proxima link` when it is done to link the proxies in Resolve\n');
    }
    return 0;
  }

  const interrupt = onInterrupt();
  let state: BatchState;
  try {
    // Each proxy is linked as soon as its job succeeds, so the editor sees them appear.
    const seen = new Map<string, JobView['state']>();
    let linking = Promise.resolve();
    const onState = resolve
      ? (s: BatchState) => {
          for (const job of stateChanges(seen, s)) {
            if (job.state !== 'completed' || !job.result) continue;
            const targets = resolve.plan.plan.encode
              .filter((c) => c.path === job.source)
              .map((c) => ({ mediaId: c.mediaId, name: c.name, proxyPath: job.result!.proxyPath }));
            linking = linking.then(async () => {
              const r = await linkProxies(resolve.bridge, targets, resolve.plan.project, out);
              links.failed += r.failed;
            });
          }
        }
      : undefined;
    state = await followBatch(client, response, {
      out,
      mode: opts.json ? 'silent' : out.isTTY ? 'tty' : 'plain',
      logger,
      signal: interrupt.signal,
      onState,
    });
    await linking;
  } catch (err) {
    const reason: unknown = interrupt.signal.reason;
    if (reason instanceof Interrupted) {
      ctx.io.stderr.write(
        `stopped watching batch ${batch.id}; its jobs keep running (see \`proxima status\`)\n`,
      );
      return signalExitCode(reason.signalName);
    }
    throw err;
  } finally {
    interrupt.dispose();
  }

  if (opts.json) {
    out.write(`${JSON.stringify(jsonSummary(response, state, scan.skipped, true), null, 2)}\n`);
  } else {
    printSummary(out, state, response);
  }
  return succeeded(state) ? 0 : 1;
}

/** The --json output: stable keys a script or an editor panel can rely on. */
export function jsonSummary(
  response: EnqueueResponse,
  state: BatchState,
  skipped: readonly SkipNote[],
  waited: boolean,
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
      proxyPath: j.result?.proxyPath ?? j.proxyPath,
      reused: j.result ? j.result.reused : null,
      error: j.error,
    })),
    skipped,
  };
}
