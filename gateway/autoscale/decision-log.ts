import type { Redis } from 'ioredis';
import { scaleDecisionSchema, type ScaleDecisionView } from '../../core/job/contract.ts';
import { keys } from '../../core/job/keys.ts';

/**
 * The autoscaler's recent decisions, kept in Redis so the monitor still shows why the farm
 * has the encoders it has after the gateway restarted.
 */
export interface DecisionLog {
  append(decision: ScaleDecisionView): Promise<void>;
  /** Newest first. */
  recent(limit: number): Promise<ScaleDecisionView[]>;
}

export function createRedisDecisionLog(options: {
  redis: Redis;
  queue: string;
  keep: number;
}): DecisionLog {
  const { redis, keep } = options;
  const key = keys.scaleDecisions(options.queue);
  return {
    async append(decision) {
      await redis
        .multi()
        .lpush(key, JSON.stringify(decision))
        .ltrim(key, 0, keep - 1)
        .exec();
    },
    async recent(limit) {
      const texts = await redis.lrange(key, 0, limit - 1);
      const out: ScaleDecisionView[] = [];
      for (const text of texts) {
        try {
          const parsed = scaleDecisionSchema.safeParse(JSON.parse(text));
          if (parsed.success) out.push(parsed.data);
        } catch {
          // written by something else: not shown
        }
      }
      return out;
    },
  };
}
