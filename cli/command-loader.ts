import type { Command } from 'commander';
import type { CliContext } from './context.ts';

type CommandFactory = (ctx: CliContext) => Command;

/**
 * Each command's module, imported only when that command runs: a command pulls in what it
 * needs (BullMQ for `work`, the Docker client for `up`...), and every command a person types
 * would otherwise pay for all of them at start.
 */
export const COMMANDS: Readonly<Record<string, () => Promise<CommandFactory>>> = {
  queue: async () => (await import('./commands/queue.ts')).queueCommand,
  up: async () => (await import('./commands/up.ts')).upCommand,
  work: async () => (await import('./commands/work.ts')).workCommand,
  status: async () => (await import('./commands/status.ts')).statusCommand,
  mon: async () => (await import('./commands/mon.ts')).monCommand,
  purge: async () => (await import('./commands/purge.ts')).purgeCommand,
  config: async () => (await import('./commands/config.ts')).configCommand,
  demo: async () => (await import('./commands/demo.ts')).demoCommand,
  doctor: async () => (await import('./commands/doctor.ts')).doctorCommand,
  link: async () => (await import('./commands/link.ts')).linkCommand,
  unlink: async () => (await import('./commands/unlink.ts')).unlinkCommand,
  presets: async () => (await import('./commands/presets.ts')).presetsCommand,
};

/** Options of the program itself; none takes a value. */
const PROGRAM_FLAGS = new Set(['--verbose', '--version', '-V', '--help', '-h']);

/**
 * Which commands the arguments (after node and the script) need defined: the one named, or
 * every one when the program's help, an unknown name (for commander's "did you mean") or no
 * name at all is asked for; none for the version alone. Pure.
 */
export function commandsNeeded(args: readonly string[]): string[] {
  const words = args.filter((a) => !PROGRAM_FLAGS.has(a));
  const first = words[0];
  if (first === undefined) {
    const versionOnly = args.some((a) => a === '--version' || a === '-V');
    return versionOnly ? [] : Object.keys(COMMANDS);
  }
  const named = first === 'help' ? words[1] : first;
  if (named !== undefined && Object.hasOwn(COMMANDS, named)) return [named];
  return Object.keys(COMMANDS);
}
