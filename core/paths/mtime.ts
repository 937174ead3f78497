/**
 * Modification times as SMB and FAT report them: FAT keeps even seconds, SMB clients round or
 * truncate to the second, so one file shows slightly different times on different machines.
 * paths.mtime_tolerance_seconds says how far apart two times may be and still be one. Pure.
 */

/** Whether two modification times (epoch ms) are one; 0 s tolerance compares whole ms. */
export function sameMtime(aMs: number, bMs: number, toleranceSec: number): boolean {
  if (toleranceSec <= 0) return Math.trunc(aMs) === Math.trunc(bMs);
  return Math.abs(aMs - bMs) <= toleranceSec * 1000;
}

/**
 * The tolerance window a modification time falls in, for a job's identity: times a rounding
 * apart mostly share a window (two times either side of a window's edge do not, and are then
 * encoded once more, never mixed up).
 */
export function mtimeWindow(mtimeMs: number, toleranceSec: number): number {
  if (toleranceSec <= 0) return Math.trunc(mtimeMs);
  return Math.floor(mtimeMs / (toleranceSec * 1000));
}
