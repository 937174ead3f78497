import { Command } from 'commander';
import { z } from 'zod';
import path from 'node:path';
import { InputError } from '../../core/errors.ts';
import { PROTOCOL_VERSION } from '../../core/version.ts';
import type { CliContext } from '../context.ts';
import { createGatewayClient } from '../gateway-client.ts';
import { Interrupted, onInterrupt, signalExitCode } from '../interrupt.ts';
import { intOption, parseOptions } from '../options.ts';
import { succeeded } from '../progress/batch-state.ts';
import { followBatch, printSummary } from '../progress/follow-batch.ts';
import { scanSources, skipNoteLines } from '../sources/scan-sources.ts';
import { makeDemoClips } from '../demo/demo-clips.ts';
import { endByHangup, watchHangup } from '../stack/hangup.ts';
import type { LocalStack } from '../stack/local-stack.ts';

const optionsSchema = z.object({
  dir: z.string().min(1).optional(),
  workers: intOption(1, 64).default(2),
  size: z
    .string()
    .regex(/^\d{2,4}x\d{2,4}$/, 'WIDTHxHEIGHT, e.g. 1280x720')
    .default('1280x720'),
  seconds: intOption(1, 60).default(3),
});

export function demoCommand(ctx: CliContext): Command {
  return new Command('demo')
    .description('make sample camera clips, encode them on a local stack, print the proxies')
    .option('--dir <dir>', 'where the sample clips go (default: <state folder>/demo-media)')
    .option('-w, --workers <n>', 'jobs encoded at once', '2')
    .option('--size <WxH>', 'size of the sample clips', '1280x720')
    .option('--seconds <n>', 'length of the sample clips', '3')
    .action((opts: unknown, cmd: Command) => ctx.run(cmd, () => runDemo(ctx, opts)));
}

async function runDemo(ctx: CliContext, raw: unknown): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'demo');
  const { loaded, logger } = ctx.load();
  const out = ctx.io.stdout;
  const dir = path.resolve(opts.dir ?? path.join(loaded.stateDir, 'demo-media'));
  const [width, height] = opts.size.split('x').map(Number) as [number, number];
  if (width % 2 || height % 2) {
    throw new InputError(
      'BAD_OPTION',
      `--size ${opts.size}: width and height must be even`,
      'e.g. --size 640x360',
    );
  }

  out.write(`sample clips in ${dir}\n`);
  await makeDemoClips({
    dir,
    width,
    height,
    seconds: opts.seconds,
    config: loaded.config,
    searchPath: loaded.searchPath,
    onClip: (file, made) => out.write(`  ${made ? 'made  ' : 'reused'} ${path.basename(file)}\n`),
  });

  // The stack's own logs would tear through the progress display; warnings still show.
  const quiet = ctx.verbose ? logger : logger.child({}, { level: 'warn' });
  // Listening before the stack starts: a Ctrl-C while it comes up must stop what was started
  // (the private redis-server is out of the terminal's reach), not leave it behind.
  const interrupt = onInterrupt();
  let stack: LocalStack | null = null;
  // Demo jobs are disposable, so the first Ctrl-C already hands them back; a further one kills
  // the workers rather than being ignored.
  let signals = 0;
  const onSignal = () => {
    if (++signals >= 2) {
      out.write('killing the workers\n');
      stack?.kill();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The terminal closed: stop as on Ctrl-C, so no detached part of the stack is left behind.
  const hangup = watchHangup(() => process.kill(process.pid, 'SIGTERM'));
  try {
    const { startLocalStack } = await import('../stack/local-stack.ts');
    stack = await startLocalStack({
      loaded,
      logger: quiet,
      workers: opts.workers,
      workerLogLevel: 'warn',
      verbose: ctx.verbose,
    });
    interrupt.signal.throwIfAborted();
    out.write(
      `local stack up: gateway ${stack.gatewayUrl}, ${opts.workers} worker slot${opts.workers === 1 ? '' : 's'}\n`,
    );
    const { config } = loaded;
    const scan = await scanSources([dir], {
      extensions: config.filters.extensions,
      proxyRoot: config.paths.proxy_root,
      layout: config.paths.layout,
    });
    for (const line of skipNoteLines(scan.skipped)) out.write(`${line}\n`);
    const client = createGatewayClient({ url: stack.gatewayUrl, token: config.gateway.token });
    const response = await client.enqueue({
      v: PROTOCOL_VERSION,
      sources: scan.sources,
      label: 'proxima demo',
    });
    out.write(
      `queued ${response.batch.jobs.length} clips as batch ${response.batch.id} (${response.batch.preset})\n`,
    );
    const state = await followBatch(client, response, {
      out,
      mode: out.isTTY ? 'tty' : 'plain',
      logger: quiet,
      signal: interrupt.signal,
      failed: stack.failed.then((err) => Promise.reject(err)),
    });
    printSummary(out, state, response, true);
    return succeeded(state) ? 0 : 1;
  } catch (err) {
    const reason: unknown = interrupt.signal.reason;
    if (reason instanceof Interrupted) {
      out.write('stopping: handing running jobs back to the queue (Ctrl-C again kills)\n');
      if (stack) {
        const stopping = stack.stop();
        stack.hurry();
        await stopping;
      }
      if (hangup.hungUp) return await endByHangup(hangup);
      out.write('stopped\n');
      return signalExitCode(reason.signalName);
    }
    throw err;
  } finally {
    interrupt.dispose();
    await stack?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    hangup.dispose();
  }
}
