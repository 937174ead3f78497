import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { InputError } from '../../core/errors.ts';
import { baseName } from './file-url.ts';
import type { TimelineSource, UnresolvedSource } from './read-timeline-file.ts';

export const READ_FORMATS_HINT =
  'Proxima reads FCPXML (.fcpxml, .fcpxmld), Final Cut Pro 7 XML (.xml), CMX3600 EDL (.edl) and OpenTimelineIO (.otio)';

/** What every parser is given besides the text. */
export interface ParseContext {
  /** The timeline file as the user named it, for messages. */
  file: string;
  /** Relative media names are resolved against it: the timeline file's folder. */
  baseDir: string;
}

export interface ParsedSources {
  sources: TimelineSource[];
  unresolved: UnresolvedSource[];
}

/**
 * A timeline that cannot be read. The message stays on one line so it prints as one `error:`
 * line; `where` is `line N` or the element at fault.
 */
export function badTimeline(
  file: string,
  where: string,
  problem: string,
  expected: string,
  hint = `re-export the timeline from the editing application; ${READ_FORMATS_HINT}`,
): InputError {
  const oneLine = (s: string) =>
    s
      .replace(/\s*[\r\n]+\s*/g, ' ')
      .trim()
      .replace(/\.$/, '');
  return new InputError(
    'BAD_TIMELINE',
    `timeline ${file}, ${oneLine(where)}: ${oneLine(problem)}; expected ${oneLine(expected)}`,
    hint,
  );
}

/** 1-based line of a character offset. */
export function lineAt(text: string, index: number): number {
  let line = 1;
  const end = Math.min(Math.max(index, 0), text.length);
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Keeps the first use of each path, in order, and each unresolved name once. */
export class SourceCollector {
  readonly #paths = new Set<string>();
  readonly #unresolvedKeys = new Set<string>();
  readonly sources: TimelineSource[] = [];
  readonly unresolved: UnresolvedSource[] = [];

  add(p: string): void {
    if (this.#paths.has(p)) return;
    this.#paths.add(p);
    this.sources.push({ path: p, name: baseName(p) });
  }

  miss(name: string, reason: string): void {
    const key = `${name}\0${reason}`;
    if (this.#unresolvedKeys.has(key)) return;
    this.#unresolvedKeys.add(key);
    this.unresolved.push({ name, reason });
  }

  result(): ParsedSources {
    return { sources: this.sources, unresolved: this.unresolved };
  }
}

export interface XmlElement {
  name: string;
  attrs: Readonly<Record<string, string>>;
  children: XmlElement[];
  /** The element's own text, its children's left out. */
  text: string;
  /** 1-based line of the opening tag. */
  line: number;
}

// Typed as the `Symbol` wrapper object, but it is a primitive symbol at run time.
const XML_ENTITY = /&(?:(amp|lt|gt|quot|apos)|#(\d+)|#x([0-9A-Fa-f]+));/g;
const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(XML_ENTITY, (whole, named?: string, dec?: string, hex?: string) => {
    if (named) return NAMED_ENTITIES[named] ?? whole;
    const code = dec !== undefined ? Number(dec) : Number.parseInt(hex ?? '', 16);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

const META = XMLParser.getMetaDataSymbol() as unknown as symbol;

/**
 * Parses XML into a tree that keeps sibling order (clips of different kinds interleave on a
 * spine, and sources are listed in order of first use) and each element's line for messages.
 * Malformed XML is reported with the validator's line, which the parser does not give.
 */
export function parseXml(text: string, ctx: ParseContext, expected: string): XmlElement {
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw badTimeline(ctx.file, `line ${valid.err.line}`, `bad XML: ${valid.err.msg}`, expected);
  }
  let raw: unknown;
  try {
    raw = new XMLParser({
      preserveOrder: true,
      ignoreAttributes: false,
      attributeNamePrefix: '',
      parseAttributeValue: false,
      parseTagValue: false,
      captureMetaData: true,
      // Entities are decoded below in one pass, numeric references included, which the
      // parser leaves as they are (`&#39;` in a clip name).
      processEntities: false,
      cdataPropName: '#cdata',
      // Resolve nests compound clips and xmeml nests sequences deeply; the default 100 is
      // a guard against hostile input that real timelines can approach.
      maxNestedTags: 1000,
    }).parse(text);
  } catch (err) {
    throw badTimeline(ctx.file, 'line 1', `bad XML: ${(err as Error).message}`, expected);
  }
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const lineOf = (index: number | undefined): number => {
    if (index === undefined) return 0;
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const convert = (nodes: unknown): { elements: XmlElement[]; text: string } => {
    const elements: XmlElement[] = [];
    let ownText = '';
    if (!Array.isArray(nodes)) return { elements, text: ownText };
    for (const node of nodes as Record<string | symbol, unknown>[]) {
      for (const key of Object.keys(node)) {
        if (key === ':@') continue;
        if (key === '#text') {
          ownText += decodeEntities(String(node[key] ?? ''));
          continue;
        }
        if (key === '#cdata') {
          for (const t of (node[key] ?? []) as Record<string, unknown>[]) {
            ownText += String(t['#text'] ?? '');
          }
          continue;
        }
        if (key.startsWith('?') || key.startsWith('!')) continue;
        const inner = convert(node[key]);
        const attrs: Record<string, string> = {};
        for (const [k, v] of Object.entries((node[':@'] ?? {}) as Record<string, unknown>)) {
          attrs[k] = decodeEntities(String(v));
        }
        const meta = node[META] as { startIndex?: number } | undefined;
        elements.push({
          name: key,
          attrs,
          children: inner.elements,
          text: inner.text,
          line: lineOf(meta?.startIndex),
        });
      }
    }
    return { elements, text: ownText };
  };
  const roots = convert(raw).elements;
  const root = roots[0];
  if (!root) throw badTimeline(ctx.file, 'line 1', 'no XML element', expected);
  return root;
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** `<asset-clip name="A001" ref="r3">` for messages; the attributes that identify a clip. */
export function describeElement(el: XmlElement): string {
  const shown = ['id', 'name', 'ref']
    .filter((k) => el.attrs[k] !== undefined)
    .map((k) => ` ${k}="${el.attrs[k]}"`)
    .join('');
  return `<${el.name}${shown}> at line ${el.line}`;
}

/** The document's root element, which must be `<name>`; else a BAD_TIMELINE naming its line. */
export function parseXmlRoot(
  text: string,
  ctx: ParseContext,
  name: string,
  expected: string,
): XmlElement {
  const root = parseXml(text, ctx, expected);
  if (root.name !== name) {
    throw badTimeline(
      ctx.file,
      `line ${root.line}`,
      `the root element is <${root.name}>`,
      expected,
    );
  }
  return root;
}
