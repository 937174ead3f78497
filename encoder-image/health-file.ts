import { readFileSync, statSync, writeFileSync } from 'node:fs';

/**
 * Where a running encoder leaves proof of life for the container HEALTHCHECK. /tmp is writable
 * for the unprivileged image user and private to the container.
 */
export const HEALTH_FILE = '/tmp/proxima-encoder.alive';

/** Longest gap between two refreshes before the container is reported unhealthy. */
export const HEALTH_MAX_AGE_MS = 45_000;

/**
 * Records that the worker just reached its broker, with the stalls it is going through (an
 * ffmpeg that made no progress, for a job still being retried): a worker can reach its broker
 * fine while its encodes hang, and its container must not look healthy then. Never throws: a
 * full or read-only /tmp must not take down a worker that is encoding fine; the healthcheck
 * reports it instead.
 */
export function markAlive(path: string = HEALTH_FILE, stalls: readonly string[] = []): void {
  try {
    writeFileSync(path, healthText(new Date(), stalls));
  } catch {
    // the healthcheck will notice the stale file
  }
}

/** Pure: the file's text, a timestamp line then one `stalled: ` line per stall. */
export function healthText(at: Date, stalls: readonly string[]): string {
  return `${at.toISOString()}\n${stalls.map((s) => `stalled: ${s.replace(/\n/g, ' ')}\n`).join('')}`;
}

/** Pure: the stalls named in the file's text. */
export function stallsIn(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('stalled: '))
    .map((l) => l.slice('stalled: '.length));
}

/** The health file of one worker: refreshed on every heartbeat, rewritten when its stalls change. */
export interface HealthFile {
  alive(): void;
  stalls(list: readonly string[]): void;
}

export function createHealthFile(path: string = HEALTH_FILE): HealthFile {
  let current: readonly string[] = [];
  let seen = false;
  return {
    alive() {
      seen = true;
      markAlive(path, current);
    },
    stalls(list) {
      current = [...list];
      // Before the first heartbeat the file must not claim the broker was reached.
      if (seen) markAlive(path, current);
    },
  };
}

/**
 * Why the worker is not alive, or null when `path` was written within `maxAgeMs` of `now`.
 * The file's mtime is used rather than its content, so a half-written file still counts.
 */
export function staleReason(
  path: string = HEALTH_FILE,
  maxAgeMs: number = HEALTH_MAX_AGE_MS,
  now: number = Date.now(),
): string | null {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return `${path} does not exist: the worker has not reached its broker yet`;
  }
  const age = now - mtimeMs;
  if (age > maxAgeMs) {
    return `${path} is ${Math.round(age / 1000)} s old (limit ${Math.round(maxAgeMs / 1000)} s): the worker lost its broker or hangs`;
  }
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // written fine a moment ago (the mtime says so); an unreadable file is no stall
  }
  const stalls = stallsIn(text);
  if (stalls.length > 0) return `the worker is stalled: ${stalls.join('; ')}`;
  return null;
}

export function isAlive(
  path: string = HEALTH_FILE,
  maxAgeMs: number = HEALTH_MAX_AGE_MS,
  now: number = Date.now(),
): boolean {
  return staleReason(path, maxAgeMs, now) === null;
}
