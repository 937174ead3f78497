import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../core/errors.ts';
import { AUDIO_EXTENSIONS, STILL_EXTENSIONS, extensionOf } from '../sources/scan-sources.ts';
import { baseName } from './file-url.ts';
import type { EdlSource } from './parse-edl.ts';
import { SourceCollector, type ParsedSources } from './timeline-text.ts';

/** Files a camera card or an editor keeps beside a clip under the clip's own stem. */
const SIDECAR_EXTENSIONS: ReadonlySet<string> = new Set([
  'xml',
  'xmp',
  'thm',
  'txt',
  'json',
  'sidecar',
  'ale',
  'cdl',
  'cube',
  'srt',
  'lrf',
  'md5',
]);

export interface MediaRootIndex {
  root: string;
  /** Absolute paths of every non-hidden file below the root, sorted. */
  files: string[];
}

export type NameMatch = { path: string } | { reason: string };

const SHOWN_CANDIDATES = 3;

function stemOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/** Walks the folder once; hidden entries (.DS_Store, ._A001.MOV) are never media. */
export async function indexMediaRoot(root: string): Promise<MediaRootIndex> {
  const abs = path.resolve(root);
  try {
    if (!(await stat(abs)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new InputError(
      'MEDIA_ROOT_NOT_FOUND',
      `--media-root ${root} is not a folder`,
      'give the folder that holds the clips the EDL names',
    );
  }
  const files: string[] = [];
  const seenDirs = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      // Symlinked folders are followed, each real folder once, so a link loop ends.
      const real = await realpath(dir);
      if (seenDirs.has(real)) return;
      seenDirs.add(real);
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = await stat(full);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue;
        }
      }
      if (isDir) await walk(full);
      else if (isFile) files.push(full);
    }
  };
  await walk(abs);
  return { root: abs, files };
}

/**
 * The file an EDL name stands for. Each name is tried in turn: a file whose whole name matches
 * (case-insensitively, since EDLs are often written in capitals), else one whose name without
 * its extension matches, because Avid writes clip names without one. Where a stem matches a
 * clip and its sidecars (A001.MOV, A001.XML, A001.WAV), the sidecars give way. Two candidates
 * left is ambiguous: guessing would make a proxy of the wrong take.
 */
export function matchName(index: MediaRootIndex, names: readonly string[]): NameMatch {
  const rel = (p: string) => path.relative(index.root, p);
  const ambiguous = (name: string, found: string[]): NameMatch => ({
    reason:
      `${found.length} files under ${index.root} match "${name}": ` +
      found.slice(0, SHOWN_CANDIDATES).map(rel).join(', ') +
      (found.length > SHOWN_CANDIDATES ? ', …' : ''),
  });
  for (const name of names) {
    const key = baseName(name).toLowerCase();
    if (key === '') continue;
    const exact = index.files.filter((f) => path.basename(f).toLowerCase() === key);
    if (exact.length === 1) return { path: exact[0]! };
    if (exact.length > 1) return ambiguous(name, exact);
    let byStem = index.files.filter((f) => stemOf(path.basename(f)).toLowerCase() === key);
    if (byStem.length > 1) {
      const pictures = byStem.filter((f) => {
        const ext = extensionOf(f);
        return (
          !AUDIO_EXTENSIONS.has(ext) && !STILL_EXTENSIONS.has(ext) && !SIDECAR_EXTENSIONS.has(ext)
        );
      });
      if (pictures.length > 0) byStem = pictures;
    }
    if (byStem.length === 1) return { path: byStem[0]! };
    if (byStem.length > 1) return ambiguous(name, byStem);
  }
  return {
    reason: `no file named ${names.map((n) => `"${n}"`).join(' or ')} under ${index.root}`,
  };
}

/**
 * Turns the EDL's sources into paths, in the EDL's order: full paths as they are, names looked
 * up under the media root. Names that find no single file are reported, not guessed.
 */
export async function resolveEdlSources(
  sources: readonly EdlSource[],
  mediaRoot: string | undefined,
): Promise<ParsedSources> {
  const out = new SourceCollector();
  const needsRoot = sources.some((s) => s.kind === 'names' && s.names.length > 0);
  const index = needsRoot && mediaRoot !== undefined ? await indexMediaRoot(mediaRoot) : undefined;
  for (const s of sources) {
    if (s.kind === 'path') {
      out.add(s.path);
      continue;
    }
    const shown = s.names[0];
    if (shown === undefined) {
      out.miss(`event ${s.event}`, `the EDL names no clip or file for the event at line ${s.line}`);
    } else if (!index) {
      out.miss(
        shown,
        'the EDL gives a clip name, not a path: pass --media-root with the folder holding the clips',
      );
    } else {
      const m = matchName(index, s.names);
      if ('path' in m) out.add(m.path);
      else out.miss(shown, m.reason);
    }
  }
  return out.result();
}
