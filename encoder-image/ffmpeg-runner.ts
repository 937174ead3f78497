import { spawn } from 'node:child_process';
import { createProgressParser } from '../core/ffmpeg/progress-parser.ts';
import type { Progress } from '../core/job/contract.ts';
import { guardedCommand, trackChild, type ChildGuard } from './child-guard.ts';
import { advanced, tick, tickMsFor, type StallClock } from './stall-watch.ts';

export interface RunOptions {
  signal?: AbortSignal;
  /** The job this ffmpeg works for, when its signal is one the job's processor derived. */
  jobId?: string;
  /** Source duration, to turn output time into a percentage. */
  durationSec: number;
  onProgress?: (p: Progress) => void;
  /** Told when the stall watch kills this ffmpeg, with the reason the attempt fails with. */
  onStall?: (reason: string) => void;
  /** Told when this ffmpeg moves forward (so a worker flagged as stalled is healthy again). */
  onAdvance?: () => void;
}

export interface FfmpegRunner {
  run(args: readonly string[], opts: RunOptions): Promise<void>;
}

export interface FfmpegRunnerOptions {
  /** Runs ffmpeg so that it dies with this process (setpriv); plain spawn without. */
  guard?: ChildGuard;
  /** ffmpeg without progress this long is killed (worker.stall_seconds); 0: never. */
  stallSeconds?: number;
}

/** Why ffmpeg failed: the process's last meaningful stderr line, and whether it was aborted. */
export class FfmpegFailed extends Error {
  constructor(
    readonly reason: string,
    readonly exitCode: number | null,
    readonly aborted: boolean,
    /** Killed by the stall watch: no progress for worker.stall_seconds. */
    readonly stalled = false,
  ) {
    super(`ffmpeg failed: ${reason}`);
    this.name = 'FfmpegFailed';
  }
}

const PROGRESS_INTERVAL_MS = 250;
/** ffmpeg's own line for a packet the decoder refused (not the decoder's concealment notes). */
const DECODE_ERROR = /^Error while decoding stream #/;
const STDERR_LINES = 20;
/** After ffmpeg exits, how long a grandchild still holding its pipes may delay the result. */
const CLOSE_GRACE_MS = 5000;

export function createFfmpegRunner(
  binary: string,
  options: FfmpegRunnerOptions = {},
): FfmpegRunner {
  const stallMs = (options.stallSeconds ?? 0) * 1000;
  return {
    run(args, opts) {
      return new Promise<void>((resolve, reject) => {
        const cmd = options.guard?.command(binary, args) ?? guardedCommand(null, binary, args);
        const child = spawn(cmd.file, cmd.args, {
          signal: opts.signal,
          stdio: ['ignore', 'pipe', 'pipe'],
          killSignal: 'SIGKILL',
        });
        trackChild(child);
        const parse = createProgressParser(opts.durationSec);
        const tail: string[] = [];
        let decodeErrors = 0;
        let firstDecodeError = '';
        let last: Progress | undefined;
        let lastSent = 0;
        let timer: NodeJS.Timeout | undefined;
        let stallReason: string | undefined;
        let settled = false;
        let graceTimer: NodeJS.Timeout | undefined;

        const tickMs = tickMsFor(stallMs);
        let clock: StallClock = { advancedAt: Date.now(), tickAt: Date.now() };
        const watch =
          stallMs > 0
            ? setInterval(() => {
                const next = tick(clock, Date.now(), tickMs, stallMs);
                clock = next.clock;
                if (!next.stalled || stallReason) return;
                stallReason = `ffmpeg made no progress for ${stallMs / 1000} s`;
                child.kill('SIGKILL');
                opts.onStall?.(stallReason);
              }, tickMs)
            : undefined;

        const flush = () => {
          timer = undefined;
          if (last && opts.onProgress) opts.onProgress(last);
          lastSent = Date.now();
        };
        const settle = (err?: FfmpegFailed) => {
          if (settled) return;
          settled = true;
          if (timer) clearTimeout(timer);
          if (watch) clearInterval(watch);
          if (graceTimer) clearTimeout(graceTimer);
          if (err) reject(err);
          else resolve();
        };
        const failure = (code: number | null): FfmpegFailed => {
          if (opts.signal?.aborted) return new FfmpegFailed('aborted', code, true);
          if (stallReason) return new FfmpegFailed(stallReason, code, false, true);
          const reason =
            tail.filter((l) => !/^(Conversion failed|Exiting)/.test(l)).pop() ??
            `exit code ${String(code)}`;
          return new FfmpegFailed(reason, code, false);
        };

        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          for (const p of parse(chunk)) {
            if (advanced(last, p)) {
              clock = { advancedAt: Date.now(), tickAt: clock.tickAt };
              opts.onAdvance?.();
            }
            last = p;
          }
          if (!last || timer) return;
          const wait = PROGRESS_INTERVAL_MS - (Date.now() - lastSent);
          if (wait <= 0) flush();
          else timer = setTimeout(flush, wait);
        });
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          for (const line of chunk.split('\n')) {
            if (!line.trim()) continue;
            tail.push(line.trim());
            if (DECODE_ERROR.test(line)) {
              decodeErrors++;
              firstDecodeError ||= line.trim();
            }
          }
          tail.splice(0, Math.max(0, tail.length - STDERR_LINES));
        });
        child.once('error', (err) => {
          // An abort kills the child and reports here first; the result waits for its exit,
          // so nothing of this attempt still writes when the caller cleans up.
          if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
            return;
          }
          settle(
            opts.signal?.aborted
              ? new FfmpegFailed('aborted', null, true)
              : new FfmpegFailed(err.message, null, false),
          );
        });
        child.once('exit', (code) => {
          // A process ffmpeg started (a wrapper script's child) may keep the pipes open.
          graceTimer = setTimeout(() => {
            child.stdout.destroy();
            child.stderr.destroy();
            settle(code === 0 && !stallReason ? undefined : failure(code));
          }, CLOSE_GRACE_MS);
        });
        child.once('close', (code) => {
          if (code === 0 && decodeErrors > 0) {
            // ffmpeg conceals what it cannot decode and exits 0; a proxy with invented frames
            // (or a chunk filled from beyond its range) must not pass as the source.
            settle(
              new FfmpegFailed(
                `${firstDecodeError} (${decodeErrors} packet${decodeErrors === 1 ? '' : 's'} could not be decoded)`,
                code,
                false,
              ),
            );
            return;
          }
          if (code === 0 && !stallReason && !opts.signal?.aborted) {
            flush();
            settle();
            return;
          }
          settle(failure(code));
        });
      });
    },
  };
}
