import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { MediaError } from '../errors.ts';
import type { SourceRef } from '../job/contract.ts';

/** What a path is when it is not a regular file, in words. Pure. */
export function fileKindOf(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Whether a source still is what was queued: same size, and a modification time within
 * `toleranceSec` (SMB and FAT round it, so the farm's view of the file may differ a little from
 * the editor's). Pure.
 */
export function sameAsQueued(
  source: Pick<SourceRef, 'size' | 'mtimeMs'>,
  st: Pick<Stats, 'size' | 'mtimeMs'>,
  toleranceSec = 0,
): boolean {
  if (st.size !== source.size) return false;
  const apart = Math.abs(Math.trunc(st.mtimeMs) - Math.trunc(source.mtimeMs));
  return apart <= toleranceSec * 1000;
}

/**
 * The source must be a regular file (a FIFO or device would block ffprobe for ever) of the size
 * and modification time it was queued with. `when` says whether this is before or after the
 * encode, for the message; `mtimeToleranceSec` is paths.mtime_tolerance_seconds. Never touches
 * the file's contents.
 */
export async function checkSourceFile(
  source: Pick<SourceRef, 'path' | 'size' | 'mtimeMs'>,
  when: 'before' | 'after',
  mtimeToleranceSec = 0,
): Promise<void> {
  const st = await stat(source.path).catch(() => undefined);
  if (!st) {
    throw new MediaError(
      'SOURCE_MISSING',
      when === 'before'
        ? `source file ${source.path} does not exist on this worker`
        : `source file ${source.path} disappeared while it was encoded; no proxy was written`,
      'check the media is mounted at the same path on every worker, then queue it again',
    );
  }
  if (!st.isFile()) {
    throw new MediaError(
      'SOURCE_NOT_REGULAR',
      `source ${source.path} is ${fileKindOf(st)}, not a regular file`,
      'queue the media file itself; pipes, devices and folders cannot be proxied',
    );
  }
  if (!sameAsQueued(source, st, mtimeToleranceSec)) {
    throw new MediaError(
      'SOURCE_CHANGED',
      when === 'before'
        ? `source file ${source.path} changed since it was queued`
        : `source file ${source.path} changed while it was encoded; no proxy was written`,
      'wait until the copy has finished, then queue it again',
    );
  }
}
