import { writeFileSync, statSync } from 'node:fs';

/**
 * Where a running encoder leaves proof of life for the container HEALTHCHECK. /tmp is writable
 * for the unprivileged image user and private to the container.
 */
export const HEALTH_FILE = '/tmp/proxima-encoder.alive';

/** Longest gap between two refreshes before the container is reported unhealthy. */
export const HEALTH_MAX_AGE_MS = 45_000;

/**
 * Records that the worker just reached its broker. Never throws: a full or read-only /tmp must
 * not take down a worker that is encoding fine; the healthcheck reports it instead.
 */
export function markAlive(path: string = HEALTH_FILE): void {
  try {
    writeFileSync(path, `${new Date().toISOString()}\n`);
  } catch {
    // the healthcheck will notice the stale file
  }
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
  return null;
}

export function isAlive(
  path: string = HEALTH_FILE,
  maxAgeMs: number = HEALTH_MAX_AGE_MS,
  now: number = Date.now(),
): boolean {
  return staleReason(path, maxAgeMs, now) === null;
}
