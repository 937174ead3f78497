import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../core/errors.ts';
import { statInput } from '../stat-input.ts';
import { parseEdl } from './parse-edl.ts';
import { parseFcpxml } from './parse-fcpxml.ts';
import { parseOtio } from './parse-otio.ts';
import { parseXmeml } from './parse-xmeml.ts';
import { resolveEdlSources } from './resolve-media-root.ts';
import { badTimeline, READ_FORMATS_HINT, type ParseContext } from './timeline-text.ts';

/** A source as the timeline names it: absolute path (decoded, as written), and its base name. */
export interface TimelineSource {
  path: string;
  name: string;
}

/** A clip whose media could not be pinned to one file, e.g. an EDL name not under --media-root. */
export interface UnresolvedSource {
  name: string;
  reason: string;
}

export interface TimelineSources {
  file: string;
  format: 'fcpxml' | 'xmeml' | 'edl' | 'otio';
  /** Video-bearing sources, each once, in order of first use. */
  sources: TimelineSource[];
  unresolved: UnresolvedSource[];
}

type Format = TimelineSources['format'];

/**
 * AAF is not read. It is a binary structured-storage container with an object model of its own,
 * and no npm package reads it, maintained or not; reading it here would mean writing both a
 * compound-file reader and an AAF model reader. Every application that writes AAF (Avid, Resolve,
 * Premiere) also writes one of the formats below, which name the media as plainly.
 */
const AAF_HINT = `export the timeline as FCPXML, Final Cut Pro 7 XML, EDL or OTIO instead; ${READ_FORMATS_HINT}`;

const CFB_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

/** XML and JSON declare UTF-8 or carry a BOM; EDLs from older systems are Latin-1. */
function decodeText(bytes: Buffer): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return bytes.subarray(3).toString('utf8');
  }
  if (bytes[0] === 0xff && bytes[1] === 0xfe)
    return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff)
    return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** The root element's name, past the declaration, comments and DOCTYPE. */
function xmlRootName(text: string): string | undefined {
  const re = /<([^\s>/?!][^\s>/]*)/g;
  const m = re.exec(text.replace(/<!--[\s\S]*?-->/g, ''));
  return m?.[1];
}

function detectFormat(file: string, text: string): Format {
  const ext = path.extname(file).toLowerCase();
  const head = text.trimStart();
  if (head.startsWith('<')) {
    const rootName = xmlRootName(head);
    if (rootName === 'fcpxml') return 'fcpxml';
    if (rootName === 'xmeml') return 'xmeml';
    // Let the parser for the extension name the unexpected root (or the bad XML).
    return ext === '.xml' ? 'xmeml' : 'fcpxml';
  }
  if (ext === '.fcpxml' || ext === '.fcpxmld') return 'fcpxml';
  if (ext === '.xml') return 'xmeml';
  if (ext === '.otio' || head.startsWith('{')) return 'otio';
  return 'edl';
}

async function readTimelineText(file: string): Promise<{ text: string; textFile: string }> {
  const st = await statInput(file, 'timeline file', 'TIMELINE_NOT_FOUND');
  let textFile = file;
  if (st.isDirectory()) {
    // Final Cut Pro 10.6+ exports a .fcpxmld bundle: a folder holding Info.fcpxml.
    textFile = path.join(file, 'Info.fcpxml');
    try {
      await stat(textFile);
    } catch {
      throw new InputError(
        'BAD_TIMELINE',
        `timeline ${file} is a folder without Info.fcpxml; expected a timeline file or a .fcpxmld bundle`,
        `give the exported file itself; ${READ_FORMATS_HINT}`,
      );
    }
  }
  const bytes = await readFile(textFile);
  if (path.extname(file).toLowerCase() === '.aaf' || bytes.subarray(0, 8).equals(CFB_MAGIC)) {
    throw new InputError(
      'UNSUPPORTED_TIMELINE',
      `timeline ${file} is an AAF file, which Proxima does not read`,
      AAF_HINT,
    );
  }
  return { text: decodeText(bytes), textFile };
}

/**
 * The video sources a timeline file uses. The format is taken from the content (XML root
 * element, JSON) and the extension; EDL clip names are looked up under `mediaRoot`.
 */
export async function readTimelineFile(
  file: string,
  opts?: { mediaRoot?: string },
): Promise<TimelineSources> {
  const { text, textFile } = await readTimelineText(file);
  const format = detectFormat(file, text);
  const ctx: ParseContext = { file, baseDir: path.dirname(path.resolve(textFile)) };
  if (text.trim() === '') {
    throw badTimeline(
      file,
      'line 1',
      'the file is empty',
      'a timeline exported by an editing application',
    );
  }
  let parsed;
  switch (format) {
    case 'fcpxml':
      parsed = parseFcpxml(text, ctx);
      break;
    case 'xmeml':
      parsed = parseXmeml(text, ctx);
      break;
    case 'otio':
      parsed = parseOtio(text, ctx);
      break;
    case 'edl':
      parsed = await resolveEdlSources(parseEdl(text, ctx), opts?.mediaRoot);
      break;
  }
  return {
    file: path.resolve(file),
    format,
    sources: parsed.sources,
    unresolved: parsed.unresolved,
  };
}
