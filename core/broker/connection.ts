import { Redis } from 'ioredis';
import { DependencyError } from '../errors.ts';
import { redactText, redactUrl } from '../secrets/redact.ts';

export { redactUrl };

/**
 * One ioredis client for BullMQ. `maxRetriesPerRequest: null` is what BullMQ workers require
 * (https://docs.bullmq.io/guide/going-to-production#maxretriesperrequest), so a Redis restart
 * pauses work instead of failing it.
 */
export function createRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

/**
 * Waits until the broker answers, or fails after `seconds` with what the last connection attempt
 * said. At start only: a broker that goes away later is waited for (work pauses, nothing fails),
 * but a worker that never reaches its broker must say so and stop, not hang as if starting.
 */
export async function reachBroker(redis: Redis, url: string, seconds: number): Promise<void> {
  let last = '';
  let refused: (err: Error) => void = () => {};
  const onError = (err: Error) => {
    last = redactText(err.message);
    // Waiting does not mend a wrong password: say so at once instead of after `seconds`.
    if (isAuthFailure(err)) refused(brokerRefused(url, last));
  };
  redis.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping().catch((err: Error) => {
        throw isAuthFailure(err) ? brokerRefused(url, redactText(err.message)) : err;
      }),
      new Promise((_, reject) => (refused = reject)),
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

/** Redis's answers to a login it refuses (requirepass, ACL users). */
export function isAuthFailure(err: Error): boolean {
  return /^(WRONGPASS|NOAUTH|NOPERM)\b|invalid password|invalid username-password/i.test(
    err.message,
  );
}

function brokerRefused(url: string, reason: string): DependencyError {
  return new DependencyError(
    'BROKER_AUTH_FAILED',
    `broker at ${redactUrl(url)} refused the login (${reason})`,
    'put the right user and password in broker.url (redis://user:password@host:port), or set PROXIMA_BROKER__URL',
  );
}

/**
 * Fails with a clear error when the broker refuses our login; any other trouble (not up yet,
 * unreachable) is left to the caller's own connection, which waits or reports it.
 */
export async function checkBrokerLogin(url: string): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    retryStrategy: null,
    maxRetriesPerRequest: 0,
    connectTimeout: 5_000,
  });
  // A refused login may surface only as an 'error' event, the command then failing with
  // "Connection is closed".
  const seen: Error[] = [];
  probe.on('error', (err: Error) => seen.push(err));
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    const refusal = [err, ...seen].find((e): e is Error => e instanceof Error && isAuthFailure(e));
    if (refusal) throw brokerRefused(url, redactText(refusal.message));
  } finally {
    probe.disconnect();
  }
}
