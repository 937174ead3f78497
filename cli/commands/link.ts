import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import type { CliContext } from '../context.ts';
import { gatewayClientFor } from '../gateway-client.ts';
import { parseOptions, repeatable } from '../options.ts';
import type { ResolveBridge } from '../resolve/bridge-client.ts';
import { proxiesByStem } from '../resolve/find-proxies.ts';
import { linkProxies, type LinkTarget } from '../resolve/link-proxies.ts';
import { bridgeFor } from '../resolve/open-from-context.ts';
import { planFromResolve } from '../sources/resolve-sources.ts';

const optionsSchema = z.object({
  batch: z.string().min(1).optional(),
  timeline: z.array(z.string().min(1)).default([]),
  scan: z.boolean().default(false),
});

export function linkCommand(ctx: CliContext): Command {
  return new Command('link')
    .description("link finished proxies to the clips of Resolve's timeline")
    .option('--batch <id>', 'the batch whose proxies to link (default: the newest)')
    .option(
      '--timeline <name>',
      'a timeline by name (repeatable; default: the open one)',
      repeatable,
      [],
    )
    .option('--scan', 'find the proxies under paths.proxy_root instead of in a batch')
    .action((opts: unknown, cmd: Command) => ctx.run(cmd, () => runLink(ctx, opts)));
}

async function runLink(ctx: CliContext, raw: unknown): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'link');
  const { config } = ctx.load().loaded;
  const out = ctx.io.stdout;
  const bridge: ResolveBridge = await bridgeFor(ctx);
  try {
    // Every clip that has no online proxy linked is a candidate.
    const { plan, project, timelines } = await planFromResolve(
      bridge,
      { current: opts.timeline.length === 0, names: opts.timeline, all: false },
      config,
      { force: false, reencode: true },
    );
    const candidates = plan.encode;
    const targets: LinkTarget[] = [];
    const missing: string[] = [];
    if (opts.scan) {
      const byStem = proxiesByStem(config.paths.proxy_root);
      for (const c of candidates) {
        const stem = c.name.replace(/\.[^.]+$/, '');
        const found = existsSync(c.proxyPath) ? [c.proxyPath] : (byStem.get(stem) ?? []);
        if (found.length === 1) targets.push({ ...c, proxyPath: found[0]! });
        else
          missing.push(
            found.length > 1 ? `${c.name} (${found.length} proxies share its name)` : c.name,
          );
      }
    } else {
      const client = gatewayClientFor(config);
      const id = opts.batch ?? (await client.batches(1)).batches[0]?.id;
      if (!id) {
        throw new InputError(
          'NO_BATCH',
          'no batch is recorded to link from',
          'queue the timeline first (`proxima queue --resolve`), or use `proxima link --scan`',
        );
      }
      const batch = await client.batch(id);
      const done = new Map<string, string>();
      for (const j of batch.jobs) {
        if (j.state === 'completed') done.set(j.source, j.result?.proxyPath ?? j.proxyPath);
      }
      for (const c of candidates) {
        const proxyPath = done.get(c.path);
        if (proxyPath) targets.push({ ...c, proxyPath });
      }
      out.write(`batch ${batch.id}: ${done.size} finished proxies\n`);
    }
    out.write(`resolve: project ${project}, ${timelines.join(', ')}: ${targets.length} to link\n`);
    for (const name of missing) out.write(`note: no proxy found for ${name}\n`);
    const r = await linkProxies(bridge, targets, project, out);
    out.write(`linked ${r.linked}, not linked ${r.failed}\n`);
    return r.failed > 0 ? 1 : 0;
  } finally {
    await bridge.close();
  }
}
