import { Command } from 'commander';
import { z } from 'zod';
import { DependencyError } from '../../core/errors.ts';
import type { CliContext } from '../context.ts';
import { intOption, parseOptions } from '../options.ts';

const optionsSchema = z.object({ workers: intOption(0, 256).optional() });

export function upCommand(ctx: CliContext): Command {
  return new Command('up')
    .description('run broker, gateway and workers on this machine in the foreground; Ctrl-C stops')
    .option(
      '-w, --workers <n>',
      'jobs encoded at once (default: worker.concurrency; 0: gateway and broker only)',
    )
    .action((opts: unknown, cmd: Command) => ctx.run(cmd, () => runUp(ctx, opts)));
}

async function runUp(ctx: CliContext, raw: unknown): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'up');
  const { loaded, logger } = ctx.load();
  const out = ctx.io.stdout;
  // Loaded on use: the gateway and BullMQ are heavy, and most commands never need them.
  const { startLocalStack } = await import('../stack/local-stack.ts');
  const stack = await startLocalStack({
    loaded,
    logger,
    workers: opts.workers,
    verbose: ctx.verbose,
  });

  out.write(`gateway listening on ${stack.gatewayUrl}\n`);
  out.write(
    `broker ${stack.brokerUrl}${stack.redisPid ? ` (private redis-server, pid ${stack.redisPid})` : ''}\n`,
  );
  if (!sameOrigin(loaded.config.gateway.url, stack.gatewayUrl)) {
    out.write(
      `note: gateway.url is ${loaded.config.gateway.url}; queue and status use that address\n`,
    );
  }
  out.write('press Ctrl-C to stop\n');

  let signals = 0;
  let onSignal: (name: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (name) => {
      signals++;
      if (signals === 1) resolve(name);
      else {
        out.write('handing running jobs back to the queue\n');
        stack.hurry();
      }
    };
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const outcome = await Promise.race([stopped, stack.failed]);
    if (outcome instanceof Error) {
      logger.error({ err: outcome.message }, 'stopping the stack');
      await stack.stop();
      throw new DependencyError(
        'STACK_STOPPED',
        `${outcome.message}; the stack was stopped`,
        'see the log above for why, then run `proxima up` again',
      );
    }
    out.write('stopping: running jobs finish first (Ctrl-C again hands them back)\n');
    await stack.stop();
    out.write('stopped\n');
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function sameOrigin(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    const local = (h: string) => (['localhost', '127.0.0.1', '[::1]'].includes(h) ? 'lo' : h);
    return (
      x.protocol === y.protocol && local(x.hostname) === local(y.hostname) && x.port === y.port
    );
  } catch {
    return false;
  }
}
