import type { Config } from '../../core/config/schema.ts';
import {
  choosePreset,
  describeRule,
  hasPreset,
  presetNames,
  presetTableFrom,
  resolvePreset,
  UnknownPresetError,
  type PresetChoice,
} from '../../core/presets/choose-preset.ts';
import type { MediaInfo } from '../../core/media/media-info.ts';
import { isBuiltinPreset } from '../../core/presets/names.ts';
import type { Preset } from '../../core/presets/presets.ts';

/** One preset as `presets list` shows it. */
export interface PresetEntry {
  name: string;
  preset: Preset;
  /** The built-in a user preset starts from; null for a built-in. */
  base: string | null;
  /** encoding.preset names it. */
  isDefault: boolean;
}

/** Every preset the config offers, built-ins first, each at its size. */
export function presetEntries(config: Config): PresetEntry[] {
  const table = presetTableFrom(config);
  return presetNames(table).map((name) => ({
    name,
    preset: resolvePreset(table, name),
    base: isBuiltinPreset(name) ? null : table.user[name]!.base,
    isDefault: name === config.encoding.preset,
  }));
}

/** encoding.rules as describeRule words them, in order. */
export function ruleDescriptions(config: Config): string[] {
  return config.encoding.rules.map((rule, i) => describeRule(rule, i));
}

/**
 * The preset a worker would encode `farmPath` with: `forced` as `queue --preset` gives it
 * (no rule applies then), else the first matching rule's, else encoding.preset.
 */
export function choosePresetFor(
  config: Config,
  media: MediaInfo,
  farmPath: string,
  forced: string | undefined,
): PresetChoice {
  const table = presetTableFrom(config);
  if (forced !== undefined && !hasPreset(table, forced)) {
    throw new UnknownPresetError(forced, presetNames(table));
  }
  return forced !== undefined
    ? choosePreset(media, farmPath, table, [], forced)
    : choosePreset(media, farmPath, table, config.encoding.rules, config.encoding.preset);
}
