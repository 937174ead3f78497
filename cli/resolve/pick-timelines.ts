import { createInterface } from 'node:readline/promises';
import { InputError } from '../../core/errors.ts';
import type { OutputStream } from '../progress/progress-view.ts';
import type { ResolveBridge } from './bridge-client.ts';

/**
 * `1,3-4` -> [1, 3, 4]; empty -> every number from 1 to max. Pure. Throws an InputError naming
 * the bad part.
 */
export function parseChoice(answer: string, max: number): number[] {
  const text = answer.trim();
  if (!text) return Array.from({ length: max }, (_, i) => i + 1);
  const chosen = new Set<number>();
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const from = Number(m?.[1]);
    const to = Number(m?.[2] ?? m?.[1]);
    if (!m || from < 1 || to > max || from > to) {
      throw new InputError(
        'BAD_CHOICE',
        `"${part}" is not a number or range between 1 and ${max}`,
        'answer with numbers and ranges, e.g. 1,3-4, or nothing for all',
      );
    }
    for (let n = from; n <= to; n++) chosen.add(n);
  }
  return [...chosen].sort((a, b) => a - b);
}

export interface Picked {
  names: string[];
  tracks: Record<string, number[]>;
}

/** Asks at the terminal which timelines, then which of their video tracks. */
export async function pickTimelines(
  bridge: ResolveBridge,
  input: NodeJS.ReadableStream & { isTTY?: boolean },
  out: OutputStream,
): Promise<Picked> {
  if (!input.isTTY) {
    throw new InputError(
      'NOT_A_TERMINAL',
      '--select asks questions, but standard input is not a terminal',
      'name the timelines with --timeline NAME (repeatable) or use --all-timelines',
    );
  }
  const rl = createInterface({ input, output: out as NodeJS.WritableStream });
  try {
    const all = await bridge.listTimelines();
    all.forEach((t, i) => out.write(`  ${i + 1}) ${t.name}\n`));
    const chosen = parseChoice(
      await rl.question('timelines (e.g. 1,3-4; empty: all): '),
      all.length,
    );
    const picked: Picked = { names: [], tracks: {} };
    for (const n of chosen) {
      const timeline = await bridge.readTimeline(all[n - 1]!.name);
      picked.names.push(timeline.name);
      timeline.videoTracks.forEach((t) =>
        out.write(`  V${t.index}: ${t.items.length} items${t.enabled ? '' : ' (disabled)'}\n`),
      );
      picked.tracks[timeline.name] = parseChoice(
        await rl.question(`video tracks of ${timeline.name} (empty: all): `),
        timeline.videoTracks.length,
      );
    }
    return picked;
  } finally {
    rl.close();
  }
}
