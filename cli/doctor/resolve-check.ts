import { isProximaError } from '../../core/errors.ts';
import type { CliContext } from '../context.ts';
import { bridgeFor } from '../resolve/open-from-context.ts';
import { fail, ok, type CheckLine } from './check-line.ts';

/** DaVinci Resolve answers its scripting bridge on this machine. */
export async function resolveLine(ctx: CliContext): Promise<CheckLine> {
  let bridge;
  try {
    bridge = await bridgeFor(ctx);
  } catch (err) {
    return fail(
      'resolve',
      err instanceof Error ? err.message : String(err),
      isProximaError(err) ? err.hint : 'see `proxima queue --resolve --dry-run --verbose`',
    );
  }
  try {
    const who = await bridge.hello();
    const timeline = who.timeline ? `, timeline ${who.timeline}` : ', no timeline open';
    return ok('resolve', `${who.product} ${who.version}, project ${who.project}${timeline}`);
  } catch (err) {
    return fail(
      'resolve',
      (err as Error).message,
      isProximaError(err) ? err.hint : 'check that Resolve is running',
    );
  } finally {
    await bridge.close();
  }
}
