import { Command } from 'commander';
import { PROXIMA_VERSION } from '../core/version.ts';
import { COMMANDS, commandsNeeded } from './command-loader.ts';
import { createContext, type CliContext, type ContextDeps } from './context.ts';
import { printError } from './print-error.ts';

export async function buildProgram(ctx: CliContext, argv: readonly string[]): Promise<Command> {
  const program = new Command('proxima')
    .description('all-intra editing proxies for DaVinci Resolve, encoded on every free machine')
    .version(PROXIMA_VERSION)
    .option('--verbose', 'debug logging')
    .showHelpAfterError()
    .exitOverride();
  // Listed in this order in the help, whichever are loaded.
  const factories = await Promise.all(
    commandsNeeded(argv.slice(2)).map((name) => COMMANDS[name]!()),
  );
  for (const factory of factories) program.addCommand(factory(ctx));
  // Usage errors of subcommands go through the same exit path as the program's own.
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

async function contextDeps(argv: readonly string[]): Promise<ContextDeps> {
  if (commandsNeeded(argv.slice(2)).length > 0) {
    const [config, log] = await Promise.all([
      import('../core/config/load.ts'),
      import('../core/log.ts'),
    ]);
    return { loadConfig: config.loadConfig, createLogger: log.createLogger };
  }
  const none = (): never => {
    throw new Error('no command is loaded to need the config');
  };
  return { loadConfig: none, createLogger: none };
}

const ctx = createContext(
  { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
  await contextDeps(process.argv),
);
try {
  await (await buildProgram(ctx, process.argv)).parseAsync(process.argv);
} catch (err) {
  ctx.exitCode = printError(err, process.stderr, ctx.verbose || process.argv.includes('--verbose'));
}
// Open handles (sockets, timers) must not keep a finished command alive; flush stdout first.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(ctx.exitCode);
