import { Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import type { BatchView, JobView, ResolveLinks } from '../../core/job/contract.ts';
import type { CliContext } from '../context.ts';
import { gatewayClientFor, type GatewayClient } from '../gateway-client.ts';
import { parseOptions, repeatable } from '../options.ts';
import { proxyFinder } from '../resolve/find-proxies.ts';
import { countFailed, linkProxies, linkTargets, type LinkTarget } from '../resolve/link-proxies.ts';
import { bridgeFor } from '../resolve/open-from-context.ts';
import { planFromResolve } from '../sources/resolve-sources.ts';
import { terminalText } from '../terminal-text.ts';

const optionsSchema = z
  .object({
    batch: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,100}$/, 'a batch id as `queue` printed it')
      .optional(),
    timeline: z.array(z.string().min(1)).default([]),
    scan: z.boolean().default(false),
  })
  .refine((o) => !(o.scan && o.batch), {
    path: ['batch'],
    message: 'either --batch or --scan, not both',
  });

type LinkOptions = z.output<typeof optionsSchema>;

export function linkCommand(ctx: CliContext): Command {
  return new Command('link')
    .description('link finished proxies to the clips of DaVinci Resolve they were made for')
    .option(
      '--batch <id>',
      'the batch whose proxies to link (default: the newest queued from Resolve)',
    )
    .option(
      '--timeline <name>',
      'only the clips of this timeline (repeatable; with --scan, default: the open one)',
      repeatable,
      [],
    )
    .option('--scan', "find proxies on disk (by paths.layout) for the timeline's clips instead")
    .action((opts: unknown, cmd: Command) => ctx.run(cmd, () => runLink(ctx, opts)));
}

/** Lines for the terminal: clip, project and timeline names are the user's, escaped. */
function sayTo(ctx: CliContext): (line: string) => void {
  return (line) => ctx.io.stdout.write(`${terminalText(line)}\n`);
}

async function runLink(ctx: CliContext, raw: unknown): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'link');
  return opts.scan ? linkScanned(ctx, opts) : linkBatch(ctx, opts);
}

/** From the batch record the gateway keeps: which clip each job's proxy is for. */
async function linkBatch(ctx: CliContext, opts: LinkOptions): Promise<number> {
  const { config } = ctx.load().loaded;
  const say = sayTo(ctx);
  const batch = await resolveBatch(gatewayClientFor(config), opts.batch, opts.timeline);
  const links = batch.resolve!;
  const clips =
    opts.timeline.length === 0
      ? links.clips
      : links.clips.filter((c) => c.timelines.some((t) => opts.timeline.includes(t)));
  const jobs = new Map(batch.jobs.map((j) => [j.id, j]));
  const targets: LinkTarget[] = [];
  const notReady: string[] = [];
  for (const c of clips) {
    const job = c.jobId === null ? undefined : jobs.get(c.jobId);
    // The job view's proxyPath, not its result's: that is where the farm wrote it, this is
    // where the editor's machine (and Resolve) sees it.
    const proxyPath =
      c.proxyPath ?? (job?.state === 'completed' && job.result ? job.proxyPath : null);
    if (proxyPath) targets.push({ mediaId: c.mediaId, name: c.name, proxyPath });
    else notReady.push(`not ready  ${c.name}: ${notDone(job)}`);
  }
  say(
    `batch ${batch.id}: project ${links.project}, ${links.timelines.join(', ')}: ${targets.length} to link${notReady.length ? `, ${notReady.length} without a proxy yet` : ''}`,
  );
  for (const line of notReady) say(line);

  const bridge = await bridgeFor(ctx);
  try {
    const open = (await bridge.hello()).project;
    if (open !== links.project) {
      throw new InputError(
        'PROJECT_CHANGED',
        `batch ${batch.id} was queued from project ${JSON.stringify(links.project)}, but ${open === null ? 'no project' : JSON.stringify(open)} is open in Resolve`,
        `open ${JSON.stringify(links.project)} in Resolve, then run \`proxima link\` again`,
      );
    }
    const outcomes = await linkProxies(bridge, targets, links.project, say);
    const failed = countFailed(outcomes);
    say(`linked ${outcomes.length - failed}, not linked ${failed + notReady.length}`);
    return failed + notReady.length > 0 ? 1 : 0;
  } finally {
    await bridge.close();
  }
}

/** The batch named, or the newest one queued from Resolve (for one of the timelines given). */
async function resolveBatch(
  client: GatewayClient,
  id: string | undefined,
  timelines: readonly string[],
): Promise<BatchView & { resolve: ResolveLinks }> {
  const scanHint = 'use `proxima link --scan` to find proxies on disk by paths.layout';
  if (id !== undefined) {
    const batch = await client.batch(id);
    if (!batch.resolve) {
      throw new InputError(
        'NOT_FROM_RESOLVE',
        `batch ${id} was not queued from Resolve, so it does not say which clips its proxies are for`,
        scanHint,
      );
    }
    return { ...batch, resolve: batch.resolve };
  }
  const { batches } = await client.batches(100);
  const found = batches.find(
    (b) =>
      b.resolve &&
      (timelines.length === 0 || b.resolve.timelines.some((t) => timelines.includes(t))),
  );
  if (!found) {
    throw new InputError(
      'NO_BATCH',
      `no recent batch was queued from Resolve${timelines.length ? ` for ${timelines.join(', ')}` : ''}`,
      `queue the timeline with \`proxima queue --resolve\` (batches are kept for broker.result_expires), or ${scanHint}`,
    );
  }
  return resolveBatch(client, found.id, []);
}

function notDone(job: JobView | undefined): string {
  if (!job || job.state === 'unknown') return 'its job is gone (purged or expired); queue it again';
  if (job.state === 'failed') return `its job failed (${job.error?.message ?? 'no reason given'})`;
  if (job.state === 'completed') return 'its job reported no proxy';
  return `its job is ${job.state === 'active' ? 'running' : 'waiting'}; link again when it is done`;
}

/** Without a batch: the timeline's clips that have no online proxy, matched to files on disk. */
async function linkScanned(ctx: CliContext, opts: LinkOptions): Promise<number> {
  const { config } = ctx.load().loaded;
  const say = sayTo(ctx);
  const bridge = await bridgeFor(ctx);
  try {
    // --reencode puts every clip without an online proxy among the candidates.
    const { plan, project, timelines, offline } = await planFromResolve(
      bridge,
      { current: opts.timeline.length === 0, names: opts.timeline, all: false },
      config,
      { force: false, reencode: true },
    );
    const find = proxyFinder(config.paths.proxy_root, config.paths.mappings, config.paths.layout);
    const targets: LinkTarget[] = [];
    const missing: string[] = [];
    // Offline sources count too: linking proxies is how one cuts without the camera files.
    for (const c of [...plan.encode, ...offline]) {
      const found = find(c.path);
      if (found.length === 1) targets.push(...linkTargets(c, found[0]));
      else if (found.length > 1) {
        missing.push(`${c.name} (${found.length} proxies share its name: ${found.join(', ')})`);
      } else missing.push(c.name);
    }
    say(`resolve: project ${project}, ${timelines.join(', ')}: ${targets.length} to link`);
    for (const name of missing) say(`note: no proxy found for ${name}`);
    const outcomes = await linkProxies(bridge, targets, project, say);
    const failed = countFailed(outcomes);
    say(`linked ${outcomes.length - failed}, not linked ${failed}`);
    return failed > 0 ? 1 : 0;
  } finally {
    await bridge.close();
  }
}
