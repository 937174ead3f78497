/**
 * How many encoders there should be: a pure function of the queue as BullMQ counts it and the
 * encoders as they are. Up is fast (bounded by the step), down is slow (after the cooldown,
 * never below the busy ones: busy encoders are not stopped, idle ones exit by themselves).
 */
export interface QueueLoad {
  waiting: number;
  /** Prioritized jobs live in their own sorted set, not in the wait list. */
  prioritized: number;
  /** Delayed jobs whose time has come (a retry's backoff that has run out). */
  delayedDue: number;
  active: number;
}

export type EncoderState = 'starting' | 'idle' | 'busy' | 'exiting';

export interface ScalePolicy {
  min: number;
  max: number;
  jobsPerEncoder: number;
  scaleUpStep: number;
  cooldownSeconds: number;
  /** With no work at all, scale to 0 (else keep at least one, or `min`). */
  scaleToZero: boolean;
}

export interface ScaleHistory {
  /** When the count last changed, ms since the epoch; null: never. */
  lastChangeAt: number | null;
}

export interface ScaleDecision {
  desired: number;
  current: number;
  reason: string;
}

export function decideScale(
  load: QueueLoad,
  encoders: readonly EncoderState[],
  policy: ScalePolicy,
  history: ScaleHistory,
  now: number,
): ScaleDecision {
  const work = load.waiting + load.prioritized + load.delayedDue + load.active;
  const live = encoders.filter((e) => e !== 'exiting');
  const current = live.length;
  const busy = live.filter((e) => e === 'busy').length;
  const floor = work === 0 && policy.scaleToZero ? policy.min : Math.max(policy.min, 1);
  const wanted = Math.min(
    policy.max,
    Math.max(floor, Math.ceil(work / Math.max(1, policy.jobsPerEncoder))),
  );
  const jobs = `${work} job${work === 1 ? '' : 's'} waiting or running`;

  if (wanted > current) {
    const desired = Math.min(wanted, current + Math.max(1, policy.scaleUpStep));
    return {
      desired,
      current,
      reason: `${jobs} for ${current} encoder${current === 1 ? '' : 's'}: up to ${desired}${desired < wanted ? ` (step ${policy.scaleUpStep}, ${wanted} wanted)` : ''}`,
    };
  }
  if (wanted < current) {
    const since = history.lastChangeAt === null ? Infinity : (now - history.lastChangeAt) / 1000;
    if (since < policy.cooldownSeconds) {
      return {
        desired: current,
        current,
        reason: `${jobs}: ${wanted} would do, but the last change was ${Math.floor(since)} s ago (cooldown ${policy.cooldownSeconds} s)`,
      };
    }
    const desired = Math.max(wanted, busy);
    return {
      desired,
      current,
      reason:
        desired === current
          ? `${jobs}: ${wanted} would do, but ${busy} encoder${busy === 1 ? ' is' : 's are'} busy`
          : `${jobs}: down to ${desired}${desired > wanted ? ` (${busy} busy)` : ''}`,
    };
  }
  return {
    desired: current,
    current,
    reason: `${jobs}: ${current} encoder${current === 1 ? '' : 's'} is right`,
  };
}
