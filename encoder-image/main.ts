import { loadConfig } from '../core/config/load.ts';
import { ConfigError, isProximaError } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import { markAlive } from './health-file.ts';
import { handleSignals } from './shutdown.ts';
import { startWorker } from './worker.ts';

// Entry of an encoder container: one worker against the configured broker until signalled.
try {
  // A container has no config folder to write a default file into; env and defaults suffice.
  const loaded = loadConfig({ create: false });
  const logger = createLogger({ level: loaded.config.log.level });
  if (!loaded.config.broker.url) {
    throw new ConfigError(
      'broker.url is empty: an encoder needs the shared broker',
      'set broker.url in the config file or PROXIMA_BROKER__URL, e.g. redis://redis:6379',
    );
  }
  const worker = await startWorker({
    brokerUrl: loaded.config.broker.url,
    config: loaded.config,
    logger,
    searchPath: loaded.searchPath,
    idleExitSeconds: loaded.config.encoder.idle_exit_seconds,
    onAlive: () => markAlive(),
  });
  handleSignals(worker, logger);
  await worker.stopped;
} catch (err) {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  if (isProximaError(err)) process.stderr.write(`hint: ${err.hint}\n`);
  process.exitCode = isProximaError(err) ? err.exitCode : 1;
}
