import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { keys } from '../../core/job/keys.ts';
import { PROTOCOL_VERSION } from '../../core/version.ts';
import { BIN, followChild, type RunningCli } from './cli-run.ts';

export interface HiddenMount {
  /** A folder covered, for this worker only, by an empty tmpfs. */
  path: string;
  readOnly?: boolean;
}

/**
 * A real `proxima work` in a mount namespace of its own (needs root): each path given is
 * covered by an empty tmpfs, read-only when asked, so this worker alone cannot see the media
 * there or write to it, while the CLI and the gateway still can.
 */
export function startNamespacedWorker(env: NodeJS.ProcessEnv, mounts: HiddenMount[]): RunningCli {
  const script = [
    ...mounts.map(
      (_, i) => `mount -t tmpfs ${mounts[i]!.readOnly ? '-o ro ' : ''}tmpfs "$MOUNT_${i}"`,
    ),
    'exec "$0" "$@"',
  ].join(' && ');
  const mountEnv = Object.fromEntries(mounts.map((m, i) => [`MOUNT_${i}`, m.path]));
  const child = spawn(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      script,
      process.execPath,
      BIN,
      'work',
      '-n',
      '1',
    ],
    { env: { ...env, ...mountEnv }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return followChild(child);
}

/** Stops a worker with SIGTERM, as an admin would, and waits for it to be gone. */
export async function stopWorker(worker: RunningCli): Promise<void> {
  if (worker.child.exitCode === null && worker.child.signalCode === null) {
    worker.child.kill('SIGTERM');
  }
  await worker.done;
}

/**
 * A worker registration with no worker behind it: one of another protocol version (a machine
 * not yet updated) or one killed a moment ago, whose entry has not expired yet.
 */
export async function registerWorker(
  redisUrl: string,
  queue: string,
  info: { id: string; host: string; pid: number; protocol: number; version: string },
): Promise<() => Promise<void>> {
  const redis = new Redis(redisUrl);
  const key = keys.worker(queue, info.id);
  await redis.set(
    key,
    JSON.stringify({
      ...info,
      concurrency: 1,
      startedAt: Date.now(),
      current: [],
      seenAt: Date.now(),
    }),
    'EX',
    300,
  );
  return async () => {
    await redis.del(key);
    redis.disconnect();
  };
}

/**
 * Jobs of any kind left in the BullMQ queue of broker.queue `queue`, under its plain name or
 * its protocol's (`<queue>-p<N>`), in every list and set a job can be in.
 */
export async function jobsLeft(redisUrl: string, queue: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    let n = 0;
    for (const name of [queue, `${queue}-p${PROTOCOL_VERSION}`]) n += await countJobs(redis, name);
    return n;
  } finally {
    redis.disconnect();
  }
}

async function countJobs(redis: Redis, bullQueue: string): Promise<number> {
  {
    const p = `bull:${bullQueue}`;
    const [wait, active, prioritized, delayed, completed, failed] = await Promise.all([
      redis.llen(`${p}:wait`),
      redis.llen(`${p}:active`),
      redis.zcard(`${p}:prioritized`),
      redis.zcard(`${p}:delayed`),
      redis.zcard(`${p}:completed`),
      redis.zcard(`${p}:failed`),
    ]);
    return wait + active + prioritized + delayed + completed + failed;
  }
}
