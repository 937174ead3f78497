import { Command } from 'commander';
import { z } from 'zod';
import { redactUrl } from '../../core/secrets/redact.ts';
import { endByHangup, watchHangup } from '../stack/hangup.ts';
import { DependencyError } from '../../core/errors.ts';
import { logUpdateNotice, updateCheckFor } from '../../core/update/update-check.ts';
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
  logUpdateNotice(updateCheckFor(loaded), logger);
  const out = ctx.io.stdout;
  // Listening before anything starts: a Ctrl-C while the stack comes up must stop what was
  // started (the private redis-server is out of the terminal's reach), not leave it behind.
  const signals = stopSignals(out);
  try {
    // Loaded on use: the gateway and BullMQ are heavy, and most commands never need them.
    const { startLocalStack } = await import('../stack/local-stack.ts');
    const stack = await startLocalStack({
      loaded,
      logger,
      workers: opts.workers,
      verbose: ctx.verbose,
    });
    signals.attach(stack);

    out.write(`gateway listening on ${stack.gatewayUrl}\n`);
    out.write(`monitor ${new URL('/', stack.gatewayUrl).href} (proxima mon opens it)\n`);
    out.write(
      `broker ${redactUrl(stack.brokerUrl)}${stack.redisPid ? ` (private redis-server, pid ${stack.redisPid})` : ''}\n`,
    );
    if (!sameOrigin(loaded.config.gateway.url, stack.gatewayUrl)) {
      out.write(
        `note: gateway.url is ${loaded.config.gateway.url}; queue and status use that address\n`,
      );
    }
    if (!signals.received) out.write('press Ctrl-C to stop\n');

    const outcome = await Promise.race([signals.first, stack.failed]);
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
    if (signals.hangup.hungUp) {
      signals.dispose();
      return await endByHangup(signals.hangup);
    }
    out.write('stopped\n');
    return 0;
  } finally {
    signals.dispose();
  }
}

interface Stoppable {
  hurry(): void;
  kill(): void;
}

/**
 * Ctrl-C (or SIGTERM) once: stop, letting running jobs finish. Twice: hand them back now.
 * Three times: kill the workers; their jobs go back to the queue when their locks expire.
 */
function stopSignals(out: CliContext['io']['stdout']) {
  let count = 0;
  let stack: Stoppable | null = null;
  let resolveFirst: (name: NodeJS.Signals) => void = () => {};
  const first = new Promise<NodeJS.Signals>((resolve) => (resolveFirst = resolve));
  const escalate = () => {
    if (!stack) return;
    if (count === 2) {
      out.write('handing running jobs back to the queue (Ctrl-C again kills the workers)\n');
      stack.hurry();
    } else if (count >= 3) {
      out.write('killing the workers; their jobs go back to the queue when their locks expire\n');
      stack.kill();
    }
  };
  const onSignal = (name: NodeJS.Signals) => {
    count++;
    if (count === 1) resolveFirst(name);
    else escalate();
  };
  // The terminal closed: nobody is left to watch running jobs finish, so hand them back.
  const hangup = watchHangup(() => {
    while (count < 2) onSignal('SIGHUP');
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    first,
    get received() {
      return count > 0;
    },
    hangup,
    attach(s: Stoppable) {
      stack = s;
      // Signals that came while the stack was starting count from now.
      if (count >= 2) escalate();
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      hangup.dispose();
    },
  };
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
