import { z } from 'zod';
import { PRESET_NAME_PATTERN } from './names.ts';

const range = z
  .strictObject({ min: z.number().min(0).optional(), max: z.number().min(0).optional() })
  .refine((r) => r.min !== undefined || r.max !== undefined, 'min, max or both')
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min <= max');

const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.union([item, z.array(item).min(1).max(100)]).transform((v) => (Array.isArray(v) ? v : [v]));

const chroma = z.enum(['420', '422', '444']);

/**
 * One `encoding.rules` entry: the preset for sources whose probe (and path) match every field
 * given. A rule with no field matches everything, which is legal but makes later rules moot.
 */
export const presetRuleSchema = z.strictObject({
  preset: z.string().regex(PRESET_NAME_PATTERN, 'a preset name'),
  match: z
    .strictObject({
      /** ffprobe's codec name, e.g. h264, hevc, prores (case-insensitive). */
      codec: oneOrMany(
        z
          .string()
          .min(1)
          .max(40)
          .transform((s) => s.toLowerCase()),
      ).optional(),
      width: range.optional(),
      height: range.optional(),
      fps: range.optional(),
      bit_depth: z.union([oneOrMany(z.number().int().min(1).max(32)), range]).optional(),
      chroma: oneOrMany(z.union([chroma, z.literal([420, 422, 444]).transform(String)])).optional(),
      /** File extensions, without the dot (case-insensitive). */
      extension: oneOrMany(
        z
          .string()
          .regex(/^\.?[A-Za-z0-9]{1,10}$/, 'an extension, e.g. mov')
          .transform((s) => s.replace(/^\./, '').toLowerCase()),
      ).optional(),
      /** A path glob (core/paths/glob.ts), matched against the farm path of the source. */
      path: z.string().min(1).max(4096).optional(),
    })
    .prefault({}),
});

export type PresetRule = z.output<typeof presetRuleSchema>;
export type PresetRuleInput = z.input<typeof presetRuleSchema>;

export const presetRulesSchema = z.array(presetRuleSchema).max(200);
