import { stat } from 'node:fs/promises';
import type { Logger } from '../core/log.ts';
import type { Prober } from './probe-runner.ts';

export interface ProbeAheadDeps {
  /** Source files of the next jobs in line (see JobLine). */
  nextSources(count: number): Promise<string[]>;
  /** The source probe cache the processors read (sourceProbeCache). */
  prober: Prober;
  /** How many jobs ahead: this worker's slots. */
  count: number;
  /** After a job starts, so its own ffmpeg is under way first. */
  delayMs: number;
  /** One ffprobe may take this long (worker.probe_seconds). */
  timeoutMs: number;
  logger: Logger;
}

export interface ProbeAhead {
  /** A job started here: look at what comes next (once, however many start together). */
  kick(): void;
  stop(): void;
}

/**
 * While this worker encodes, probes the sources of the next jobs in line into the source probe
 * cache, so the next job on a freed slot goes from the queue to its ffmpeg without waiting for
 * ffprobe. Best effort: a file that fails here is probed again by its job, which reports it.
 */
export function createProbeAhead(deps: ProbeAheadDeps): ProbeAhead {
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;

  const probeOne = async (file: string) => {
    // Only regular files: ffprobe would wait for ever on a FIFO or a device.
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) return;
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(deps.timeoutMs)]);
    await deps.prober.probe(file, { signal }).catch((err: unknown) => {
      deps.logger.debug({ err, source: file }, 'probing ahead failed; its job will say why');
    });
  };

  const run = async () => {
    running = true;
    try {
      do {
        again = false;
        const files = await deps.nextSources(deps.count).catch(() => [] as string[]);
        for (const file of files) {
          if (stopping.signal.aborted) return;
          await probeOne(file);
        }
      } while (again && !stopping.signal.aborted);
    } finally {
      running = false;
    }
  };

  return {
    kick() {
      if (stopping.signal.aborted) return;
      if (running) {
        again = true;
        return;
      }
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        void run();
      }, deps.delayMs);
      timer.unref();
    },
    stop() {
      clearTimeout(timer);
      stopping.abort();
    },
  };
}
