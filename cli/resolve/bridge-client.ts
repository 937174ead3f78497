import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { ResolveEnv } from '../../core/config/load.ts';
import type { Config } from '../../core/config/schema.ts';
import { DependencyError, InputError, type ProximaError } from '../../core/errors.ts';
import { findOnPath } from '../../core/ffmpeg/locate.ts';
import type { Logger } from '../../core/log.ts';
import { PACKAGE_ROOT } from '../../core/package-root.ts';
import { bridgeArgs, bridgeLaunch } from './locate-python.ts';

export interface ResolveClip {
  mediaId: string;
  uniqueId: string;
  name: string;
  /** GetClipProperty() as Resolve returns it, every value as a string. */
  properties: Record<string, string>;
}
export interface ResolveItem {
  name: string;
  start: number;
  end: number;
  enabled: boolean;
  /** Null for titles, generators and other items without media. */
  clip: ResolveClip | null;
}
export interface ResolveTrack {
  index: number;
  enabled: boolean;
  items: ResolveItem[];
}
export interface ResolveTimeline {
  name: string;
  uniqueId: string | null;
  project: string;
  videoTracks: ResolveTrack[];
}
export interface ResolveIdentity {
  product: string;
  version: string;
  project: string;
  timeline: string | null;
  timelineId: string | null;
}
export interface ResolveBridge {
  hello(): Promise<ResolveIdentity>;
  listTimelines(): Promise<{ name: string; uniqueId: string | null; index: number }[]>;
  /** The current timeline when no name is given. */
  readTimeline(name?: string): Promise<ResolveTimeline>;
  findClips(paths: string[]): Promise<ResolveClip[]>;
  /** Timeline.Export as FCPXML 1.10 into `file`; false when Resolve refused. */
  exportFcpxml(timeline: string, file: string): Promise<boolean>;
  /** False when Resolve refused the link; an error when `project` is no longer open. */
  link(mediaId: string, proxyPath: string, project: string): Promise<boolean>;
  unlink(mediaId: string, project: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface BridgeOptions {
  config: Config;
  resolveEnv: ResolveEnv;
  searchPath: string;
  logger: Logger;
}

const BRIDGE_SCRIPT = path.join(PACKAGE_ROOT, 'cli', 'resolve', 'bridge.py');
const PYTHON_HINT = 'install 64-bit Python 3, or set resolve.python to its path';
const SCRIPTING_HINT =
  'start DaVinci Resolve Studio and set Preferences > System > General > External scripting using: Local';

/** Starts the bridge and checks that Resolve answers; one bridge per command. */
export async function openResolveBridge(opts: BridgeOptions): Promise<ResolveBridge> {
  const launch = bridgeLaunch(
    opts.config.resolve,
    opts.resolveEnv,
    (program) => findOnPath(program, opts.searchPath),
    existsSync,
  );
  if ('missing' in launch) {
    throw new DependencyError(
      'PYTHON_NOT_FOUND',
      opts.config.resolve.python
        ? `resolve.python is set to ${opts.config.resolve.python}, which is not on PATH`
        : `Python 3 was not found on PATH (looked for ${launch.tried.join(', ')})`,
      PYTHON_HINT,
    );
  }
  const log = opts.logger.child({ component: 'resolve' });
  const timeoutMs = opts.config.resolve.timeout_seconds * 1000;
  log.debug({ python: launch.python, modules: launch.modulesDir }, 'starting the Resolve bridge');
  const child = spawn(launch.python, [...launch.pythonArgs, BRIDGE_SCRIPT, ...bridgeArgs(launch)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  }) as ChildProcessWithoutNullStreams;
  const client = new BridgeClient(child, timeoutMs, log, launch.python);
  try {
    await client.call('hello', {}).catch((err: unknown) => {
      throw connectionError(err, launch.modulesDir, launch.python);
    });
  } catch (err) {
    await client.close();
    throw err;
  }
  return {
    hello: () => client.call('hello', {}) as Promise<ResolveIdentity>,
    listTimelines: () =>
      client.call('list_timelines', {}) as Promise<
        { name: string; uniqueId: string | null; index: number }[]
      >,
    readTimeline: (name) =>
      client.call('read_timeline', name === undefined ? {} : { name }) as Promise<ResolveTimeline>,
    findClips: (paths) => client.call('find_clips', { paths }) as Promise<ResolveClip[]>,
    exportFcpxml: async (timeline, file) =>
      (
        (await client.call('export_fcpxml', { name: timeline, path: file })) as {
          exported: boolean;
        }
      ).exported,
    link: async (mediaId, proxyPath, project) =>
      ((await client.call('link', { mediaId, path: proxyPath, project })) as { linked: boolean })
        .linked,
    unlink: async (mediaId, project) =>
      ((await client.call('unlink', { mediaId, project })) as { unlinked: boolean }).unlinked,
    close: () => client.close(),
  };
}

/** A failure the bridge reported for one request. */
export class BridgeFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

class BridgeClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stderr = '';
  private exited: Error | null = null;
  /** A call timed out: the bridge is blocked inside Resolve and will not read more input. */
  private stuck = false;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly python: string,
  ) {
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    // A bridge that died (or never started) makes the write fail; 'exit' or 'error' reports why.
    child.stdin.on('error', (err) =>
      this.log.debug({ err }, 'writing to the Resolve bridge failed'),
    );
    child.once('error', (err) => this.fail(err));
    child.once('exit', (code, signal) => {
      const last = this.stderr.trim().split('\n').at(-1) ?? '';
      this.fail(
        new BridgeFailure(
          'BRIDGE_EXITED',
          `the Resolve bridge (${python}) exited (${signal ?? `code ${String(code)}`})${last ? `: ${last}` : ''}`,
        ),
      );
    });
  }

