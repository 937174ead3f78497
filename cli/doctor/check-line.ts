import { terminalText } from '../terminal-text.ts';

export type CheckStatus = 'OK' | 'WARN' | 'FAIL';

/** One finding of `proxima doctor`: what was checked, what was found, and the fix. */
export interface CheckLine {
  status: CheckStatus;
  check: string;
  message: string;
  /** What to do about a WARN or FAIL. */
  fix?: string;
}

export const ok = (check: string, message: string): CheckLine => ({ status: 'OK', check, message });
export const warn = (check: string, message: string, fix: string): CheckLine => ({
  status: 'WARN',
  check,
  message,
  fix,
});
export const fail = (check: string, message: string, fix: string): CheckLine => ({
  status: 'FAIL',
  check,
  message,
  fix,
});

/** `FAIL proxy root: ... -> fix` on one line, control characters escaped. Pure. */
export function renderLine(line: CheckLine): string {
  const text = `${line.status.padEnd(4)} ${line.check}: ${line.message}${line.fix ? ` -> ${line.fix}` : ''}`;
  return terminalText(text);
}

/** 1 when anything failed. Pure. */
export function exitCodeOf(lines: readonly CheckLine[]): number {
  return lines.some((l) => l.status === 'FAIL') ? 1 : 0;
}
