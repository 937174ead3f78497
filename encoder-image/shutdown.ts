import type { Logger } from '../core/log.ts';
import type { RunningWorker } from './worker.ts';

/**
 * First SIGTERM/SIGINT: stop taking jobs and let the running ones finish while
 * worker.stop_seconds allows (what a container orchestrator's grace period is for), then hand
 * them back. A second one: hand them back at once. The worker exits within stop_seconds
 * either way, even with its broker gone.
 */
export function handleSignals(worker: RunningWorker, logger: Logger): void {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count += 1;
    if (count === 1) {
      logger.info(
        { signal },
        'finishing running jobs while worker.stop_seconds allows, then stopping (send again to hand them back now)',
      );
      void worker.close();
    } else {
      logger.warn({ signal }, 'handing running jobs back to the queue');
      void worker.close({ force: true });
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
