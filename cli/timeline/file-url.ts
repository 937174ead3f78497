import path from 'node:path';

/**
 * Editing applications name media in many spellings: `file:///`, `file://localhost/`,
 * `file://localhost/D%3a/...`, `file:///C:/...`, URLs with unescaped brackets, spaces or `#`,
 * bare Windows and UNC paths, relative names. They all become one absolute path here, because a
 * job's id is derived from the path: the clip queued from a timeline must get the same path as
 * the clip queued from its folder. Windows paths therefore use backslashes, as the folder scan
 * on Windows writes them.
 */

export interface MediaRefOptions {
  /**
   * The reference sits in a URL field (FCPXML `src`, xmeml `pathurl`, OTIO `target_url`), so
   * its relative and POSIX forms are percent-escaped. EDL comments hold plain paths instead.
   * Bare drive-letter and UNC paths are never unescaped: `%` is a legal file-name character on
   * Windows and no application escapes such paths.
   */
  escaped?: boolean;
}

const DRIVE_PATH = /^[A-Za-z]:[\\/]/;
const DRIVE_IN_URL_PATH = /^\/[A-Za-z][:|](?:[\\/]|$)/;
const UNC_PATH = /^\\\\[^\\]/;
const OTHER_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]+:/;

/** True for the absolute forms a source path can take: POSIX, drive letter or UNC. */
export function isAbsoluteMediaPath(p: string): boolean {
  return p.startsWith('/') || DRIVE_PATH.test(p) || UNC_PATH.test(p);
}

export function isWindowsPath(p: string): boolean {
  return DRIVE_PATH.test(p) || UNC_PATH.test(p);
}

/** The file name of a POSIX or Windows path, whichever machine reads it. */
export function baseName(p: string): string {
  return isWindowsPath(p) ? path.win32.basename(p) : path.posix.basename(p);
}

/**
 * Decodes every run of `%XX` escapes that spells valid UTF-8 and leaves any other `%` as it is:
 * Resolve writes some URLs half-escaped, and a literal `%` in such a URL is part of the name.
 */
export function percentDecode(s: string): string {
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

function toWindows(p: string): string {
  const unc = p.startsWith('\\\\') || p.startsWith('//');
  const body = path.win32.normalize(p.replace(/[\\/]+/g, '\\'));
  return unc && !body.startsWith('\\\\') ? `\\${body}` : body;
}

function normalisePosix(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * A `file:` URL to an absolute path, or undefined when it names no file. No query or fragment
 * is split off: applications write `#` and `?` in file names unescaped.
 */
export function fileUrlToPath(url: string): string | undefined {
  const m = /^file:(.*)$/is.exec(url.trim());
  if (!m) return undefined;
  let rest = m[1]!.replace(/\\/g, '/');
  let host = '';
  if (rest.startsWith('//')) {
    rest = rest.slice(2);
    if (rest.startsWith('/') && rest[1] === '/') {
      // file:////server/share: the UNC form some Windows tools write.
      return toWindows(`//${percentDecode(rest.replace(/^\/+/, ''))}`);
    }
    const slash = rest.indexOf('/');
    host = slash < 0 ? rest : rest.slice(0, slash);
    rest = slash < 0 ? '/' : rest.slice(slash);
  } else if (/^[A-Za-z][:|]/.test(rest)) {
    rest = `/${rest}`;
  } else if (!rest.startsWith('/')) {
    return undefined;
  }
  host = percentDecode(host);
  const decoded = percentDecode(rest);
  if (/^[A-Za-z][:|]$/.test(host)) {
    // file://C:/x: the drive landed in the host part.
    return toWindows(`${host[0]}:${decoded}`);
  }
  if (host !== '' && host.toLowerCase() !== 'localhost') {
    return decoded === '/' ? undefined : toWindows(`//${host}${decoded}`);
  }
  if (DRIVE_IN_URL_PATH.test(decoded)) {
    return toWindows(`${decoded[1]}:${decoded.slice(3)}`);
  }
  if (decoded.startsWith('//')) return toWindows(decoded);
  return decoded === '/' ? undefined : normalisePosix(decoded);
}

/**
 * Any reference a timeline gives for a clip's media to an absolute path. Relative names are
 * resolved against `baseDir`, the timeline file's folder. Undefined when the reference names no
 * local file (empty, `http:` and other schemes).
 */
export function mediaRefToPath(
  ref: string,
  baseDir: string,
  options: MediaRefOptions = {},
): string | undefined {
  const escaped = options.escaped ?? true;
  const s = ref.trim();
  if (s === '') return undefined;
  if (/^file:/i.test(s)) return fileUrlToPath(s);
  if (DRIVE_PATH.test(s) || /^[\\/]{2}[^\\/]/.test(s)) {
    // `//server/share` is a UNC path written with forward slashes, never a POSIX path.
    return toWindows(s);
  }
  if (OTHER_SCHEME.test(s)) return undefined;
  const plain = escaped ? percentDecode(s) : s;
  if (plain.startsWith('/')) return normalisePosix(plain);
  if (isWindowsPath(baseDir)) return path.win32.resolve(baseDir, plain);
  return path.posix.resolve(baseDir, plain);
}
