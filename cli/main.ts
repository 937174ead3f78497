import { Command } from 'commander';
import { PROXIMA_VERSION } from '../core/version.ts';
import { configCommand } from './commands/config.ts';
import { demoCommand } from './commands/demo.ts';
import { doctorCommand } from './commands/doctor.ts';
import { linkCommand } from './commands/link.ts';
import { purgeCommand } from './commands/purge.ts';
import { queueCommand } from './commands/queue.ts';
import { statusCommand } from './commands/status.ts';
import { unlinkCommand } from './commands/unlink.ts';
import { upCommand } from './commands/up.ts';
import { workCommand } from './commands/work.ts';
import { createContext, type CliContext } from './context.ts';
import { printError } from './print-error.ts';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('proxima')
    .description('all-intra editing proxies for DaVinci Resolve, encoded on every free machine')
    .version(PROXIMA_VERSION)
    .option('--verbose', 'debug logging')
    .showHelpAfterError()
    .exitOverride();
  for (const command of [
    queueCommand(ctx),
    upCommand(ctx),
    workCommand(ctx),
    statusCommand(ctx),
    purgeCommand(ctx),
    configCommand(ctx),
    demoCommand(ctx),
    doctorCommand(ctx),
    linkCommand(ctx),
    unlinkCommand(ctx),
  ]) {
    program.addCommand(command);
  }
  // Usage errors of subcommands go through the same exit path as the program's own.
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

const ctx = createContext({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
try {
  await buildProgram(ctx).parseAsync(process.argv);
} catch (err) {
  ctx.exitCode = printError(err, process.stderr, ctx.verbose || process.argv.includes('--verbose'));
}
// Open handles (sockets, timers) must not keep a finished command alive; flush stdout first.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(ctx.exitCode);
