import { createHash, randomBytes } from 'node:crypto';

/**
 * A proxy is written to `.<stem>.<jobId>.<32 hex>.partial` beside its final name: hidden from
 * editing apps, tied to its job so a later attempt can tell whether it is still being written,
 * and unguessable, so nobody can plant a link at it before ffmpeg opens it. Pure.
 */
const TEMP_RE = /^\.(.+)\.([A-Za-z0-9_-]{1,200}|=[0-9a-f]{16})\.([0-9a-f]{32})\.partial$/;

/** How long a temp file may go unmodified before any attempt may remove it: ffmpeg writes often. */
export const STALE_TEMP_MS = 10 * 60 * 1000;

export interface TempName {
  stem: string;
  /** The job that writes it; undefined when its id had to be hashed to fit a file name. */
  jobId: string | undefined;
}

export function tempNameFor(
  stem: string,
  jobId: string,
  random: string = randomBytes(16).toString('hex'),
): string {
  return `.${stem}.${fileSafeJobId(jobId)}.${random}.partial`;
}

/** BullMQ ids are usually file-safe already (px-<hex>); anything else is hashed. */
function fileSafeJobId(jobId: string): string {
  if (/^[A-Za-z0-9_-]{1,200}$/.test(jobId)) return jobId;
  return `=${createHash('sha256').update(jobId).digest('hex').slice(0, 16)}`;
}

export function parseTempName(name: string): TempName | undefined {
  const m = TEMP_RE.exec(name);
  if (!m) return undefined;
  return { stem: m[1]!, jobId: m[2]!.startsWith('=') ? undefined : m[2]! };
}

export interface TempFacts {
  name: string;
  mtimeMs: number;
  /** Whether the job that wrote it is active now; undefined when unknown. */
  jobActive: boolean | undefined;
}

export interface SweeperFacts {
  nowMs: number;
  /** The sweeper's own temp file, never stale. */
  keep?: string;
  /**
   * The job the sweeper holds the lock of, checked just before: any other temp file of that job
   * is from an attempt that lost its lock (killed, or cut off) and can never be renamed.
   */
  lockedJob?: string;
  maxAgeMs?: number;
}

export type StaleReason =
  'unmodified too long' | 'its job is no longer active' | 'an attempt that lost its lock';

/**
 * Whether a temp file found beside a proxy is left over from a dead or finished attempt.
 * A file of this naming scheme only.
 */
export function staleReason(t: TempFacts, s: SweeperFacts): StaleReason | undefined {
  const parsed = parseTempName(t.name);
  if (t.name === s.keep || !parsed) return undefined;
  if (s.nowMs - t.mtimeMs > (s.maxAgeMs ?? STALE_TEMP_MS)) return 'unmodified too long';
  if (s.lockedJob !== undefined && parsed.jobId === s.lockedJob) {
    return 'an attempt that lost its lock';
  }
  if (t.jobActive === false) return 'its job is no longer active';
  return undefined;
}

/**
 * A clip's encoded chunk, kept beside its proxy until the clip is joined:
 * `.<stem>.<clipId>.<start>+<frames>.chunk.mov`. Named by its frame range rather than by attempt,
 * so a chunk encoded and verified before a restart is found and not encoded again; hidden like a
 * temp file, and never matched by the temp-file sweep, since its chunk job ended long before the
 * clip is joined.
 */
const CHUNK_RE = /^\.(.+)\.([A-Za-z0-9_-]{1,200}|=[0-9a-f]{16})\.(\d+)\+(\d+)\.chunk\.mov$/;

export function chunkFileName(stem: string, clipId: string, start: number, frames: number): string {
  return `.${stem}.${fileSafeJobId(clipId)}.${start}+${frames}.chunk.mov`;
}

export interface ChunkFileName {
  stem: string;
  /** The clip's job; undefined when its id had to be hashed. */
  clipId: string | undefined;
  start: number;
  frames: number;
}

export function parseChunkFileName(name: string): ChunkFileName | undefined {
  const m = CHUNK_RE.exec(name);
  if (!m) return undefined;
  return {
    stem: m[1]!,
    clipId: m[2]!.startsWith('=') ? undefined : m[2]!,
    start: Number(m[3]),
    frames: Number(m[4]),
  };
}

/** The concat list a clip's join reads: `.<stem>.<clipId>.chunks.txt`. */
export function chunkListName(stem: string, clipId: string): string {
  return `.${stem}.${fileSafeJobId(clipId)}.chunks.txt`;
}
