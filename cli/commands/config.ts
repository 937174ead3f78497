import { Command } from 'commander';
import { stringify } from 'yaml';
import type { Config } from '../../core/config/schema.ts';
import { redactUrl } from '../../core/secrets/redact.ts';
import type { CliContext } from '../context.ts';

export function configCommand(ctx: CliContext): Command {
  const config = new Command('config').description('where the config file is, its values, a check');
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
    .description('print the effective config (file plus PROXIMA_ overrides) as YAML')
    .action((_opts: unknown, cmd: Command) =>
      ctx.run(cmd, async () => {
        const { loaded } = ctx.load();
        ctx.io.stdout.write(`# ${loaded.file}\n${stringify(redacted(loaded.config))}`);
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
  return config;
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
