import path from 'node:path';
import { createProber, type Prober } from '../../encoder-image/probe-runner.ts';
import { FFPROBE } from './media.ts';

/** The real ffprobe, counting the files it was run on (by base name). */
export function countingProber(): { prober: Prober; runs: string[] } {
  const real = createProber(FFPROBE, { timeoutSeconds: 10 });
  const runs: string[] = [];
  return {
    runs,
    prober: {
      probe(file, opts) {
        runs.push(path.basename(file));
        return real.probe(file, opts);
      },
    },
  };
}
