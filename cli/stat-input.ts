import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { InputError } from '../core/errors.ts';
import { fileKindOf } from '../core/paths/source-file.ts';

export interface StatInputOptions {
  /**
   * What to do with a FIFO, socket or device: refuse it (reading one blocks for ever), or return
   * its stats so the caller can skip it with a note.
   */
  special?: 'refuse' | 'return';
}

/**
 * stat() of a path the user gave, failing with one line that names it as they wrote it
 * (`shown`): `<what> <path> does not exist`, `... cannot be read (EACCES)` or `... is a FIFO`.
 */
export async function statInput(
  file: string,
  what: string,
  code: string,
  shown: string = file,
  options: StatInputOptions = {},
): Promise<Stats> {
  let st: Stats;
  try {
    st = await stat(file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code;
    throw new InputError(
      code,
      reason === 'ENOENT'
        ? `${what} ${shown} does not exist`
        : `${what} ${shown} cannot be read (${reason ?? 'error'})`,
      'check the path; quote paths with spaces',
    );
  }
  if (!st.isFile() && !st.isDirectory() && (options.special ?? 'refuse') === 'refuse') {
    throw new InputError(
      'NOT_A_REGULAR_FILE',
      `${what} ${shown} is ${fileKindOf(st)}, not a regular file`,
      'give the file itself; pipes, sockets and devices cannot be read as media or timelines',
    );
  }
  return st;
}
