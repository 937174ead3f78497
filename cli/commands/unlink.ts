import { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.ts';
import { parseOptions, repeatable } from '../options.ts';
import { bridgeFor } from '../resolve/open-from-context.ts';

const optionsSchema = z.object({ timeline: z.array(z.string().min(1)).default([]) });

export function unlinkCommand(ctx: CliContext): Command {
  return new Command('unlink')
    .description("remove the proxy links of the clips of Resolve's timeline")
    .option(
      '--timeline <name>',
      'a timeline by name (repeatable; default: the open one)',
      repeatable,
      [],
    )
    .action((opts: unknown, cmd: Command) => ctx.run(cmd, () => runUnlink(ctx, opts)));
}

async function runUnlink(ctx: CliContext, raw: unknown): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'unlink');
  const out = ctx.io.stdout;
  const bridge = await bridgeFor(ctx);
  try {
    const timelines =
      opts.timeline.length > 0
        ? await Promise.all(opts.timeline.map((n) => bridge.readTimeline(n)))
        : [await bridge.readTimeline()];
    const seen = new Set<string>();
    let unlinked = 0;
    let failed = 0;
    for (const t of timelines) {
      for (const track of t.videoTracks) {
        for (const item of track.items) {
          const clip = item.clip;
          if (!clip || seen.has(clip.mediaId) || !clip.properties['Proxy Media Path']) continue;
          seen.add(clip.mediaId);
          if (await bridge.unlink(clip.mediaId, t.project)) {
            unlinked++;
            out.write(`unlinked  ${clip.name}\n`);
          } else {
            failed++;
            out.write(`not unlinked ${clip.name}: Resolve refused\n`);
          }
        }
      }
    }
    out.write(`unlinked ${unlinked}, not unlinked ${failed}\n`);
    return failed > 0 ? 1 : 0;
  } finally {
    await bridge.close();
  }
}
