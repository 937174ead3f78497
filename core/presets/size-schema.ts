import { z } from 'zod';
import type { ProxySize } from './presets.ts';

/**
 * A proxy size in config or a job: YAML reads `size: 720` as a number and `size: "720"` (or an
 * environment variable) as a string; both mean the 720-line height.
 */
export const proxySizeSchema = z
  .union(
    [
      z.literal([540, 720, 1080]),
      z.enum(['540', '720', '1080']).transform((s) => Number(s) as 540 | 720 | 1080),
      z.enum(['half', 'quarter', 'source']),
    ],
    { error: 'one of 540, 720, 1080, half, quarter, source' },
  )
  .transform((s): ProxySize => s);
