import { Redis } from 'ioredis';

/**
 * One ioredis client for BullMQ. `maxRetriesPerRequest: null` is what BullMQ workers require
 * (https://docs.bullmq.io/guide/going-to-production#maxretriesperrequest), so a Redis restart
 * pauses work instead of failing it.
 */
export function createRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}
