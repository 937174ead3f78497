import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { MediaError } from '../core/errors.ts';
import type { MediaInfo } from '../core/media/media-info.ts';
import { PROBE_ARGS, parseProbe } from '../core/media/parse-probe.ts';

export interface Prober {
  probe(path: string): Promise<MediaInfo>;
}

export function createProber(ffprobe: string): Prober {
  return {
    async probe(path) {
      try {
        await access(path);
      } catch {
        throw new MediaError(
          'SOURCE_MISSING',
          `source file ${path} does not exist or cannot be read`,
          'check the path is mounted on this worker at the same place, then queue it again',
        );
      }
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(
          ffprobe,
          [...PROBE_ARGS, path],
          { maxBuffer: 32 * 1024 * 1024 },
          (err, out, errText) => {
            if (!err) return resolve(out);
            const reason = String(errText).trim().split('\n').pop() || err.message;
            reject(
              new MediaError(
                'MEDIA_UNREADABLE',
                `${path} cannot be read as media: ${reason}`,
                'the file is corrupt or incomplete (still copying?); replace it and queue again',
              ),
            );
          },
        );
      });
      return parseProbe(JSON.parse(stdout));
    },
  };
}
