/**
 * The terminal of `proxima up` or `demo` closed (its window shut, an ssh session dropped): the
 * process gets SIGHUP and nothing it prints can reach anyone. The stack must still stop, and
 * not leave its detached redis-server and workers behind, so a hangup is turned into a stop.
 */
export interface HangupWatch {
  readonly hungUp: boolean;
  dispose(): void;
}

export function watchHangup(onHangup: () => void): HangupWatch {
  let hungUp = false;
  const handler = () => {
    if (hungUp) return;
    hungUp = true;
    // Writes to a closed terminal fail (EIO); they must not end the process before the stack
    // has stopped.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
    onHangup();
  };
  process.on('SIGHUP', handler);
  return {
    get hungUp() {
      return hungUp;
    },
    dispose() {
      process.off('SIGHUP', handler);
    },
  };
}

/**
 * Ends this process by SIGHUP, as a hangup it did not handle would. Not by exiting: Node aborts
 * at exit when it cannot restore the settings of a terminal that is gone.
 */
export function endByHangup(watch: HangupWatch): Promise<never> {
  watch.dispose();
  process.kill(process.pid, 'SIGHUP');
  return new Promise<never>(() => {});
}
