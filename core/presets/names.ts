/**
 * The built-in presets' names: the one list the config schema, the job contract and the preset
 * table are built from. Kept apart from the definitions so the schemas need no encoder details.
 */
export const BUILTIN_PRESET_NAMES = [
  'prores-proxy',
  'prores-lt',
  'dnxhr-lb',
  'dnxhr-sq',
  'h264-intra',
] as const;

export type BuiltinPresetName = (typeof BUILTIN_PRESET_NAMES)[number];

/** What a user preset may be called: short, and safe in a job id, a log line and a YAML key. */
export const PRESET_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export function isBuiltinPreset(name: string): name is BuiltinPresetName {
  return (BUILTIN_PRESET_NAMES as readonly string[]).includes(name);
}
