import { Command } from 'commander';
import {
  formatValue,
  origins,
  parseKey,
  setKey,
  unsetKey,
  valueAt,
  yamlWithOrigins,
} from '../../core/config/config-file-edit.ts';
import { DEFAULT_CONFIG_FILE } from '../../core/config/default-file.ts';
import { locateConfig } from '../../core/config/load.ts';
import type { Config } from '../../core/config/schema.ts';
import { redactUrl } from '../../core/secrets/redact.ts';
import type { CliContext } from '../context.ts';
import { editCommand } from './config-edit.ts';
import { backUp, readConfigText, writeConfigText } from './config-file.ts';

export function configCommand(ctx: CliContext): Command {
  const config = new Command('config').description(
    'where the config file is, its values, a check; get, set, unset, edit, reset',
  );
  config
    .command('path')
    .description('print the config file path')
    .action((_opts: unknown, cmd: Command) =>
      ctx.run(cmd, async () => {
        ctx.io.stdout.write(`${ctx.load().loaded.file}\n`);
        return 0;
      }),
    );
  config
    .command('show')
    .description('print the effective config as YAML, each value marked default, file or env')
    .action((_opts: unknown, cmd: Command) =>
      ctx.run(cmd, async () => {
        const { loaded } = ctx.load();
        const from = origins(readConfigText(loaded.file), loaded.envOverrides);
        ctx.io.stdout.write(`# ${loaded.file}\n${yamlWithOrigins(redacted(loaded.config), from)}`);
        return 0;
      }),
    );
  config
    .command('validate')
    .description('check the config file and overrides; exit 2 when invalid')
    .action((_opts: unknown, cmd: Command) =>
      ctx.run(cmd, async () => {
        ctx.io.stdout.write(`ok: ${ctx.load().loaded.file}\n`);
        return 0;
      }),
    );
  config
    .command('get')
    .description('print the effective value of KEY (e.g. worker.concurrency)')
    .argument('<KEY>', 'SECTION.KEY, or a SECTION for all of its keys')
    .action((key: string, _opts: unknown, cmd: Command) =>
      ctx.run(cmd, async () => {
        const path = parseKey(key);
        const { config } = ctx.load().loaded;
        // A whole section is for reading, and may be pasted; a single key is for scripts.
        const value = valueAt(path.length === 1 ? redacted(config) : config, path);
        ctx.io.stdout.write(`${formatValue(value)}\n`);
        return 0;
      }),
    );
  config
    .command('set')
    .description('write KEY: VALUE to the config file once the result is valid')
    .argument('<KEY>', 'SECTION.KEY, e.g. worker.concurrency')
    .argument('<VALUE>', 'a YAML value: 2, false, text, [/a, /b]')
    .action((key: string, value: string, _opts: unknown, cmd: Command) =>
      ctx.run(cmd, async () => {
        const path = parseKey(key, { leafOnly: true });
        const { file } = locateConfig();
        writeConfigText(file, setKey(readConfigText(file), file, path, value));
        ctx.io.stdout.write(`set ${key} in ${file}\n`);
        noteOverride(ctx, key);
        return 0;
      }),
    );
  config
    .command('unset')
    .description('remove KEY from the config file, so its default applies again')
    .argument('<KEY>', 'SECTION.KEY, or a whole SECTION')
    .action((key: string, _opts: unknown, cmd: Command) =>
      ctx.run(cmd, async () => {
        const path = parseKey(key);
        const { file } = locateConfig();
        const text = readConfigText(file);
        const changed = unsetKey(text, file, path);
        if (changed === text) {
          ctx.io.stdout.write(`${key} is not in ${file}; its default applies\n`);
          return 0;
        }
        writeConfigText(file, changed);
        ctx.io.stdout.write(`removed ${key} from ${file}; its default applies\n`);
        noteOverride(ctx, key);
        return 0;
      }),
    );
  config.addCommand(editCommand(ctx));
  config
    .command('reset')
    .description('write the commented default file, keeping the old one as a dated backup')
    .action((_opts: unknown, cmd: Command) =>
      ctx.run(cmd, async () => {
        const { file } = locateConfig();
        const backup = backUp(file, new Date());
        writeConfigText(file, DEFAULT_CONFIG_FILE);
        ctx.io.stdout.write(`old file kept as ${backup}\nwrote the default config to ${file}\n`);
        return 0;
      }),
    );
  return config;
}

/** A value written to the file does nothing while a PROXIMA_ variable sets the same key. */
function noteOverride(ctx: CliContext, key: string): void {
  let overrides: Record<string, string>;
  try {
    overrides = ctx.load().loaded.envOverrides;
  } catch {
    return;
  }
  for (const [overridden, variable] of Object.entries(overrides)) {
    if (overridden === key || overridden.startsWith(`${key}.`)) {
      ctx.io.stderr.write(`note: ${variable} is set and overrides ${overridden}\n`);
    }
  }
}

/**
 * Credentials hidden, so the output can be pasted anywhere: the token shows only that it is set,
 * broker URLs keep everything but their password (`redis://:***@host:6379`).
 */
export function redacted(config: Config): Config {
  const copy = structuredClone(config);
  if (copy.gateway.token) copy.gateway.token = '(set, hidden)';
  copy.broker.url = redactUrl(copy.broker.url);
  copy.docker.broker_url = redactUrl(copy.docker.broker_url);
  return copy;
}
