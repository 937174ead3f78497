/**
 * paths.media_roots: the folders sources must be below. Paths are the editor machine's, so
 * both flavours are read here whatever the gateway runs on. Pure.
 */

interface Split {
  /** posix: case-sensitive; windows drive letters and UNC shares: case-insensitive. */
  flavour: 'posix' | 'windows';
  parts: string[];
}

/** Root and segments of an absolute path; null for a relative one or one with `..`. */
function split(p: string): Split | null {
  let flavour: Split['flavour'];
  let head: string;
  let rest: string;
  const drive = /^([A-Za-z]):[\\/]/.exec(p);
  if (drive) {
    flavour = 'windows';
    head = `${drive[1]!.toLowerCase()}:`;
    rest = p.slice(3);
  } else if (p.startsWith('\\\\') || p.startsWith('//')) {
    flavour = 'windows';
    head = '\\\\';
    rest = p.slice(2);
  } else if (p.startsWith('/')) {
    flavour = 'posix';
    head = '/';
    rest = p.slice(1);
  } else {
    return null;
  }
  // Both separators, as proxy paths mirror them: `/media/a\b` must not hide a folder change.
  const parts = rest.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) return null;
  const all = [head, ...parts];
  return { flavour, parts: flavour === 'windows' ? all.map((s) => s.toLowerCase()) : all };
}

/** True when `source` is one of `roots` or below one; every source is when roots is empty. */
export function isBelowMediaRoot(source: string, roots: readonly string[]): boolean {
  if (roots.length === 0) return true;
  const s = split(source);
  if (!s) return false;
  return roots.some((root) => {
    const r = split(root);
    return (
      r !== null &&
      r.flavour === s.flavour &&
      r.parts.length <= s.parts.length &&
      r.parts.every((part, i) => part === s.parts[i])
    );
  });
}
