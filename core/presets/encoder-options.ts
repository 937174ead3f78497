import { z } from 'zod';

/**
 * The encoder options a user preset may set, each with the encoders that take it and a typed
 * value. Nothing else reaches ffmpeg's command line from config: no input, output, filter or
 * mapping option, and no free text.
 */
export const ENCODER_OPTIONS: Record<string, { encoders: readonly string[]; value: z.ZodType }> = {
  // prores_ks's quantiser: lower is better and bigger (the built-ins use 11 and 5).
  '-qscale:v': { encoders: ['prores_ks'], value: z.number().int().min(1).max(31) },
  '-bits_per_mb': { encoders: ['prores_ks'], value: z.number().int().min(0).max(8192) },
  '-quant_mat': {
    encoders: ['prores_ks'],
    value: z.enum(['auto', 'default', 'proxy', 'lt', 'standard', 'hq']),
  },
  '-crf': { encoders: ['libx264'], value: z.number().min(0).max(51) },
  '-preset': {
    encoders: ['libx264'],
    value: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow']),
  },
  '-tune': {
    encoders: ['libx264'],
    value: z.enum(['film', 'animation', 'grain', 'stillimage', 'fastdecode']),
  },
};

export const ENCODER_OPTION_NAMES = Object.keys(ENCODER_OPTIONS);

/**
 * The encoder's argv (after `-c:v`) with the options applied: an option the defaults already
 * set takes the new value in its place, others follow. Values are already validated. Pure.
 */
export function withEncoderOptions(
  videoArgs: readonly string[],
  options: Readonly<Record<string, string | number>>,
): string[] {
  const args = [...videoArgs];
  for (const [key, value] of Object.entries(options)) {
    const at = args.indexOf(key, 1);
    if (at > 0) args[at + 1] = String(value);
    else args.push(key, String(value));
  }
  return args;
}
