import type { Dirent, Stats } from 'node:fs';
import { readdirSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../core/errors.ts';
import { sourcePathSchema, type ProxyLayout, type SourceRef } from '../../core/job/contract.ts';
import { statInput } from '../stat-input.ts';
import { isBesideProxyFolder } from './proxy-folders.ts';

/**
 * Camera cards hold sound recordings and stills beside the clips; they are never proxied, so
 * they are skipped by extension with a note instead of failing on a worker.
 */
export const AUDIO_EXTENSIONS: ReadonlySet<string> = new Set([
  'wav',
  'bwf',
  'mp3',
  'aac',
  'm4a',
  'flac',
  'aif',
  'aiff',
  'ogg',
  'opus',
  'wma',
  'ac3',
]);

export const STILL_EXTENSIONS: ReadonlySet<string> = new Set([
  'jpg',
  'jpeg',
  'png',
  'tif',
  'tiff',
  'dng',
  'exr',
  'dpx',
  'bmp',
  'webp',
  'gif',
  'heic',
  'heif',
  'cr2',
  'cr3',
  'arw',
  'nef',
  'raf',
  'psd',
]);

export type FileKind = 'video' | 'audio' | 'still' | 'other';

export type SkipReason =
  | 'audio only'
  | 'still image'
  | 'not a video extension'
  | 'hidden file'
  | 'inside the proxy root'
  | 'proxies beside their sources'
  | 'not a regular file'
  | 'unreadable'
  | 'control or text-direction characters in the name';

export interface SkipNote {
  path: string;
  reason: SkipReason;
}

export interface ScanResult {
  /** Sorted by path, each path once. */
  sources: SourceRef[];
  skipped: SkipNote[];
}

export interface ScanOptions {
  /** config.filters.extensions: lower case, without the dot. */
  extensions: readonly string[];
  /** Already expanded; proxies below it are never queued as sources. */
  proxyRoot: string;
  /** paths.layout: with beside, the Proxy folders beside sources are never walked. */
  layout?: ProxyLayout;
  /** Relative paths are resolved against it (default: process.cwd()). */
  cwd?: string;
}

export function extensionOf(name: string): string {
  const base = path.basename(name);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** Audio and stills win over the configured list: no proxy can be made of them. */
export function classifyFile(name: string, extensions: readonly string[]): FileKind {
  const ext = extensionOf(name);
  if (AUDIO_EXTENSIONS.has(ext)) return 'audio';
  if (STILL_EXTENSIONS.has(ext)) return 'still';
  if (ext && extensions.includes(ext)) return 'video';
  return 'other';
}

const SKIP_FOR_KIND: Record<Exclude<FileKind, 'video'>, SkipReason> = {
  audio: 'audio only',
  still: 'still image',
  other: 'not a video extension',
};

export function isHidden(name: string): boolean {
  return path.basename(name).startsWith('.');
}

export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Folder and lower-case stem: what two files must share to map to one proxy name. */
function stemKey(p: string): string {
  const base = path.basename(p);
  const dot = base.lastIndexOf('.');
  return `${path.dirname(p)}\0${(dot > 0 ? base.slice(0, dot) : base).toLowerCase()}`;
}

/**
 * Two sources in one folder with one stem (A001.MP4, A001.mxf) would map to one proxy name, so
 * both are flagged and keep their extension in the proxy name. Stems compare case-insensitively
 * because proxies often land on case-insensitive volumes. `clashOnDisk` also flags a source
 * whose same-stem neighbour is not queued now: queued later, it must not take the same name.
 */
export function markNameClashes(
  files: readonly Pick<SourceRef, 'path' | 'size' | 'mtimeMs'>[],
  clashOnDisk: (file: string) => boolean = () => false,
): SourceRef[] {
  const counts = new Map<string, number>();
  for (const f of files) counts.set(stemKey(f.path), (counts.get(stemKey(f.path)) ?? 0) + 1);
  return files.map((f) => ({
    path: f.path,
    size: f.size,
    mtimeMs: f.mtimeMs,
    nameClash: (counts.get(stemKey(f.path)) ?? 0) > 1 || clashOnDisk(f.path),
  }));
}

/**
 * Whether a file's folder holds another video file (by filters.extensions) with its stem. Each
 * folder is read once, or not at all when `listed` already has its entries (a folder walk); one
 * that cannot be read has no neighbours.
 */
export function nameClashOnDisk(
  extensions: readonly string[],
  listed: ReadonlyMap<string, readonly Dirent[]> = new Map(),
): (file: string) => boolean {
  const stems = new Map<string, Map<string, number>>();
  return (file) => {
    const dir = path.dirname(file);
    let counts = stems.get(dir);
    if (!counts) {
      counts = new Map();
      let entries = listed.get(dir);
      try {
        entries ??= readdirSync(dir, { withFileTypes: true });
      } catch {
        entries = []; // unreadable: nothing known beside it
      }
      for (const e of entries) {
        // Folders, FIFOs and devices are never queued, so they take no proxy name.
        if (isHidden(e.name) || !(e.isFile() || e.isSymbolicLink())) continue;
        if (classifyFile(e.name, extensions) !== 'video') continue;
        const k = stemKey(path.join(dir, e.name));
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      stems.set(dir, counts);
    }
    return (counts.get(stemKey(file)) ?? 0) > 1;
  };
}

/**
 * Expands the files and folders given on the command line into the sources to queue. Folders
 * are walked recursively; hidden entries are passed over silently (.DS_Store, ._A001.MOV), other
 * files that are not queued get a note. A path that does not exist is an error.
 */
export async function scanSources(
  paths: readonly string[],
  options: ScanOptions,
): Promise<ScanResult> {
  const cwd = options.cwd ?? process.cwd();
  const proxyRoot = path.resolve(cwd, options.proxyRoot);
  const beside = options.layout === 'beside';
  const found = new Map<string, Pick<SourceRef, 'path' | 'size' | 'mtimeMs'>>();
  const skipped = new Map<string, SkipReason>();
  const visitedDirs = new Set<string>();
  /** Folder entries read by the walk, so name clashes need no second read. */
  const listed = new Map<string, Dirent[]>();

  const consider = (file: string, st: Stats) => {
    if (!st.isFile()) return void skipped.set(file, 'not a regular file');
    const kind = classifyFile(file, options.extensions);
    if (kind !== 'video') return void skipped.set(file, SKIP_FOR_KIND[kind]);
    // The gateway refuses such a path (it disguises the name); one file must not sink the batch.
    if (!sourcePathSchema.safeParse(file).success) {
      return void skipped.set(file, 'control or text-direction characters in the name');
    }
    found.set(file, { path: file, size: st.size, mtimeMs: st.mtimeMs });
  };

  const walk = async (dir: string): Promise<void> => {
    // Symlinked folders are followed, but each real folder only once, so a link loop ends.
    let real: string;
    let entries: Dirent[];
    try {
      real = await realpath(dir);
      if (visitedDirs.has(real)) return;
      visitedDirs.add(real);
      entries = await readdir(dir, { withFileTypes: true });
      listed.set(dir, entries);
    } catch {
      skipped.set(dir, 'unreadable');
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (isHidden(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (isInside(full, proxyRoot)) continue;
      let st: Stats;
      try {
        // stat, not lstat: a symlinked clip is queued by the path it was found at.
        st = await stat(full);
      } catch {
        skipped.set(full, 'unreadable');
        continue;
      }
      if (st.isDirectory()) {
        if (beside && (await isBesideProxyFolder(full, entries))) {
          skipped.set(full, 'proxies beside their sources');
        } else await walk(full);
      } else consider(full, st);
    }
  };

  for (const given of paths) {
    const abs = path.resolve(cwd, given);
    // A FIFO or device given by name is skipped with a note, as in a folder walk.
    const st = await statInput(abs, 'path', 'SOURCE_NOT_FOUND', given, { special: 'return' });
    if (isInside(abs, proxyRoot)) {
      skipped.set(abs, 'inside the proxy root');
    } else if (beside && (await isBesideProxyFolder(st.isDirectory() ? abs : path.dirname(abs)))) {
      skipped.set(abs, 'proxies beside their sources');
    } else if (st.isDirectory()) {
      await walk(abs);
    } else if (isHidden(abs)) {
      skipped.set(abs, 'hidden file');
    } else {
      consider(abs, st);
    }
  }

  const sorted = [...found.values()].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
  return {
    sources: markNameClashes(sorted, nameClashOnDisk(options.extensions, listed)),
    skipped: [...skipped].map(([p, reason]) => ({ path: p, reason })),
  };
}

/** "3 skipped: 2 still image, 1 audio only", for the line printed before queueing. */
export function summarizeSkipped(skipped: readonly SkipNote[]): string {
  if (skipped.length === 0) return '';
  const byReason = new Map<SkipReason, number>();
  for (const s of skipped) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
  const parts = [...byReason].map(([reason, n]) => `${n} ${reason}`);
  return `${skipped.length} skipped: ${parts.join(', ')}`;
}

/** One note per skipped file, the first `max` of them, then a count of the rest. */
export function skipNoteLines(skipped: readonly SkipNote[], max = 10): string[] {
  const lines = skipped.slice(0, max).map((n) => `note: skipped ${n.path} (${n.reason})`);
  if (skipped.length > max) {
    lines.push(`note: ${skipped.length - max} more skipped; ${summarizeSkipped(skipped)}`);
  }
  return lines;
}
