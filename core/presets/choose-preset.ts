import type { Config } from '../config/schema.ts';
import { InputError } from '../errors.ts';
import type { MediaInfo } from '../media/media-info.ts';
import { matchesAny } from '../paths/glob.ts';
import { BUILTIN_PRESET_NAMES, isBuiltinPreset } from './names.ts';
import { presetAt, type Preset, type ProxySize } from './presets.ts';
import type { PresetRule } from './rule-schema.ts';
import { resolveUserPreset, type UserPreset } from './user-presets.ts';

export type { PresetRule } from './rule-schema.ts';

/**
 * Every preset a job may name: the built-ins plus the user presets, at one proxy size. Plain
 * data, so a job payload can carry it and every worker builds the same preset whatever its own
 * config says.
 */
export interface PresetTable {
  /** encoding.size: the size of every preset that does not set its own. */
  readonly size: ProxySize;
  /** User presets (config `presets:`) by name. */
  readonly user: Readonly<Record<string, UserPreset>>;
}

export interface PresetChoice {
  name: string;
  preset: Preset;
  /**
   * The rule that chose it: its 0-based place in encoding.rules and describeRule's text (which
   * counts from 1, as people do); null when none matched or the request named the preset.
   */
  rule: { index: number; description: string } | null;
}

/** config.presets + built-ins, at config.encoding.size. */
export function presetTableFrom(config: Config): PresetTable {
  return { size: config.encoding.size, user: config.presets };
}

/** Built-ins first, then user presets in config order. */
export function presetNames(table: PresetTable): string[] {
  return [...BUILTIN_PRESET_NAMES, ...Object.keys(table.user)];
}

export function hasPreset(table: PresetTable, name: string): boolean {
  return isBuiltinPreset(name) || Object.hasOwn(table.user, name);
}

/** A name not in the table, with the ones that are. */
export class UnknownPresetError extends InputError {
  readonly preset: string;
  readonly known: readonly string[];

  constructor(name: string, known: readonly string[]) {
    super(
      'PRESET_UNKNOWN',
      `unknown preset "${name}" (known: ${known.join(', ')})`,
      'use a built-in preset name or one defined under presets: in the config',
    );
    this.preset = name;
    this.known = known;
  }
}

/** The preset a name stands for: the one lookup the gateway and every worker use. */
export function resolvePreset(table: PresetTable, name: string): Preset {
  if (isBuiltinPreset(name)) return presetAt(name, table.size);
  const user = Object.hasOwn(table.user, name) ? table.user[name] : undefined;
  if (!user) throw new UnknownPresetError(name, presetNames(table));
  return resolveUserPreset(name, user, table.size);
}

/** The first rule whose every field matches the source; null: none. Pure. */
export function matchingRule(
  media: MediaInfo,
  sourcePath: string,
  rules: readonly PresetRule[],
): number | null {
  const index = rules.findIndex((rule) => ruleMatches(rule, media, sourcePath));
  return index < 0 ? null : index;
}

/**
 * The preset for one probed source: the first matching rule's, else the fallback (encoding.preset,
 * or the request's explicit preset, which the caller passes with no rules). Pure.
 */
export function choosePreset(
  media: MediaInfo,
  sourcePath: string,
  table: PresetTable,
  rules: readonly PresetRule[],
  fallback: string,
): PresetChoice {
  const index = matchingRule(media, sourcePath, rules);
  if (index === null) return { name: fallback, preset: resolvePreset(table, fallback), rule: null };
  const rule = rules[index]!;
  return {
    name: rule.preset,
    preset: resolvePreset(table, rule.preset),
    rule: { index, description: describeRule(rule, index) },
  };
}

type Range = { min?: number | undefined; max?: number | undefined };

function inRange(value: number, r: Range): boolean {
  return (r.min === undefined || value >= r.min) && (r.max === undefined || value <= r.max);
}

function extensionOf(path: string): string {
  const name = path.replace(/\\/g, '/').split('/').pop() ?? '';
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

function ruleMatches(rule: PresetRule, media: MediaInfo, sourcePath: string): boolean {
  const m = rule.match;
  const v = media.video;
  // A field about the picture never matches a file without one.
  const needsVideo =
    m.codec || m.width || m.height || m.fps || m.bit_depth !== undefined || m.chroma;
  if (needsVideo && !v) return false;
  if (v) {
    if (m.codec && !m.codec.includes(v.codec.toLowerCase())) return false;
    if (m.width && !inRange(v.width, m.width)) return false;
    if (m.height && !inRange(v.height, m.height)) return false;
    if (m.fps && !inRange(v.frameRate[0] / v.frameRate[1], m.fps)) return false;
    if (m.bit_depth !== undefined) {
      const ok = Array.isArray(m.bit_depth)
        ? m.bit_depth.includes(v.bitDepth)
        : inRange(v.bitDepth, m.bit_depth);
      if (!ok) return false;
    }
    if (m.chroma && !m.chroma.includes(v.chroma)) return false;
  }
  if (m.extension && !m.extension.includes(extensionOf(sourcePath))) return false;
  if (m.path !== undefined && !matchesAny(sourcePath, [m.path])) return false;
  return true;
}

function describeRange(field: string, r: Range): string {
  if (r.min !== undefined && r.max !== undefined) return `${field} ${r.min}-${r.max}`;
  return r.min !== undefined ? `${field} >= ${r.min}` : `${field} <= ${r.max}`;
}

/** For logs, job views and `presets explain`, e.g. "rule 2: codec hevc, height >= 2160 -> dnxhr-lb". */
export function describeRule(rule: PresetRule, index: number): string {
  const m = rule.match;
  const parts: string[] = [];
  if (m.codec) parts.push(`codec ${m.codec.join('|')}`);
  if (m.width) parts.push(describeRange('width', m.width));
  if (m.height) parts.push(describeRange('height', m.height));
  if (m.fps) parts.push(describeRange('fps', m.fps));
  if (m.bit_depth !== undefined) {
    parts.push(
      Array.isArray(m.bit_depth)
        ? `bit_depth ${m.bit_depth.join('|')}`
        : describeRange('bit_depth', m.bit_depth),
    );
  }
  if (m.chroma) parts.push(`chroma ${m.chroma.join('|')}`);
  if (m.extension) parts.push(`extension ${m.extension.join('|')}`);
  if (m.path !== undefined) parts.push(`path ${m.path}`);
  return `rule ${index + 1}: ${parts.length ? parts.join(', ') : 'any source'} -> ${rule.preset}`;
}
