import { stat } from 'node:fs/promises';

/**
 * A key that changes whenever the file at this path is replaced or rewritten (path, size and
 * modification time), for keeping what was learnt of it; undefined when it cannot be read.
 */
export async function fileVersion(
  file: string,
  statFile: (f: string) => Promise<{ size: number; mtimeMs: number }> = stat,
): Promise<string | undefined> {
  const st = await statFile(file).catch(() => undefined);
  return st ? `${file}\0${st.size}\0${st.mtimeMs}` : undefined;
}
