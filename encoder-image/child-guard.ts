import type { ChildProcess } from 'node:child_process';
import { findOnPath } from '../core/ffmpeg/locate.ts';

/**
 * ffmpeg and ffprobe must not outlive their worker. Node leaves children running when it is
 * killed -9, and ffmpeg, like Node, ignores the SIGPIPE that would otherwise end it, so it
 * would keep encoding (and writing) for a job that is already running elsewhere. On Linux,
 * util-linux's `setpriv --pdeathsig KILL` asks the kernel to kill the child the moment its
 * parent dies, however it dies; it then execs the binary, so the pid stays the same.
 */
export interface ChildGuard {
  /** The setpriv binary used, or null where there is none (macOS, Windows, a bare image). */
  setpriv: string | null;
  /** The command and arguments that run `binary args` under the guard. */
  command(binary: string, args: readonly string[]): { file: string; args: string[] };
}

export function createChildGuard(searchPath: string, platform = process.platform): ChildGuard {
  const setpriv = platform === 'linux' ? findOnPath('setpriv', searchPath) : null;
  return { setpriv, command: (binary, args) => guardedCommand(setpriv, binary, args) };
}

/** Pure: the argument vector for `binary args`, under `setpriv` when there is one. */
export function guardedCommand(
  setpriv: string | null,
  binary: string,
  args: readonly string[],
): { file: string; args: string[] } {
  if (!setpriv) return { file: binary, args: [...args] };
  return { file: setpriv, args: ['--pdeathsig', 'KILL', '--', binary, ...args] };
}

/**
 * Children alive right now, so a worker that stops (or exits for any reason) without setpriv
 * can still kill them itself. A worker killed -9 cannot: that is what setpriv is for.
 */
const live = new Set<ChildProcess>();

export function trackChild(child: ChildProcess): void {
  if (live.size === 0) process.on('exit', killAllChildren);
  live.add(child);
  child.once('exit', () => {
    live.delete(child);
    if (live.size === 0) process.off('exit', killAllChildren);
  });
}

/** SIGKILLs every tracked child still running; returns their pids. Synchronous, so it also works in an 'exit' handler. */
export function killAllChildren(): number[] {
  const killed: number[] = [];
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGKILL');
      killed.push(child.pid);
    }
  }
  return killed;
}
