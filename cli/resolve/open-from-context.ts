import type { CliContext } from '../context.ts';
import { openResolveBridge, type ResolveBridge } from './bridge-client.ts';

/** The Resolve bridge for a command, configured from its loaded config. */
export function bridgeFor(ctx: CliContext): Promise<ResolveBridge> {
  const { loaded, logger } = ctx.load();
  return openResolveBridge({
    config: loaded.config,
    resolveEnv: loaded.resolveEnv,
    searchPath: loaded.searchPath,
    logger,
  });
}
