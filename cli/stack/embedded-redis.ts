import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { DependencyError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';

export interface EmbeddedRedis {
  url: string;
  pid: number;
  /** Resolves when redis-server exits, for whatever reason. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

export interface EmbeddedRedisOptions {
  /** Its AOF and log live here, so queued jobs survive a restart of the stack. */
  dataDir: string;
  searchPath: string;
  logger: Logger;
}

const NOT_FOUND_HINT =
  'install it (apt install redis-server, or brew install redis), or set broker.url to an existing Redis';

export function locateRedisServer(searchPath: string): string {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    for (const name of ['redis-server', 'redis-server.exe']) {
      const file = path.join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // next
      }
    }
  }
  throw new DependencyError('REDIS_NOT_FOUND', 'redis-server not found on PATH', NOT_FOUND_HINT);
}

/**
 * A private redis-server on a free loopback port. Append-only persistence is on, so jobs queued
 * before a Ctrl-C are still there after the next `proxima up`.
 */
export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const binary = locateRedisServer(options.searchPath);
  mkdirSync(options.dataDir, { recursive: true });
  const logFile = path.join(options.dataDir, 'redis.log');
  // Another process may grab the free port before redis binds it; then try another one.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--protected-mode',
        'yes',
        '--dir',
        options.dataDir,
        '--appendonly',
        'yes',
        '--save',
        '',
        '--daemonize',
        'no',
        '--logfile',
        logFile,
      ],
      // Its own session and process group, so a Ctrl-C at the terminal never reaches it: the
      // gateway and workers still need it while they stop, and we stop it last.
      { stdio: 'ignore', detached: true },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const url = `redis://127.0.0.1:${port}`;
    const gaveUp = { value: false };
    const outcome = await Promise.race([
      waitReady(port, gaveUp).then(
        () => ({ kind: 'ready' as const }),
        (error: unknown) => ({ kind: 'timeout' as const, error }),
      ),
      exited.then(() => ({ kind: 'exited' as const })),
      spawnError.then((error) => ({ kind: 'spawn' as const, error })),
    ]);
    gaveUp.value = true;
    if (outcome.kind === 'ready' && child.pid !== undefined) {
      options.logger.debug({ url, pid: child.pid, dataDir: options.dataDir }, 'redis-server up');
      return { url, pid: child.pid, exited, stop: () => stopChild(child, exited) };
    }
    if (outcome.kind === 'spawn') {
      throw new DependencyError(
        'REDIS_NOT_FOUND',
        `redis-server at ${binary} could not be started (${outcome.error.message})`,
        NOT_FOUND_HINT,
      );
    }
    await stopChild(child, exited);
    if (outcome.kind === 'timeout') throw outcome.error;
    const tail = logTail(logFile);
    if (attempt < 3 && /address already in use/i.test(tail)) continue;
    throw new DependencyError(
      'REDIS_START_FAILED',
      `redis-server did not start${tail ? `: ${tail}` : ''}`,
      `see ${logFile}; or set broker.url to an existing Redis`,
    );
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // SIGTERM makes redis flush its append-only file before exiting.
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function logTail(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    return (lines.at(-1) ?? '').replace(/^\d+:\w \d+ \w+ \d{4} [\d:.]+ [#*.-] /, '');
  } catch {
    return '';
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

async function waitReady(port: number, gaveUp: { value: boolean }): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !gaveUp.value) {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: null });
    client.on('error', () => {});
    try {
      await client.connect();
      // While the AOF loads, PING answers LOADING; the broker is usable once it answers PONG.
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new DependencyError(
    'REDIS_START_FAILED',
    `redis-server did not answer on port ${port} within 15 s`,
    'see redis.log in the state folder, or set broker.url to an existing Redis',
  );
}
