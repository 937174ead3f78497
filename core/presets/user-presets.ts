import { z } from 'zod';
import { ENCODER_OPTION_NAMES, ENCODER_OPTIONS, withEncoderOptions } from './encoder-options.ts';
import { BUILTIN_PRESET_NAMES, isBuiltinPreset, PRESET_NAME_PATTERN } from './names.ts';
import {
  encoderOf,
  ENCODER_PIX_FMTS,
  ENCODER_PROFILES,
  PRESETS,
  type Preset,
  type ProxySize,
} from './presets.ts';
import { proxySizeSchema } from './size-schema.ts';

const userPresetSchema = z.strictObject({
  /** The built-in it starts from. */
  base: z.enum(BUILTIN_PRESET_NAMES),
  label: z.string().min(1).max(100).optional(),
  /** A profile of the base's encoder (ENCODER_PROFILES), e.g. hq for prores_ks. */
  profile: z.string().optional(),
  size: proxySizeSchema.optional(),
  pix_fmt: z.string().optional(),
  /**
   * Resolve refuses to link a proxy whose audio tracks differ from its clip's: keep streams
   * at all unless every clip this preset is for has the tracks kept.
   */
  audio: z
    .strictObject({
      codec: z.enum(['pcm', 'aac']).default('pcm'),
      streams: z
        .string()
        .regex(/^(all|first-[1-9][0-9]?)$/, 'all, or first-N (e.g. first-2)')
        .default('all'),
    })
    .optional(),
  options: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
});

export type UserPreset = z.output<typeof userPresetSchema>;

/**
 * The `presets:` map of the config: name -> definition. Checked against the base's encoder
 * (its profiles, pixel formats and allowed options), with the offending key named.
 */
export const userPresetsSchema = z
  .record(z.string(), userPresetSchema)
  .superRefine((presets, ctx) => {
    for (const [name, p] of Object.entries(presets)) {
      // Checked here, not by the record's key schema, so the message names the key itself.
      if (!PRESET_NAME_PATTERN.test(name) || isBuiltinPreset(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: isBuiltinPreset(name)
            ? 'a name no built-in preset has'
            : 'a name of lower-case letters, digits, _ and -, at most 40',
        });
        continue;
      }
      const encoder = encoderOf(PRESETS[p.base]);
      const profiles = Object.keys(ENCODER_PROFILES[encoder] ?? {});
      if (p.profile !== undefined && !profiles.includes(p.profile)) {
        ctx.addIssue({
          code: 'custom',
          path: [name, 'profile'],
          message: `a profile of ${encoder}: ${profiles.join(', ')}`,
        });
      }
      const profile = p.profile ?? baseProfileName(p.base);
      const fmts = ENCODER_PIX_FMTS[encoder]?.[profile] ?? [];
      if (p.pix_fmt !== undefined && !fmts.includes(p.pix_fmt)) {
        ctx.addIssue({
          code: 'custom',
          path: [name, 'pix_fmt'],
          message: `a pixel format of ${encoder} profile ${profile}: ${fmts.join(', ')}`,
        });
      }
      for (const [key, value] of Object.entries(p.options)) {
        const option = ENCODER_OPTIONS[key];
        if (!option) {
          ctx.addIssue({
            code: 'custom',
            path: [name, 'options', key],
            message: `not an allowed encoder option (allowed: ${ENCODER_OPTION_NAMES.join(', ')})`,
          });
        } else if (!option.encoders.includes(encoder)) {
          ctx.addIssue({
            code: 'custom',
            path: [name, 'options', key],
            message: `not an option of ${encoder}, which ${p.base} uses`,
          });
        } else {
          const checked = option.value.safeParse(value);
          if (!checked.success) {
            ctx.addIssue({
              code: 'custom',
              path: [name, 'options', key],
              message: checked.error.issues[0]!.message,
            });
          }
        }
      }
    }
  });

/** The config name of the profile a built-in uses (the one whose option its argv carries). */
function baseProfileName(base: (typeof BUILTIN_PRESET_NAMES)[number]): string {
  const preset = PRESETS[base];
  const profiles = ENCODER_PROFILES[encoderOf(preset)] ?? {};
  const arg = preset.videoArgs[preset.videoArgs.indexOf('-profile:v') + 1];
  return Object.keys(profiles).find((k) => profiles[k]!.arg === arg) ?? '';
}

/** A user preset as the encoder runs it: its base with the overrides applied. Pure. */
export function resolveUserPreset(name: string, p: UserPreset, size: ProxySize): Preset {
  const base = PRESETS[p.base];
  const encoder = encoderOf(base);
  let videoArgs = [...base.videoArgs];
  let { fourcc, profile, label, bitsPerPixel } = base;
  if (p.profile !== undefined) {
    const chosen = ENCODER_PROFILES[encoder]![p.profile]!;
    videoArgs = withEncoderOptions(videoArgs, { '-profile:v': chosen.arg });
    ({ fourcc, label, bitsPerPixel } = chosen);
    profile = chosen.probe;
  }
  const streams = p.audio?.streams ?? 'all';
  return {
    ...base,
    // The type keeps built-in names; a user preset's own name is shown beside its label.
    label: p.label ?? `${label} (${name})`,
    fourcc,
    profile,
    bitsPerPixel,
    size: p.size ?? size,
    pixFmt: p.pix_fmt ?? base.pixFmt,
    videoArgs: withEncoderOptions(videoArgs, p.options),
    audio: {
      codec: p.audio?.codec ?? 'pcm',
      streams: streams === 'all' ? 'all' : Number(streams.slice('first-'.length)),
    },
  };
}
