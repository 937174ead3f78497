import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Human-readable lines; default: when stderr is a terminal. Services log JSON. */
  pretty?: boolean;
}

/**
 * The one root logger of a process; components take `logger.child({ component })`. Logs go to
 * stderr so stdout stays for command output (`--json`).
 */
export function createLogger(options: LoggerOptions): Logger {
  const usePretty = options.pretty ?? Boolean(process.stderr.isTTY);
  if (usePretty) {
    return pino(
      { level: options.level },
      pretty({ destination: 2, sync: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }),
    );
  }
  return pino({ level: options.level }, pino.destination({ dest: 2, sync: true }));
}
