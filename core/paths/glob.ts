/**
 * A path glob as editors write them in config: `**` spans folders, `*` and `?` stay within one
 * folder name, everything else is literal. Backslashes in paths count as `/`, so one pattern
 * serves Windows and POSIX sources; a pattern without a `/` matches the file name anywhere.
 * Pure.
 */
export function globToRegExp(pattern: string): RegExp {
  const p = pattern.replace(/\\/g, '/');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const ch = p[i]!;
    if (ch === '*' && p[i + 1] === '*') {
      // `**/` may also match no folder at all.
      if (p[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]]/g, '\\$&');
  }
  return new RegExp(p.includes('/') ? `^${re}$` : `(?:^|/)${re}$`);
}

export function matchesAny(file: string, patterns: readonly string[]): boolean {
  const normal = file.replace(/\\/g, '/');
  return patterns.some((g) => globToRegExp(g).test(normal));
}
