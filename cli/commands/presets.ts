import { Command } from 'commander';
import { z } from 'zod';
import { PRESET_NAME_PATTERN } from '../../core/presets/names.ts';
import type { CliContext } from '../context.ts';
import { parseOptions } from '../options.ts';

const listSchema = z.object({ json: z.boolean().default(false) });

const explainSchema = z.object({
  file: z.string().min(1, 'a file name'),
  preset: z
    .string()
    .regex(PRESET_NAME_PATTERN, 'a preset name (see `proxima presets list`)')
    .optional(),
  json: z.boolean().default(false),
});

export function presetsCommand(ctx: CliContext): Command {
  const presets = new Command('presets').description(
    'the presets and rules the config offers; which one a file gets, and the ffmpeg it runs',
  );
  presets
    .command('list')
    .description('every preset, built-in and user, with what it makes; then encoding.rules')
    .option('--json', 'print them as JSON')
    .action((opts: Record<string, unknown>, cmd: Command) =>
      ctx.run(cmd, async () => {
        const { json } = parseOptions(listSchema, opts, 'presets list');
        const { config } = ctx.load().loaded;
        const { presetEntries, ruleDescriptions } = await import('../presets/preset-table.ts');
        const { presetJson, renderList } = await import('../presets/render.ts');
        const entries = presetEntries(config);
        const rules = ruleDescriptions(config);
        ctx.io.stdout.write(
          json
            ? `${JSON.stringify(
                {
                  default: config.encoding.preset,
                  presets: entries.map(presetJson),
                  rules: rules.map((description, index) => ({ index, description })),
                },
                null,
                2,
              )}\n`
            : renderList(entries, rules),
        );
        return 0;
      }),
    );
  presets
    .command('explain')
    .description(
      'probe FILE here and show the rule, preset, proxy and ffmpeg argv a worker would use',
    )
    .argument('<file>', 'a video file')
    .option('--preset <name>', 'use this preset, as `proxima queue --preset` does')
    .option('--json', 'print it as one JSON object')
    .action((file: string, opts: Record<string, unknown>, cmd: Command) =>
      ctx.run(cmd, async () => {
        const o = parseOptions(explainSchema, { ...opts, file }, 'presets explain', {
          file: 'FILE',
        });
        const { loaded } = ctx.load();
        const { explainFile } = await import('../presets/explain.ts');
        const { explainJson, renderExplain } = await import('../presets/render.ts');
        const x = await explainFile(loaded, o.file, o.preset);
        ctx.io.stdout.write(
          o.json ? `${JSON.stringify(explainJson(x), null, 2)}\n` : renderExplain(x),
        );
        return 0;
      }),
    );
  return presets;
}
