import { spawn } from 'node:child_process';

/**
 * Runs a command on a real pseudo-terminal, as a person at a terminal would: the command is the
 * session leader and foreground process group of a fresh pty, so a "\x03" written to the master
 * is turned into SIGINT by the kernel's line discipline, for every process in that group.
 *
 * The driver is a few lines of python3 (its pty module); it copies the master's output to its
 * stdout, its stdin to the master, and reports the child's pid and how it ended on stderr as
 * JSON lines.
 */
const DRIVER = String.raw`
import fcntl, json, os, pty, select, struct, sys, termios, time
argv = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
sys.stderr.write(json.dumps({'pid': pid}) + '\n'); sys.stderr.flush()
status = None
stdin_open = True
drain_until = None
while True:
    if fd >= 0 and select.select([3], [], [], 0)[0] and os.read(3, 64).startswith(b'hangup'):
        # The terminal window closing: the kernel hangs up the session (SIGHUP).
        os.close(fd)
        fd = -1
    if fd < 0:
        done, st = os.waitpid(pid, 0 if status is None else os.WNOHANG)
        status = st if status is None else status
        break
    if status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            drain_until = time.time() + 0.5
    if drain_until is not None and time.time() > drain_until:
        break
    watch = [fd] + ([0] if stdin_open and status is None else [])
    ready, _, _ = select.select(watch, [], [], 0.05)
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if data:
            os.write(1, data)
        elif status is not None:
            break
    if 0 in ready:
        data = os.read(0, 1024)
        if data:
            os.write(fd, data)
        else:
            stdin_open = False
report = {'code': None, 'signal': None}
if os.WIFEXITED(status):
    report['code'] = os.WEXITSTATUS(status)
elif os.WIFSIGNALED(status):
    report['signal'] = os.WTERMSIG(status)
sys.stderr.write(json.dumps(report) + '\n'); sys.stderr.flush()
`;

export interface PtyResult {
  code: number | null;
  /** The number of the signal that ended it, if one did. */
  signal: number | null;
  /** Everything written to the terminal, with the terminal's \r\n made \n. */
  output: string;
}

export interface PtyProcess {
  /** The pid of the command (the pty's session leader). */
  pid: Promise<number>;
  output(): string;
  /** Resolves once the terminal output matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Types bytes at the terminal, e.g. "\x03" for Ctrl-C. */
  type(bytes: string): void;
  /** Closes the terminal, as closing its window does: the command gets SIGHUP. */
  hangUp(): void;
  done: Promise<PtyResult>;
  /** SIGKILLs the command if it still runs (cleanup after a failed assertion). */
  kill(): void;
}

export function startPty(argv: string[], env: NodeJS.ProcessEnv): PtyProcess {
  // fd 3 is a control pipe: "hangup" closes the terminal.
  const driver = spawn('python3', ['-c', DRIVER, JSON.stringify(argv)], {
    env,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let reports = '';
  let childPid = 0;
  let finished = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  let resolvePid: (pid: number) => void = () => {};
  let rejectPid: (err: Error) => void = () => {};
  const pid = new Promise<number>((resolve, reject) => {
    resolvePid = resolve;
    rejectPid = reject;
  });
  driver.stdout.on('data', (d: Buffer) => {
    out += d.toString().replace(/\r\n/g, '\n');
    notify();
  });
  driver.stderr.on('data', (d: Buffer) => {
    reports += d.toString();
    const m = /\{"pid": (\d+)\}/.exec(reports);
    if (m && !childPid) {
      childPid = Number(m[1]);
      resolvePid(childPid);
    }
  });
  const done = new Promise<PtyResult>((resolve, reject) => {
    driver.once('close', () => {
      finished = true;
      notify();
      const last = reports.trim().split('\n').at(-1) ?? '';
      try {
        const r = JSON.parse(last) as { code: number | null; signal: number | null };
        if (!('code' in r)) throw new Error('no exit report');
        resolve({ code: r.code, signal: r.signal, output: out });
      } catch {
        const err = new Error(`pty driver failed: ${reports}\noutput:\n${out}`);
        rejectPid(err);
        reject(err);
      }
    });
  });
  // A test that fails before awaiting `done` must not also fail on an unhandled rejection.
  done.catch(() => {});
  pid.catch(() => {});

  return {
    pid,
    output: () => out,
    done,
    type(bytes) {
      driver.stdin.write(bytes);
    },
    hangUp() {
      (driver.stdio[3] as NodeJS.WritableStream).write('hangup\n');
    },
    kill() {
      if (childPid && !finished) {
        try {
          process.kill(childPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) {
            cleanup();
            resolve();
          } else if (finished) {
            cleanup();
            reject(new Error(`exited before ${pattern}\noutput:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms\noutput:\n${out}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}
