import { Command, Option } from 'commander';
import { z } from 'zod';
import { redactUrl } from '../../core/secrets/redact.ts';
import { logUpdateNotice, updateCheckFor } from '../../core/update/update-check.ts';
import type { CliContext } from '../context.ts';
import { intOption, parseOptions } from '../options.ts';
import { readBrokerRecord, resolveBrokerUrl } from '../stack/broker-url.ts';

const optionsSchema = z.object({
  concurrency: intOption(1, 256).optional(),
  exitWithParent: z.boolean().default(false),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
});

export function workCommand(ctx: CliContext): Command {
  return (
    new Command('work')
      .description(
        'run a worker in the foreground; SIGTERM finishes running jobs, a second hands them back',
      )
      .option('-n, --concurrency <n>', 'jobs encoded at once (default: worker.concurrency)')
      // Used by `proxima up`, which owns the worker's lifetime. It passes the broker URL in
      // PROXIMA_BROKER__URL: a command line is readable by every local user, and the URL may
      // hold a password.
      .addOption(new Option('--exit-with-parent').hideHelp())
      .addOption(new Option('--log-level <level>').hideHelp())
      .action((opts: Record<string, unknown>, cmd: Command) =>
        ctx.run(cmd, () => runWork(ctx, opts)),
      )
  );
}

async function runWork(ctx: CliContext, raw: unknown): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'work');
  const { loaded, logger } = ctx.load();
  if (opts.logLevel) logger.level = opts.logLevel;
  // Under `proxima up` (--exit-with-parent) the parent asks; one notice per stack is enough.
  if (!opts.exitWithParent) logUpdateNotice(updateCheckFor(loaded), logger);
  const brokerUrl = resolveBrokerUrl(loaded.config, readBrokerRecord(loaded.stateDir));

  // Loaded on use: BullMQ and the media pipeline are heavy, and most commands never need them.
  const { startWorker } = await import('../../encoder-image/worker.ts');
  const { handleSignals } = await import('../../encoder-image/shutdown.ts');
  const { probeProcessors } = await import('../../encoder-image/probe-job.ts');
  const worker = await startWorker({
    brokerUrl,
    config: loaded.config,
    logger,
    concurrency: opts.concurrency,
    searchPath: loaded.searchPath,
    processors: probeProcessors,
  });

  const closed = new Promise<void>((resolve) => {
    const close = worker.close.bind(worker);
    // Whoever stops the worker (a signal, the parent going away) resolves this command.
    worker.close = async (o) => {
      try {
        await close(o);
      } finally {
        resolve();
      }
    };
  });
  // Before saying ready: whoever waits for that line may stop us right after it.
  handleSignals(worker, logger);
  logger.info({ worker: worker.id, broker: redactUrl(brokerUrl) }, 'worker ready');
  if (opts.exitWithParent) {
    // `proxima up` holds our stdin open; EOF means it is gone, so stop as if sent SIGTERM.
    process.stdin.resume();
    process.stdin.once('end', () => process.kill(process.pid, 'SIGTERM'));
  }
  await closed;
  return 0;
}
