import type { UpdateCheck } from '../core/update/update-check.ts';
import type { OutputStream } from './progress/progress-view.ts';

/** At the end of a command: the notice if the registry's answer came in time, else nothing. */
export function printUpdateNotice(check: UpdateCheck, stderr: OutputStream): void {
  const line = check.notice();
  if (line) stderr.write(`${line}\n`);
}
