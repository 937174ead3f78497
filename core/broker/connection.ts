import { Redis } from 'ioredis';
import { DependencyError } from '../errors.ts';

/**
 * One ioredis client for BullMQ. `maxRetriesPerRequest: null` is what BullMQ workers require
 * (https://docs.bullmq.io/guide/going-to-production#maxretriesperrequest), so a Redis restart
 * pauses work instead of failing it.
 */
export function createRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

/** A broker URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/**
 * Waits until the broker answers, or fails after `seconds` with what the last connection attempt
 * said. At start only: a broker that goes away later is waited for (work pauses, nothing fails),
 * but a worker that never reaches its broker must say so and stop, not hang as if starting.
 */
export async function reachBroker(redis: Redis, url: string, seconds: number): Promise<void> {
  let last = '';
  const onError = (err: Error) => (last = err.message);
  redis.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new DependencyError(
                'BROKER_UNREACHABLE',
                `broker not reachable at ${redactUrl(url)} after ${seconds} s${last ? ` (${last})` : ''}`,
                'start redis, or set broker.url (PROXIMA_BROKER__URL) to an address this machine or container can reach',
              ),
            ),
          seconds * 1000,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    redis.off('error', onError);
  }
}
