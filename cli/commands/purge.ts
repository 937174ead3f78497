import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import type { CliContext } from '../context.ts';
import { parseOptions } from '../options.ts';
import { gatewayClientFor } from '../gateway-client.ts';
import { terminalText } from '../terminal-text.ts';

const optionsSchema = z.object({ yes: z.boolean().default(false) });

export function purgeCommand(ctx: CliContext): Command {
  return new Command('purge')
    .description('remove jobs still waiting (running jobs finish)')
    .option('-y, --yes', 'do not ask for confirmation')
    .action((opts: unknown, cmd: Command) => ctx.run(cmd, () => runPurge(ctx, opts)));
}

async function runPurge(ctx: CliContext, raw: unknown): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'purge');
  const { loaded } = ctx.load();
  const client = gatewayClientFor(loaded.config);
  if (!opts.yes) {
    const { stdin, stdout } = ctx.io;
    if (!stdin.isTTY || !stdout.isTTY) {
      throw new InputError(
        'CONFIRMATION_NEEDED',
        'purge removes every waiting job and needs confirmation',
        'run it at a terminal, or pass --yes',
      );
    }
    const status = await client.status();
    const rl = createInterface({
      input: stdin,
      output: stdout as NodeJS.WritableStream,
    });
    let answer: string;
    try {
      answer = await rl.question(
        `remove ${status.counts.waiting} waiting job${status.counts.waiting === 1 ? '' : 's'} from queue ${terminalText(status.queue)}? [y/N] `,
      );
    } finally {
      rl.close();
    }
    if (!/^y(es)?$/i.test(answer.trim())) {
      stdout.write('nothing removed\n');
      return 1;
    }
  }
  const { removed } = await client.purge();
  ctx.io.stdout.write(`removed ${removed} waiting job${removed === 1 ? '' : 's'}\n`);
  return 0;
}
