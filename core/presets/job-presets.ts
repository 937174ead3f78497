import { hasPreset, presetNames, UnknownPresetError, type PresetTable } from './choose-preset.ts';
import type { PresetRule } from './rule-schema.ts';
import type { UserPreset } from './user-presets.ts';

/** What an encode job carries to choose and build its preset on any worker. */
export interface JobPresets {
  /** The fallback: the request's explicit preset, else encoding.preset. */
  preset: string;
  /** encoding.rules; none when the request named its preset, which overrides them. */
  rules: PresetRule[];
  /** The user presets the fallback and the rules name, and no others. */
  presets: Record<string, UserPreset>;
}

/**
 * The presets part of a job's payload. An unknown name (the request's; the config's are
 * checked when it loads) is an UnknownPresetError naming the known ones. Pure.
 */
export function jobPresets(
  table: PresetTable,
  rules: readonly PresetRule[],
  fallback: string,
  explicit?: string,
): JobPresets {
  const preset = explicit ?? fallback;
  const used = explicit !== undefined ? [] : [...rules];
  for (const name of [preset, ...used.map((r) => r.preset)]) {
    if (!hasPreset(table, name)) throw new UnknownPresetError(name, presetNames(table));
  }
  const presets: Record<string, UserPreset> = {};
  for (const name of [preset, ...used.map((r) => r.preset)]) {
    if (Object.hasOwn(table.user, name)) presets[name] = table.user[name]!;
  }
  return { preset, rules: used, presets };
}
