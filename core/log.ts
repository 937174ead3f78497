import { pino, type Logger, type LevelWithSilent, type LoggerOptions as PinoOptions } from 'pino';
import { createRequire } from 'node:module';
import type pinoPretty from 'pino-pretty';
import { redactSerializedError, redactText } from './secrets/redact.ts';
import { createStderrSink } from './stderr-sink.ts';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Human-readable lines; default: when stderr is a terminal. Services log JSON. */
  pretty?: boolean;
}

/**
 * Logs are pasted into chats and bug reports, so no broker password may reach them: an error's
 * failed command (ioredis attaches `AUTH <password>` to a refused login) and any URL with
 * credentials, in an error or in a plain field, are printed with the password hidden.
 */
export const redactingOptions: Pick<PinoOptions, 'serializers' | 'formatters' | 'hooks'> = {
  serializers: {
    err: (err: unknown) =>
      redactSerializedError(err instanceof Error ? pino.stdSerializers.err(err) : err),
    // Child bindings skip `formatters.log`; these are the fields that hold addresses.
    broker: redactValue,
    url: redactValue,
    brokerUrl: redactValue,
  },
  formatters: { log: redactFields },
  hooks: {
    logMethod(args, method) {
      const safe = args.map((a: unknown) => (typeof a === 'string' ? redactText(a) : a));
      method.apply(this, safe as Parameters<typeof method>);
    },
  },
};

function redactValue(value: unknown): unknown {
  return typeof value === 'string' ? redactText(value) : value;
}

function redactFields(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    out[key] = redactValue(value);
  }
  return out;
}

/**
 * The one root logger of a process; components take `logger.child({ component })`. Logs go to
 * stderr so stdout stays for command output (`--json`).
 */
export function createLogger(options: LoggerOptions): Logger {
  const usePretty = options.pretty ?? Boolean(process.stderr.isTTY);
  const base = { level: options.level, ...redactingOptions };
  const sink = createStderrSink();
  if (usePretty) {
    return pino(
      base,
      loadPretty()({ destination: sink.stream, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }),
    );
  }
  return pino(base, { write: sink.write });
}

/**
 * pino-pretty, loaded only for a terminal: it and its dependencies are a third of what a
 * command spends starting, and output to files and services never uses it.
 */
function loadPretty(): typeof pinoPretty {
  const require = createRequire(import.meta.url);
  return require('pino-pretty') as typeof pinoPretty;
}