  call(op: string, args: object): Promise<unknown> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.stuck = true;
        reject(
          new DependencyError(
            'RESOLVE_TIMEOUT',
            `DaVinci Resolve did not answer ${op} within ${this.timeoutMs / 1000} s`,
            'close any open dialog in Resolve (Project Manager, render settings), or raise resolve.timeout_seconds',
          ),
        );
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.log.debug({ op, args }, 'resolve call');
      this.child.stdin.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    if (this.stuck) this.child.kill('SIGKILL');
    else this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(timer);
  }

  private onLine(line: string): void {
    let msg: {
      id?: number;
      ok?: boolean;
      result?: unknown;
      error?: { code: string; message: string };
    };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      this.log.warn({ line }, 'the Resolve bridge printed something that is not JSON');
      return;
    }
    const pending = msg.id === undefined ? undefined : this.pending.get(msg.id);
    if (!pending) return;
    this.pending.delete(msg.id!);
    clearTimeout(pending.timer);
    if (msg.ok) pending.resolve(msg.result);
    else pending.reject(bridgeError(msg.error?.code ?? 'BRIDGE_FAILED', msg.error?.message ?? ''));
  }

  private fail(err: Error): void {
    this.exited ??= err;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }
}

/** The bridge's error codes as errors a user can act on. */
function bridgeError(code: string, message: string): ProximaError | BridgeFailure {
  switch (code) {
    case 'NO_PROJECT':
      return new InputError('NO_PROJECT', message, 'open a project in DaVinci Resolve');
    case 'NO_TIMELINE':
      return new InputError(
        'NO_TIMELINE',
        message,
        'open a timeline in DaVinci Resolve, or name one with --timeline',
      );
    case 'TIMELINE_NOT_FOUND':
      return new InputError('TIMELINE_NOT_FOUND', message, 'give one of the names listed');
    case 'PROJECT_CHANGED':
      return new InputError(
        'PROJECT_CHANGED',
        message,
        'open the project again in Resolve, then run `proxima link`',
      );
    case 'CLIP_NOT_FOUND':
      return new InputError(
        'CLIP_NOT_FOUND',
        message,
        'the clip is no longer in the media pool: queue its timeline again to find it',
      );
    case 'NO_RESOLVE':
      return new DependencyError('RESOLVE_NOT_RUNNING', message, SCRIPTING_HINT);
    default:
      return new BridgeFailure(code, message);
  }
}

function connectionError(err: unknown, modulesDir: string, python: string): Error {
  if (err instanceof BridgeFailure && err.code === 'NO_MODULE') {
    const where = existsSync(modulesDir) ? `${modulesDir} (${err.message})` : modulesDir;
    // The module is there but will not load: the cause is the Python, not the install.
    const hint = /32-bit/.test(err.message)
      ? 'install 64-bit Python 3 and set resolve.python to it'
      : /\bimp\b/.test(err.message)
        ? `this Resolve's module needs Python 3.11 or older (${python} has no imp module): set resolve.python to one`
        : 'install DaVinci Resolve Studio, or set resolve.script_api (or RESOLVE_SCRIPT_API) to its Developer/Scripting folder';
    return new DependencyError(
      'RESOLVE_MODULE_NOT_FOUND',
      `DaVinciResolveScript could not be loaded from ${where}`,
      hint,
    );
  }
  if (err instanceof BridgeFailure && err.code === 'BRIDGE_EXITED') {
    return new DependencyError(
      'PYTHON_FAILED',
      err.message,
      `check that ${python} is a 64-bit Python 3 (set resolve.python to choose another)`,
    );
  }
  if (
    (err as NodeJS.ErrnoException).code === 'ENOENT' ||
    (err as NodeJS.ErrnoException).code === 'EACCES'
  ) {
    return new DependencyError(
      'PYTHON_NOT_FOUND',
      `Python could not be started from ${python}`,
      PYTHON_HINT,
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}
