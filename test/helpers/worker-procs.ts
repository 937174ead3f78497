import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { locateFfmpeg } from '../../core/ffmpeg/locate.ts';
import { BIN } from './cli-run.ts';

/** Worker processes as users run them, and what /proc says about their ffmpeg children. */

/** The parent pid and argv of a live process, or null once it is gone (or a zombie). */
export function proc(pid: number): { ppid: number; argv: string[] } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    return { ppid: Number(fields[1]), argv };
  } catch {
    return null;
  }
}

/** Live children of `pid` whose program (argv[0], or argv[1] of a script) is named `name`. */
export function childrenNamed(pid: number, name: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = proc(Number(entry));
    if (!info || info.ppid !== pid) continue;
    if (info.argv.slice(0, 2).some((a) => path.basename(a) === name)) out.push(Number(entry));
  }
  return out;
}

/** Seconds until `pid` is gone, or null if it still runs after `timeoutMs`. */
export async function waitGone(pid: number, timeoutMs: number): Promise<number | null> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (!proc(pid)) return (Date.now() - t0) / 1000;
    await sleep(25);
  }
  return proc(pid) ? null : (Date.now() - t0) / 1000;
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function realFfmpeg(): string {
  return locateFfmpeg('', process.env.PATH).path;
}

/**
 * An ffmpeg that reads its input at its native rate (-re): an encode takes as long as the
 * clip, whatever the machine's load, so a test can act while it runs. exec keeps the pid.
 */
export function realtimeFfmpeg(dir: string): string {
  const file = path.join(dir, 'ffmpeg-realtime');
  writeFileSync(file, `#!/bin/sh\nexec '${realFfmpeg()}' -re "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}

/**
 * An ffmpeg or ffprobe that hangs: no output, no exit, like one stuck reading a dead network
 * mount. It execs `sleep`, so that is the name its process shows.
 */
export function hungProgram(dir: string, name: string): string {
  const file = path.join(dir, `${name}-hung`);
  writeFileSync(file, '#!/bin/sh\nexec sleep 600\n');
  chmodSync(file, 0o755);
  return file;
}

export interface WorkerProc {
  child: ChildProcess;
  pid: number;
  log(): string;
  /** Resolves once the log matches. */
  waitLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Exit code (or signal name) once it has exited. */
  exited: Promise<number | string>;
}

/** Starts `node bin/proxima.js work -n 1` (or another entry) with stdin a pipe it can watch. */
export function startWorkerProc(
  env: NodeJS.ProcessEnv,
  args: string[] = ['work', '-n', '1'],
  entry: string[] = [BIN],
): WorkerProc {
  const child = spawn(process.execPath, [...entry, ...args], {
    env,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  return followWorker(child);
}

/** A started worker process (stdin a pipe, stderr piped), followed as a WorkerProc. */
export function followWorker(child: ChildProcess): WorkerProc {
  let text = '';
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    child,
    pid: child.pid!,
    log: () => text,
    exited,
    async waitLog(pattern, timeoutMs = 60_000) {
      const t0 = Date.now();
      while (!pattern.test(text)) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`worker exited before ${pattern}:\n${text}`);
        }
        if (Date.now() - t0 > timeoutMs) throw new Error(`no ${pattern} in:\n${text}`);
        await sleep(50);
      }
    },
  };
}

/** Ends a worker process at once if it still runs. */
export async function killWorker(w: WorkerProc): Promise<void> {
  if (w.child.exitCode === null && w.child.signalCode === null) {
    w.child.kill('SIGKILL');
    await w.exited;
  }
}
