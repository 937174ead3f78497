/**
 * Two-way path mapping between the editor's machine and the farm (paths.mappings). Pure: only
 * strings in, strings out, whatever OS runs it, since the gateway on Linux maps Windows paths.
 */

export interface PathMapping {
  /** The prefix as the editor's machine sees it: `R:\Footage`, `\\nas\media`, `/Volumes/Footage`. */
  editor: string;
  /** The prefix as the gateway and encoders see it: `/mnt/media`. */
  farm: string;
}

/** How a path is rooted: `D:\...`, `\\server\share\...` or `/...`. */
export type PathStyle = 'drive' | 'unc' | 'posix';

interface ParsedPath {
  style: PathStyle;
  /** The drive letter, upper case, for `drive`; empty otherwise. */
  drive: string;
  /** NFC; for `unc` the first two are the server and the share. */
  segments: string[];
}

/** The style of an absolute path, or null for a relative one. */
export function pathStyle(p: string): PathStyle | null {
  if (/^[A-Za-z]:([\\/]|$)/.test(p)) return 'drive';
  if (/^[\\/]{2}[^\\/]/.test(p)) return 'unc';
  if (p.startsWith('/')) return 'posix';
  return null;
}

function parse(p: string): ParsedPath | null {
  const style = pathStyle(p);
  if (style === null) return null;
  const text = p.normalize('NFC');
  // `\` separates only on the Windows side: on POSIX it is a legal character of a name.
  const split = style === 'posix' ? /\/+/ : /[\\/]+/;
  const rest = style === 'drive' ? text.slice(2) : text;
  const segments = rest.split(split).filter((s) => s !== '' && s !== '.');
  return { style, drive: style === 'drive' ? text[0]!.toUpperCase() : '', segments };
}

function format(p: ParsedPath): string {
  if (p.style === 'posix') return `/${p.segments.join('/')}`;
  if (p.style === 'unc') return `\\\\${p.segments.join('\\')}`;
  return `${p.drive}:\\${p.segments.join('\\')}`;
}

/** Windows names compare case-insensitively; POSIX ones exactly (both after NFC). */
function sameSegment(style: PathStyle, a: string, b: string): boolean {
  return style === 'posix' ? a === b : a.toLowerCase() === b.toLowerCase();
}

/** The segments of `p` after `prefix`, or null when `p` is not at or below it. */
function remainderBelow(p: ParsedPath, prefix: ParsedPath): string[] | null {
  if (p.style !== prefix.style || p.drive !== prefix.drive) return null;
  if (prefix.segments.length > p.segments.length) return null;
  for (let i = 0; i < prefix.segments.length; i++) {
    if (!sameSegment(p.style, p.segments[i]!, prefix.segments[i]!)) return null;
  }
  return p.segments.slice(prefix.segments.length);
}

type ParsedMapping = Record<'editor' | 'farm', ParsedPath | null>;

/** Parsed once per list: a batch of 10,000 sources meets the same list 10,000 times. */
const parsedLists = new WeakMap<readonly PathMapping[], ParsedMapping[]>();

function parsedMappings(mappings: readonly PathMapping[]): ParsedMapping[] {
  let parsed = parsedLists.get(mappings);
  if (!parsed) {
    parsed = mappings.map((m) => ({ editor: parse(m.editor), farm: parse(m.farm) }));
    parsedLists.set(mappings, parsed);
  }
  return parsed;
}

interface Candidate {
  target: ParsedPath;
  targetStyle: PathStyle;
  matchedLength: number;
  order: number;
  rest: string[];
}

function candidates(
  p: string,
  mappings: readonly PathMapping[],
  from: 'editor' | 'farm',
): { parsed: ParsedPath | null; found: Candidate[] } {
  // No mappings (one machine, or the same mounts everywhere): nothing to parse for each path.
  if (mappings.length === 0) return { parsed: null, found: [] };
  const parsed = parse(p);
  if (parsed === null) return { parsed, found: [] };
  const to = from === 'editor' ? 'farm' : 'editor';
  const found: Candidate[] = [];
  parsedMappings(mappings).forEach((m, order) => {
    const prefix = m[from];
    const target = m[to];
    if (!prefix || !target) return;
    const rest = remainderBelow(parsed, prefix);
    if (rest === null) return;
    found.push({
      target,
      targetStyle: target.style,
      matchedLength: prefix.segments.length,
      order,
      rest,
    });
  });
  // The longest prefix first (a boundary is a whole segment), then the order of the list.
  found.sort((a, b) => b.matchedLength - a.matchedLength || a.order - b.order);
  return { parsed, found };
}

function join(c: Candidate): string {
  return format({ ...c.target, segments: [...c.target.segments, ...c.rest] });
}

/**
 * A source as the editor's machine names it, as the farm sees it: the longest matching editor
 * prefix is replaced by its farm prefix. A path no mapping covers comes back as it is.
 */
export function toFarm(editorPath: string, mappings: readonly PathMapping[]): string {
  const [best] = candidates(editorPath, mappings, 'editor').found;
  return best ? join(best) : editorPath;
}

/**
 * A farm path as the editor's machine sees it. Where several mappings share the farm prefix, one
 * whose editor side is in `style` (that of the sources the editor queued) wins, so a Windows
 * editor gets `P:\Proxies\...` and a Mac one `/Volumes/Proxies/...` for the same proxy.
 */
export function toEditor(
  farmPath: string,
  mappings: readonly PathMapping[],
  style: PathStyle | null = null,
): string {
  const { found } = candidates(farmPath, mappings, 'farm');
  // A UNC editor is on Windows too: a drive letter suits it better than a POSIX path.
  const windows = (s: PathStyle | null) => s === 'drive' || s === 'unc';
  const sameKind =
    style === null ? [] : found.filter((c) => windows(c.targetStyle) === windows(style));
  const best = found.find((c) => c.targetStyle === style) ?? sameKind[0] ?? found[0];
  return best ? join(best) : farmPath;
}

/**
 * One spelling per file, for job identity: NFC, one kind of separator, no empty or `.`
 * segments, the drive letter upper case and a UNC server and share lower case (Windows ignores
 * their case). The rest keeps its case: two spellings of it may be two files on a farm.
 */
export function canonicalPath(p: string): string {
  const parsed = parse(p);
  if (parsed === null) return p.normalize('NFC');
  if (parsed.style === 'unc') {
    parsed.segments = parsed.segments.map((s, i) => (i < 2 ? s.toLowerCase() : s));
  }
  return format(parsed);
}
