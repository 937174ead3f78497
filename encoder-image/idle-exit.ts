import type { JobTracker } from './processor.ts';

/**
 * Calls `onIdle` once the worker has had no job for `seconds`, so an encoder container can exit
 * and a scaler (or a serverless platform) can let it go. 0 never calls it. The clock starts at
 * `start()` and again whenever the last running job ends.
 */
export interface IdleWatch extends JobTracker {
  start(): void;
  stop(): void;
}

export function createIdleWatch(seconds: number, onIdle: () => void): IdleWatch {
  const running = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = seconds <= 0;

  const arm = () => {
    if (stopped || running.size > 0) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (stopped || running.size > 0) return;
      stopped = true;
      onIdle();
    }, seconds * 1000);
  };

  return {
    start: arm,
    started(jobId) {
      running.add(jobId);
      clearTimeout(timer);
    },
    ended(jobId) {
      running.delete(jobId);
      arm();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
