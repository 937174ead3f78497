import { loadConfig } from '../core/config/load.ts';
import { ConfigError, isProximaError } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import { logUpdateNotice, updateCheckFor } from '../core/update/update-check.ts';
import { createHealthFile, HEALTH_FILE } from './health-file.ts';
import { probeProcessors } from './probe-job.ts';
import { handleSignals } from './shutdown.ts';
import { startWorker } from './worker.ts';

// Entry of an encoder container: one worker against the configured broker until signalled.
// `--health-file PATH` puts the health file elsewhere (healthcheck.js takes the same PATH).
function healthFileArg(argv: readonly string[]): string {
  const i = argv.indexOf('--health-file');
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : HEALTH_FILE;
}

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
  logUpdateNotice(updateCheckFor(loaded), logger);
  const health = createHealthFile(healthFileArg(process.argv.slice(2)));
  const worker = await startWorker({
    brokerUrl: loaded.config.broker.url,
    config: loaded.config,
    logger,
    searchPath: loaded.searchPath,
    idleExitSeconds: loaded.config.encoder.idle_exit_seconds,
    onAlive: () => health.alive(),
    onStalls: (stalls) => health.stalls(stalls),
    processors: probeProcessors,
  });
  handleSignals(worker, logger);
  await worker.stopped;
  // The worker has stopped within worker.stop_seconds; a broker connection still retrying in
  // the background must not keep the container running.
  process.exit(process.exitCode ?? 0);
} catch (err) {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  if (isProximaError(err)) process.stderr.write(`hint: ${err.hint}\n`);
  process.exitCode = isProximaError(err) ? err.exitCode : 1;
}
