import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { InputError } from '../core/errors.ts';

/**
 * stat() of a path the user gave, failing with one line that names it as they wrote it
 * (`shown`): `<what> <path> does not exist` or `... cannot be read (EACCES)`.
 */
export async function statInput(
  file: string,
  what: string,
  code: string,
  shown: string = file,
): Promise<Stats> {
  try {
    return await stat(file);
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
}
