import { loadConfig } from '../core/config/load.ts';
import { ConfigError, isProximaError } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { logUpdateNotice, updateCheckFor } from '../core/update/update-check.ts';
import { startGateway } from './server.ts';

/**
 * The gateway as a service (a container, a systemd unit): config from the file and PROXIMA_*
 * variables, JSON logs on stderr, a clean stop on SIGTERM or SIGINT.
 */
async function main(): Promise<number> {
  // Listening for signals from the very start: one arriving while the gateway starts must stop
  // it cleanly too, not kill the process with Redis connections half open.
  const firstSignal = new Promise<NodeJS.Signals>((resolve) => {
    let received = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++received > 1) process.exit(1);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  let logger: Logger | undefined;
  try {
    const loaded = loadConfig();
    const { config, searchPath } = loaded;
    logger = createLogger({ level: config.log.level, pretty: false });
    if (!config.broker.url) {
      throw new ConfigError(
        'broker.url is empty: the gateway service needs a Redis broker to queue jobs on',
        'set broker.url in the config file, or PROXIMA_BROKER__URL=redis://host:6379 (`proxima up` runs a local broker for you)',
      );
    }
    const gateway = await startGateway({
      config,
      logger,
      brokerUrl: config.broker.url,
      searchPath,
    });
    logUpdateNotice(updateCheckFor(loaded), logger);
    const signal = await firstSignal;
    logger.info({ signal }, 'stopping; a second signal exits at once');
    await gateway.close();
    return 0;
  } catch (err) {
    const log = logger ?? createLogger({ level: 'info', pretty: false });
    if (isProximaError(err)) {
      log.fatal({ code: err.code, hint: err.hint }, err.message);
      return err.exitCode;
    }
    log.fatal({ err }, 'gateway failed');
    return 1;
  }
}

process.exit(await main());
