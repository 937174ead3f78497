import { spawn } from 'node:child_process';
import { createProgressParser } from '../core/ffmpeg/progress-parser.ts';
import type { Progress } from '../core/job/contract.ts';

export interface RunOptions {
  signal?: AbortSignal;
  /** Source duration, to turn output time into a percentage. */
  durationSec: number;
  onProgress?: (p: Progress) => void;
}

export interface FfmpegRunner {
  run(args: readonly string[], opts: RunOptions): Promise<void>;
}

/** Why ffmpeg failed: the process's last meaningful stderr line, and whether it was aborted. */
export class FfmpegFailed extends Error {
  constructor(
    readonly reason: string,
    readonly exitCode: number | null,
    readonly aborted: boolean,
  ) {
    super(`ffmpeg failed: ${reason}`);
    this.name = 'FfmpegFailed';
  }
}

const PROGRESS_INTERVAL_MS = 250;
const STDERR_LINES = 20;

export function createFfmpegRunner(binary: string): FfmpegRunner {
  return {
    run(args, opts) {
      return new Promise<void>((resolve, reject) => {
        const child = spawn(binary, args, {
          signal: opts.signal,
          stdio: ['ignore', 'pipe', 'pipe'],
          killSignal: 'SIGKILL',
        });
        const parse = createProgressParser(opts.durationSec);
        const tail: string[] = [];
        let last: Progress | undefined;
        let lastSent = 0;
        let timer: NodeJS.Timeout | undefined;
        const flush = () => {
          timer = undefined;
          if (last && opts.onProgress) opts.onProgress(last);
          lastSent = Date.now();
        };
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          for (const p of parse(chunk)) last = p;
          if (!last || timer) return;
          const wait = PROGRESS_INTERVAL_MS - (Date.now() - lastSent);
          if (wait <= 0) flush();
          else timer = setTimeout(flush, wait);
        });
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          for (const line of chunk.split('\n')) {
            if (line.trim()) tail.push(line.trim());
          }
          tail.splice(0, Math.max(0, tail.length - STDERR_LINES));
        });
        child.once('error', (err) => {
          if (timer) clearTimeout(timer);
          const aborted = opts.signal?.aborted ?? false;
          reject(new FfmpegFailed(aborted ? 'aborted' : err.message, null, aborted));
        });
        child.once('close', (code) => {
          if (timer) clearTimeout(timer);
          if (code === 0) {
            flush();
            resolve();
            return;
          }
          const aborted = opts.signal?.aborted ?? false;
          const reason = aborted
            ? 'aborted'
            : (tail.filter((l) => !/^(Conversion failed|Exiting)/.test(l)).pop() ??
              `exit code ${String(code)}`);
          reject(new FfmpegFailed(reason, code, aborted));
        });
      });
    },
  };
}
