import type { Dirent } from 'node:fs';
import { lstat, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ProximaError } from '../errors.ts';
import { parseTempName, staleReason, tempNameFor, type StaleReason } from './temp-name.ts';

export interface TempFile {
  path: string;
  /** Identity of the file created, to notice it being swapped before the rename. */
  dev: number;
  ino: number;
}

/**
 * Creates the proxy's temp file exclusively (O_CREAT|O_EXCL, so never through a planted link)
 * under a random name in `dir`; ffmpeg then writes into it with -y.
 */
export async function createTempFile(dir: string, stem: string, jobId: string): Promise<TempFile> {
  for (let tries = 0; ; tries++) {
    const file = path.join(dir, tempNameFor(stem, jobId));
    let handle;
    try {
      handle = await open(file, 'wx', 0o644);
    } catch (err) {
      // 128 random bits collide only when something is planting names: try a fresh one.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && tries < 3) continue;
      throw err;
    }
    try {
      const st = await handle.stat();
      return { path: file, dev: st.dev, ino: st.ino };
    } finally {
      await handle.close();
    }
  }
}

/** The temp file is still the regular file created for this attempt, not a link or a swap. */
export async function checkTempIntact(temp: TempFile): Promise<void> {
  const st = await lstat(temp.path).catch(() => undefined);
  if (!st?.isFile() || st.dev !== temp.dev || st.ino !== temp.ino) {
    throw new ProximaError(
      'TEMP_FILE_REPLACED',
      `the temporary proxy ${temp.path} was removed or replaced while it was written`,
      'something else writes in the proxy folder; keep other programs out of it; the job is retried',
    );
  }
}

export interface SweepOptions {
  now?: () => number;
  maxAgeMs?: number;
  /** This attempt's own temp file name, never removed. */
  keep?: string;
  /** The job whose lock the caller has just confirmed holding: its other temp files are dead. */
  lockedJob?: string;
  /** Whether a job is active now; when absent only the age of a file counts. */
  jobActive?: (jobId: string) => Promise<boolean>;
}

export interface Swept {
  path: string;
  reason: StaleReason;
}

/** Removes temp files of this naming scheme in `dir` that no live attempt is writing. */
export async function sweepStaleTemps(dir: string, opts: SweepOptions = {}): Promise<Swept[]> {
  return sweepEntries(dir, await readdir(dir, { withFileTypes: true }).catch(() => []), opts);
}

async function sweepEntries(
  dir: string,
  entries: readonly Dirent[],
  opts: SweepOptions,
): Promise<Swept[]> {
  const now = opts.now ?? Date.now;
  const swept: Swept[] = [];
  for (const e of entries) {
    const name = parseTempName(e.name);
    if (!name || !e.isFile() || e.name === opts.keep) continue;
    const file = path.join(dir, e.name);
    const st = await lstat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    const jobActive =
      name.jobId && opts.jobActive
        ? await opts.jobActive(name.jobId).catch(() => undefined)
        : undefined;
    const reason = staleReason(
      { name: e.name, mtimeMs: st.mtimeMs, jobActive },
      { nowMs: now(), keep: opts.keep, lockedJob: opts.lockedJob, maxAgeMs: opts.maxAgeMs },
    );
    if (!reason) continue;
    await rm(file, { force: true }).catch(() => undefined);
    swept.push({ path: file, reason });
  }
  return swept;
}

/**
 * Sweeps every folder below the proxy root, for a worker starting up: attempts killed before
 * their clean-up leave temp files nobody else would remove. Links are not followed.
 */
export async function sweepTempTree(root: string, opts: SweepOptions = {}): Promise<Swept[]> {
  const swept: Swept[] = [];
  const visit = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    swept.push(...(await sweepEntries(dir, entries, opts)));
    for (const e of entries) if (e.isDirectory()) await visit(path.join(dir, e.name));
  };
  await visit(path.resolve(root));
  return swept;
}
