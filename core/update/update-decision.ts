import { z } from 'zod';

/** The registry is asked at most this often. */
export const CHECK_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** What the state file remembers of the last answer. */
export const updateStateSchema = z.object({
  /** When the registry last answered, ms since the epoch. */
  checkedAt: z.number().finite(),
  /** The version it named as latest. */
  latest: z.string().max(256),
});
export type UpdateState = z.output<typeof updateStateSchema>;

/** Whether the registry is to be asked now. A time ahead of now (a clock set back) asks again. */
export function checkDue(state: UpdateState | undefined, now: number): boolean {
  if (!state) return true;
  const age = now - state.checkedAt;
  return age < 0 || age >= CHECK_INTERVAL_MS;
}

interface SemVer {
  core: [number, number, number];
  pre: string[];
}

const SEMVER = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

function parseSemver(text: string): SemVer | undefined {
  const m = SEMVER.exec(text.trim());
  if (!m) return undefined;
  const pre = m[4] === undefined ? [] : m[4].split('.');
  if (pre.some((p) => p === '')) return undefined;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre };
}

/** Semver precedence of two prerelease identifiers: numbers below words, numbers by value. */
function compareIdentifier(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Semver precedence: negative when a is older, 0 when equal (build metadata is ignored),
 * positive when newer; undefined when either is not a version. A prerelease is older than its
 * release (1.0.0-rc.1 < 1.0.0).
 */
export function compareVersions(a: string, b: string): number | undefined {
  const x = parseSemver(a);
  const y = parseSemver(b);
  if (!x || !y) return undefined;
  for (let i = 0; i < 3; i++) {
    const d = Math.sign(x.core[i]! - y.core[i]!);
    if (d !== 0) return d;
  }
  if (x.pre.length === 0 || y.pre.length === 0) return Math.sign(y.pre.length - x.pre.length);
  for (let i = 0; i < Math.min(x.pre.length, y.pre.length); i++) {
    const d = compareIdentifier(x.pre[i]!, y.pre[i]!);
    if (d !== 0) return d;
  }
  return Math.sign(x.pre.length - y.pre.length);
}

/** Whether `latest` is a newer version than `current`; anything unreadable is not. */
export function isNewer(current: string, latest: string): boolean {
  return (compareVersions(latest, current) ?? 0) > 0;
}

/** The one line a command prints when a newer version is published. */
export function updateNotice(name: string, current: string, latest: string): string {
  return `${name} ${latest} is published (this is ${current}); update with: npm install -g ${name}`;
}
