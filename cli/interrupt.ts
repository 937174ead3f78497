/**
 * An AbortSignal fired by Ctrl-C or SIGTERM while a command waits, so it can tidy the screen
 * and return an exit code instead of dying mid-redraw.
 */
export function onInterrupt(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals) => controller.abort(new Interrupted(name));
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

export class Interrupted extends Error {
  readonly signalName: NodeJS.Signals;
  constructor(signalName: NodeJS.Signals) {
    super(`interrupted by ${signalName}`);
    this.signalName = signalName;
  }
}

/** The conventional exit code of a process stopped by a signal. */
export function signalExitCode(name: NodeJS.Signals): number {
  return name === 'SIGINT' ? 130 : 143;
}
