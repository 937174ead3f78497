import type { MediaInfo } from '../core/media/media-info.ts';
import { fileVersion } from './file-version.ts';
import type { Prober } from './probe-runner.ts';

/**
 * A prober that keeps what it found for the last few files, keyed by path, size and modification
 * time: every chunk of a long clip starts by probing the same source, and one worker takes many
 * of them. A file whose size or time changed is probed again; a failed probe is not kept.
 */
export function sourceProbeCache(prober: Prober, max = 8): Prober {
  const kept = new Map<string, MediaInfo>();
  return {
    async probe(file, opts) {
      const key = await fileVersion(file);
      // Missing or unreadable: the prober says so in its own words.
      if (!key) return prober.probe(file, opts);
      const hit = kept.get(key);
      if (hit) {
        // Most recently used last, so the oldest is the one dropped.
        kept.delete(key);
        kept.set(key, hit);
        return hit;
      }
      const media = await prober.probe(file, opts);
      kept.set(key, media);
      while (kept.size > max) kept.delete(kept.keys().next().value!);
      return media;
    },
  };
}
