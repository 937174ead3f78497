import {
  Document,
  isCollection,
  isMap,
  isNode,
  isScalar,
  parseDocument,
  visit,
  type Node,
  type Pair,
  type ToStringOptions,
  type YAMLMap,
} from 'yaml';
import { ConfigError, InputError } from '../errors.ts';
import { redactText } from '../secrets/redact.ts';
import { allowed } from './load.ts';
import { configSchema, type Config } from './schema.ts';

/** A config key: a section, or a section and one of its keys. */
export type KeyPath = [string] | [string, string];

/** Where an effective value came from: the schema's default, the file, or a PROXIMA_ variable. */
export type Origin = { from: 'default' } | { from: 'file' } | { from: 'env'; variable: string };

const DEFAULTS = configSchema.parse({}) as unknown as Record<string, Record<string, unknown>>;

/** `worker.concurrency` as a path, refused unless the schema knows it. */
export function parseKey(key: string, { leafOnly = false } = {}): KeyPath {
  const parts = key.split('.');
  const [section, name] = parts;
  const keys =
    section !== undefined && Object.hasOwn(DEFAULTS, section) ? DEFAULTS[section] : undefined;
  if (!keys || parts.length > 2 || (name !== undefined && !Object.hasOwn(keys, name))) {
    const hint = keys
      ? `keys of ${section}: ${Object.keys(keys).join(', ')}`
      : `sections: ${Object.keys(DEFAULTS).join(', ')}`;
    throw new InputError('CONFIG_KEY_UNKNOWN', `unknown config key "${key}"`, hint);
  }
  if (name === undefined) {
    if (leafOnly) {
      throw new InputError(
        'CONFIG_KEY_UNKNOWN',
        `config key "${key}" is a section, give SECTION.KEY`,
        `keys of ${section}: ${Object.keys(keys).join(', ')}`,
      );
    }
    return [section!];
  }
  return [section!, name];
}

export function valueAt(config: Config, path: KeyPath): unknown {
  const section = (config as unknown as Record<string, Record<string, unknown>>)[path[0]]!;
  return path.length === 1 ? section : section[path[1]];
}

