import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const BIN = fileURLToPath(new URL('../../bin/proxima.js', import.meta.url));

export interface CliSandbox {
  root: string;
  configFile: string;
  stateDir: string;
  proxyRoot: string;
  /** The child's whole environment: no PROXIMA_ variable of the developer's leaks in. */
  env: NodeJS.ProcessEnv;
}

/** A temp config file, config and state folders, and a proxy root, for CLI children. */
export function cliSandbox(config: Record<string, unknown> = {}): CliSandbox {
  const root = mkdtempSync(path.join(tmpdir(), 'proxima-cli-'));
  const proxyRoot = path.join(root, 'proxies');
  const merged = {
    ...config,
    paths: { proxy_root: proxyRoot, ...(config.paths as object | undefined) },
  };
  const configFile = path.join(root, 'config.yaml');
  writeFileSync(configFile, stringify(merged));
  mkdirSync(path.join(root, 'xdg-state'), { recursive: true });
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PROXIMA_')) env[k] = v;
  Object.assign(env, {
    PROXIMA_CONFIG: configFile,
    HOME: root,
    XDG_CONFIG_HOME: path.join(root, 'xdg-config'),
    XDG_STATE_HOME: path.join(root, 'xdg-state'),
    // No update check: a command under test never asks the real npm registry.
    CI: '1',
  });
  return { root, configFile, stateDir: path.join(root, 'xdg-state', 'proxima'), proxyRoot, env };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs `node bin/proxima.js ...args` to completion. */
export function runCli(args: string[], options: RunOptions): Promise<CliResult> {
  const child = spawnCli(args, options);
  return finished(child, options.timeoutMs ?? 120_000);
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout or stderr matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<CliResult>;
}

export function startCli(args: string[], options: RunOptions): RunningCli {
  return followChild(spawnCli(args, options));
}

/** A started process with piped stdout and stderr, followed as a RunningCli. */
export function followChild(child: ChildProcess): RunningCli {
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const l of listeners) l();
  });
  const done = new Promise<CliResult>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out) || pattern.test(err)) {
            cleanup();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`no ${pattern} within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`),
          );
        }, timeoutMs);
        const exited = () => {
          cleanup();
          reject(new Error(`exited before ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', exited);
        };
        listeners.add(check);
        child.once('exit', exited);
        check();
      });
    },
  };
}

function spawnCli(args: string[], options: RunOptions): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    env: options.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finished(child: ChildProcess, timeoutMs: number): Promise<CliResult> {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`));
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
}

/** Ends a CLI child at once if it still runs (its worker follows it: it watches its stdin). */
export async function killCli(cli: RunningCli): Promise<void> {
  if (cli.child.exitCode === null && cli.child.signalCode === null) {
    cli.child.kill('SIGKILL');
    await cli.done;
  }
}
