import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { ProximaError } from '../errors.ts';

/**
 * The proxy volume refused a write: full, read-only or not ours to write. Retried (space may be
 * freed, a volume remounted), unlike bad media.
 */
export class StorageError extends ProximaError {}

export type StorageProblem = 'no-space' | 'read-only';

/** Which storage problem an errno code or an ffmpeg error line means, if any. Pure. */
export function storageProblemOf(errno: string | undefined, text = ''): StorageProblem | undefined {
  if (errno === 'ENOSPC' || errno === 'EDQUOT') return 'no-space';
  if (errno === 'EROFS' || errno === 'EACCES' || errno === 'EPERM') return 'read-only';
  if (/no space left on device|disk quota exceeded/i.test(text)) return 'no-space';
  if (/read-only file system/i.test(text)) return 'read-only';
  return undefined;
}

/** 12 KiB, 1.5 MiB: free space as a person reads it. Pure. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${n} bytes`;
  return `${v >= 10 ? Math.round(v) : Math.round(v * 10) / 10} ${units[u]}`;
}

/** Bytes an unprivileged writer may still use at `dir` (or its nearest existing parent). */
export async function freeBytes(dir: string): Promise<number | undefined> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      const s = await statfs(d);
      return s.bavail * s.bsize;
    } catch {
      if (path.dirname(d) === d) return undefined;
    }
  }
}

export interface StorageContext {
  /** job.proxyRoot: what the user configured and recognises. */
  proxyRoot: string;
  /** The folder the proxy goes to, for measuring free space. */
  folder: string;
}

/**
 * Turns a failed write (an fs errno error or ffmpeg's reason line) into NO_SPACE or
 * PROXY_ROOT_READONLY naming the proxy root; undefined when it is no storage problem.
 */
export async function storageErrorFrom(
  err: unknown,
  ctx: StorageContext,
  ffmpegReason?: string,
): Promise<StorageError | undefined> {
  const e = err as NodeJS.ErrnoException | undefined;
  const errno = typeof e?.code === 'string' && e.syscall ? e.code : undefined;
  const problem = storageProblemOf(errno, ffmpegReason);
  if (problem === 'no-space') {
    const free = await freeBytes(ctx.folder);
    const left = free === undefined ? 'free space unknown' : `${formatBytes(free)} free`;
    return new StorageError(
      'NO_SPACE',
      `no space left on ${ctx.proxyRoot} (${left})`,
      `free space on ${ctx.proxyRoot}, or set paths.proxy_root to a larger volume`,
    );
  }
  if (problem === 'read-only') {
    const where = e?.path ? ` at ${e.path}` : '';
    const why = errno ?? 'read-only file system';
    return new StorageError(
      'PROXY_ROOT_READONLY',
      `proxy root ${ctx.proxyRoot} cannot be written (${why}${where})`,
      `mount ${ctx.proxyRoot} read-write and let the worker's user write there, or set paths.proxy_root`,
    );
  }
  return undefined;
}