/** Scalars bare (for scripts), lists and sections as one line of JSON (also valid YAML). */
export function formatValue(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** The config file's text as a Document; broken YAML is one error naming the file and line. */
export function readDocument(text: string, file: string): Document {
  const doc = parseDocument(text);
  const e = doc.errors[0];
  if (e) {
    const line = e.linePos?.[0].line;
    throw new ConfigError(
      `config file ${file}${line ? ` line ${line}` : ''}: not valid YAML (${e.message.split('\n')[0]})`,
      'fix it with "proxima config edit", or start over with "proxima config reset"',
    );
  }
  return doc;
}

/**
 * The file's text with `path` set to `valueText` (read as YAML, like PROXIMA_ variables), when
 * the whole resulting file is a valid config; throws naming the key and what it takes otherwise.
 */
export function setKey(text: string, file: string, path: KeyPath, valueText: string): string {
  const key = path.join('.');
  const candidates = valueNodes(valueText, key);
  let firstError: ConfigError | undefined;
  for (const node of candidates) {
    const doc = readDocument(text, file);
    const before = doc.toString(FORMAT);
    const old = doc.getIn(path, true);
    if (isNode(old)) keepLayout(old, node);
    changeIn(doc, file, () => doc.setIn(path, node));
    const error = configError(doc, file, key);
    if (!error) return keepUntouchedLines(text, before, doc.toString(FORMAT));
    firstError ??= error;
  }
  throw firstError!;
}

/** The file's text without `path`, so its default applies again; the key's comment stays. */
export function unsetKey(text: string, file: string, path: KeyPath): string {
  const doc = readDocument(text, file);
  const before = doc.toString(FORMAT);
  const section = doc.getIn([path[0]], true);
  if (path.length === 1 || (removeKey(section, path[1]) && isEmptyMap(section))) {
    // A section left with nothing in it goes too, so set then unset gives back the same file.
    removeKey(doc.contents, path[0]);
  }
  const error = configError(doc, file, path.join('.'));
  if (error) throw error;
  return keepUntouchedLines(text, before, doc.toString(FORMAT));
}

/** Where each `section.key` of the effective config came from. */
export function origins(
  fileText: string,
  envOverrides: Readonly<Record<string, string>>,
): Map<string, Origin> {
  const doc = parseDocument(fileText);
  const out = new Map<string, Origin>();
  for (const [section, keys] of Object.entries(DEFAULTS)) {
    for (const name of Object.keys(keys)) {
      const key = `${section}.${name}`;
      const variable = envOverrides[key];
      if (variable) out.set(key, { from: 'env', variable });
      else if (doc.hasIn([section, name])) out.set(key, { from: 'file' });
      else out.set(key, { from: 'default' });
    }
  }
  return out;
}

/** The config as YAML, one line per key, each ending in a comment saying where it came from. */
export function yamlWithOrigins(config: Config, from: ReadonlyMap<string, Origin>): string {
  const doc = new Document(config);
  // Lists on one line, so every key's origin is at the end of its own line.
  visit(doc, { Seq: (_key, node) => void (node.flow = true) });
  for (const section of (doc.contents as YAMLMap<Node, Node>).items) {
    for (const pair of (section.value as YAMLMap<Node, Node>).items) {
      const key = `${String((section.key as { value: unknown }).value)}.${String((pair.key as { value: unknown }).value)}`;
      const origin = from.get(key) ?? { from: 'default' };
      pair.value!.comment = origin.from === 'env' ? ` env ${origin.variable}` : ` ${origin.from}`;
    }
  }
  return doc.toString(FORMAT);
}

/** Never folded: a long path stays on one line, the way it was written. */
const FORMAT: ToStringOptions = { lineWidth: 0, flowCollectionPadding: false };

/** VALUE as YAML; a scalar that is refused as such gets a second chance as the text itself. */
function valueNodes(valueText: string, key: string): Node[] {
  const value = parseDocument(valueText);
  if (value.errors.length > 0) {
    throw new InputError(
      'CONFIG_VALUE_INVALID',
      `value for ${key} is not valid YAML (${value.errors[0]!.message.split('\n')[0]})`,
      'quote it, e.g. \'"text"\', or write lists as [a, b]',
    );
  }
  const node = value.contents;
  // An empty value is an empty text, as with PROXIMA_ variables.
  if (node === null || (isScalar(node) && node.value === null)) return [new Document('').contents!];
  const nodes: Node[] = [node];
  if (isScalar(node) && typeof node.value !== 'string')
    nodes.push(new Document(valueText).contents!);
  return nodes;
}

/** The replaced value's trailing comment and quoting carry over to the new one. */
function keepLayout(old: Node, node: Node): void {
  node.comment ??= old.comment;
  node.commentBefore ??= old.commentBefore;
  node.spaceBefore ??= old.spaceBefore;
  if (!isScalar(old) || !isScalar(node) || typeof node.value !== 'string') return;
  if (!node.type || node.type === 'PLAIN') node.type = old.type;
}

/** Whether `map` had `name` to remove. */
function removeKey(map: unknown, name: string): boolean {
  if (!isMap(map)) return false;
  const index = map.items.findIndex((p) => isScalar(p.key) && p.key.value === name);
  if (index < 0) return false;
  const [removed] = map.items.splice(index, 1) as Pair<Node>[];
  handOnComment(map, index, removed!);
  return true;
}

function isEmptyMap(node: unknown): boolean {
  return isMap(node) && node.items.length === 0 && !node.comment && !node.commentBefore;
}

/** A removed key's leading comment (and blank line) goes to the key after it, or the map's end. */
function handOnComment(map: YAMLMap, index: number, removed: Pair<Node>): void {
  const comment = isNode(removed.key) ? removed.key.commentBefore : undefined;
  const space = isNode(removed.key) && removed.key.spaceBefore;
  const next = map.items[index]?.key;
  if (isNode(next)) {
    if (comment)
      next.commentBefore = next.commentBefore ? `${comment}\n${next.commentBefore}` : comment;
    if (space) next.spaceBefore = true;
  } else if (comment) {
    map.comment = map.comment ? `${comment}\n${map.comment}` : comment;
  }
}

function changeIn(doc: Document, file: string, change: () => void): void {
  try {
    change();
  } catch (err) {
    throw new ConfigError(
      `config file ${file}: ${err instanceof Error ? err.message : String(err)}`,
      'fix it with "proxima config edit", or start over with "proxima config reset"',
    );
  }
  if (!isCollection(doc.contents)) {
    throw new ConfigError(
      `config file ${file}: expected a mapping of sections (paths:, broker:, ...)`,
      'start over with "proxima config reset"',
    );
  }
}

/** The first problem of the file as it would be written, naming the key; none when valid. */
function configError(doc: Document, file: string, changed: string): InputError | undefined {
  const parsed = configSchema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return new InputError(
      'CONFIG_INVALID',
      `config file ${file}: unknown key "${[...path, issue.keys[0] ?? ''].join('.')}"`,
      'fix it with "proxima config edit"; nothing was written',
    );
  }
  const key = path.join('.');
  const got = redactText(JSON.stringify(readAt(doc.toJS(), path)) ?? '(missing)');
  return new InputError(
    'CONFIG_VALUE_INVALID',
    `key ${key} has bad value ${got}, expected ${allowed(issue)}`,
    key === changed
      ? `nothing was written; give ${key} ${allowed(issue)}`
      : `nothing was written; ${key} in ${file} needs fixing first ("proxima config edit")`,
  );
}

function readAt(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/**
 * `after` with every line that the change did not touch taken from the original text, so spacing
 * the YAML printer would normalise (`[]   # note`, `[a, b]`) stays as the user wrote it. Lines
 * map one to one only when printing the unchanged document kept the line count; else `after`.
 */
function keepUntouchedLines(original: string, before: string, after: string): string {
  const orig = original.split('\n');
  const a = before.split('\n');
  const b = after.split('\n');
  if (orig.length !== a.length) return after;
  // Longest common subsequence of lines; the files are a few hundred lines.
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0),
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] =
        a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(orig[i]!);
      i++;
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      out.push(b[j++]!);
    } else {
      i++;
    }
  }
  return out.join('\n');
}
