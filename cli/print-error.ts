import { isProximaError } from '../core/errors.ts';
import { terminalText } from './terminal-text.ts';

export interface ErrorSink {
  write(chunk: string): unknown;
}

/**
 * The one place errors reach the user: `error: <message>` and `hint: <hint>` on stderr, each one
 * line with control characters escaped (messages quote file names and the gateway's words).
 * Returns the exit code the entry should use. Unexpected errors keep their stack under --verbose,
 * because that is what a bug report needs.
 */
export function printError(err: unknown, stderr: ErrorSink, verbose = false): number {
  if (isProximaError(err)) {
    stderr.write(`error: ${terminalText(err.message)}\n`);
    if (err.hint) stderr.write(`hint: ${terminalText(err.hint)}\n`);
    return err.exitCode;
  }
  if (isCommanderError(err)) {
    // commander has already printed its own message (unknown option, missing argument).
    return err.exitCode === 0 ? 0 : 2;
  }
  const message = err instanceof Error ? err.message : String(err);
  stderr.write(`error: ${terminalText(message)}\n`);
  if (verbose && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`);
  else stderr.write('hint: run again with --verbose for details\n');
  return 1;
}

interface CommanderLikeError {
  code: string;
  exitCode: number;
}

function isCommanderError(err: unknown): err is CommanderLikeError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (err as { code: string }).code.startsWith('commander.') &&
    typeof (err as { exitCode?: unknown }).exitCode === 'number'
  );
}
