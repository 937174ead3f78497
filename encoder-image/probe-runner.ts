import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { MediaError, ProximaError } from '../core/errors.ts';
import type { MediaInfo } from '../core/media/media-info.ts';
import { PROBE_ARGS, parseProbe } from '../core/media/parse-probe.ts';
import { guardedCommand, trackChild, type ChildGuard } from './child-guard.ts';

export interface ProbeOptions {
  /** Kills ffprobe when the job is interrupted (the worker stops, the lock is lost). */
  signal?: AbortSignal;
}

export interface Prober {
  probe(path: string, opts?: ProbeOptions): Promise<MediaInfo>;
}

export interface ProberOptions {
  /** Runs ffprobe so that it dies with this process (setpriv); plain spawn without. */
  guard?: ChildGuard;
  /** One ffprobe may take this long (worker.probe_seconds); 0: no limit. */
  timeoutSeconds?: number;
}

export function createProber(ffprobe: string, options: ProberOptions = {}): Prober {
  const timeoutMs = (options.timeoutSeconds ?? 0) * 1000;
  return {
    async probe(path, opts = {}) {
      try {
        await access(path);
      } catch {
        throw new MediaError(
          'SOURCE_MISSING',
          `${path} does not exist or cannot be read`,
          'check the path is mounted on this worker at the same place, then queue it again',
        );
      }
      const cmd =
        options.guard?.command(ffprobe, [...PROBE_ARGS, path]) ??
        guardedCommand(null, ffprobe, [...PROBE_ARGS, path]);
      const stdout = await new Promise<string>((resolve, reject) => {
        const child = execFile(
          cmd.file,
          cmd.args,
          {
            maxBuffer: 32 * 1024 * 1024,
            timeout: timeoutMs,
            killSignal: 'SIGKILL',
            signal: opts.signal,
          },
          (err, out, errText) => {
            if (!err) return resolve(out);
            if (opts.signal?.aborted) return reject(err);
            if (err.killed && timeoutMs > 0 && err.code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
              // A hung read (a stalled network mount, a pipe nobody writes) is not a broken
              // file: retried, since another attempt or worker may well read it.
              return reject(
                new ProximaError(
                  'PROBE_TIMEOUT',
                  `ffprobe of ${path} took longer than worker.probe_seconds (${timeoutMs / 1000} s)`,
                  'check that the storage holding the file responds (a hung network mount?)',
                ),
              );
            }
            const last = String(errText).trim().split('\n').pop() || err.message;
            // ffprobe starts its line with the file's name: the message names it once.
            const reason = last.startsWith(`${path}: `) ? last.slice(path.length + 2) : last;
            reject(
              new MediaError(
                'MEDIA_UNREADABLE',
                `${path} cannot be read as media: ${reason}`,
                'the file is corrupt or incomplete (still copying?); replace it and queue again',
              ),
            );
          },
        );
        trackChild(child);
      });
      return parseProbe(JSON.parse(stdout));
    },
  };
}
