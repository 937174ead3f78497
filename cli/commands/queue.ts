import { Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import { presetNameSchema, type EnqueueResponse } from '../../core/job/contract.ts';
import { PROTOCOL_VERSION } from '../../core/version.ts';
import type { CliContext } from '../context.ts';
import { gatewayClientFor } from '../gateway-client.ts';
import { Interrupted, onInterrupt, signalExitCode } from '../interrupt.ts';
import { parseOptions } from '../options.ts';
import { stateFromSnapshot, succeeded, tally, type BatchState } from '../progress/batch-state.ts';
import { followBatch, printSummary } from '../progress/follow-batch.ts';
import {
  scanSources,
  skipNoteLines,
  summarizeSkipped,
  type SkipNote,
} from '../sources/scan-sources.ts';

const optionsSchema = z.object({
  paths: z.array(z.string().min(1)).min(1, 'give at least one file or folder'),
  preset: presetNameSchema.optional(),
  wait: z.boolean().optional(),
  json: z.boolean().default(false),
  label: z.string().min(1).max(200).optional(),
});

export function queueCommand(ctx: CliContext): Command {
  return new Command('queue')
    .description('queue files and folders for proxies, then show progress and a summary')
    .argument('[paths...]', 'files and folders (folders are walked recursively)')
    .option('--preset <name>', 'prores-proxy or dnxhr-lb (default: encoding.preset)')
    .option('--wait', 'wait for the proxies (default at a terminal)')
    .option('--no-wait', 'return once queued')
    .option('--json', 'print a machine-readable summary on stdout (waits unless --no-wait)')
    .option('--label <text>', 'free text shown by status, e.g. the timeline name')
    .action((paths: string[], opts: Record<string, unknown>, cmd: Command) =>
      ctx.run(cmd, () => runQueue(ctx, { ...opts, paths })),
    );
}

export async function runQueue(ctx: CliContext, raw: unknown): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'queue', { paths: 'PATHS' });
  const { loaded, logger } = ctx.load();
  const { config } = loaded;
  const out = ctx.io.stdout;

  const scan = await scanSources(opts.paths, {
    extensions: config.filters.extensions,
    proxyRoot: config.paths.proxy_root,
  });
  if (!opts.json) for (const line of skipNoteLines(scan.skipped)) out.write(`${line}\n`);
  if (scan.sources.length === 0) {
    throw new InputError(
      'NOTHING_TO_QUEUE',
      `no video files in ${opts.paths.join(', ')}${scan.skipped.length ? ` (${summarizeSkipped(scan.skipped)})` : ''}`,
      'queue files whose extension is in filters.extensions (see `proxima config show`)',
    );
  }

  const client = gatewayClientFor(config);
  const response = await client.enqueue({
    v: PROTOCOL_VERSION,
    preset: opts.preset,
    sources: scan.sources,
    label: opts.label,
  });
  const { batch } = response;
  logger.debug({ batch: batch.id, jobs: batch.jobs.length }, 'queued');

  const wait = opts.wait ?? (opts.json || Boolean(out.isTTY));
  if (!opts.json) {
    out.write(
      `queued ${batch.jobs.length} file${batch.jobs.length === 1 ? '' : 's'} as batch ${batch.id} (${batch.preset}${response.deduplicated ? `, ${response.deduplicated} already queued or done` : ''})\n`,
    );
  }
  if (!wait) {
    if (opts.json)
      out.write(
        `${JSON.stringify(jsonSummary(response, stateFromSnapshot(batch), scan.skipped, false), null, 2)}\n`,
      );
    else out.write('not waiting; `proxima status` shows the queue\n');
    return 0;
  }

  const interrupt = onInterrupt();
  let state: BatchState;
  try {
    state = await followBatch(client, response, {
      out,
      mode: opts.json ? 'silent' : out.isTTY ? 'tty' : 'plain',
      logger,
      signal: interrupt.signal,
    });
  } catch (err) {
    const reason: unknown = interrupt.signal.reason;
    if (reason instanceof Interrupted) {
      ctx.io.stderr.write(
        `stopped watching batch ${batch.id}; its jobs keep running (see \`proxima status\`)\n`,
      );
      return signalExitCode(reason.signalName);
    }
    throw err;
  } finally {
    interrupt.dispose();
  }

  if (opts.json) {
    out.write(`${JSON.stringify(jsonSummary(response, state, scan.skipped, true), null, 2)}\n`);
  } else {
    printSummary(out, state, response);
  }
  return succeeded(state) ? 0 : 1;
}

/** The --json output: stable keys a script or an editor panel can rely on. */
export function jsonSummary(
  response: EnqueueResponse,
  state: BatchState,
  skipped: readonly SkipNote[],
  waited: boolean,
) {
  const t = tally(state);
  return {
    batch: response.batch.id,
    preset: response.batch.preset,
    label: response.batch.label,
    waited,
    deduplicated: response.deduplicated,
    counts: {
      total: t.total,
      completed: t.completed,
      reused: t.reused,
      failed: t.failed,
      gone: t.gone,
      unfinished: t.total - t.completed - t.failed - t.gone,
    },
    jobs: state.jobs.map((j) => ({
      id: j.id,
      source: j.source,
      state: j.state,
      proxyPath: j.result?.proxyPath ?? j.proxyPath,
      reused: j.result ? j.result.reused : null,
      error: j.error,
    })),
    skipped,
  };
}
