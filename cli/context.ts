import type { Command } from 'commander';
import type { LoadedConfig, loadConfig } from '../core/config/load.ts';
import type { createLogger, Logger } from '../core/log.ts';
import type { OutputStream } from './progress/progress-view.ts';

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface Loaded {
  loaded: LoadedConfig;
  logger: Logger;
}

/**
 * What every command gets: where to print, the config and root logger (loaded on first use, so
 * `--help` works with a broken config), and where to leave its exit code for the entry.
 */
export interface CliContext {
  readonly io: CliIo;
  exitCode: number;
  verbose: boolean;
  load(): Loaded;
  /** Runs a command body and keeps its exit code. */
  run(command: Command, body: () => Promise<number>): Promise<void>;
}

/**
 * The config loader and logger factory, passed in: the entry imports them only when a command
 * runs, so `proxima --version` does not pay for zod, yaml and pino.
 */
export interface ContextDeps {
  loadConfig: typeof loadConfig;
  createLogger: typeof createLogger;
}

export function createContext(io: CliIo, deps: ContextDeps): CliContext {
  let cached: Loaded | undefined;
  const ctx: CliContext = {
    io,
    exitCode: 0,
    verbose: false,
    load() {
      if (cached) return cached;
      const loaded = deps.loadConfig();
      const logger = deps.createLogger({ level: ctx.verbose ? 'debug' : loaded.config.log.level });
      cached = { loaded, logger };
      return cached;
    },
    async run(command, body) {
      ctx.verbose = Boolean((command.optsWithGlobals() as { verbose?: boolean }).verbose);
      ctx.exitCode = await body();
    },
  };
  return ctx;
}
