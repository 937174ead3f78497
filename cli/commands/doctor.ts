import { Command } from 'commander';
import { z } from 'zod';
import { isProximaError } from '../../core/errors.ts';
import type { PresetName } from '../../core/config/schema.ts';
import type { StatusResponse } from '../../core/job/contract.ts';
import { PROBE_MAX_SOURCES } from '../../core/job/probe-contract.ts';
import { PROTOCOL_VERSION } from '../../core/version.ts';
import type { CliContext } from '../context.ts';
import { renderLine, exitCodeOf, fail, ok, type CheckLine } from '../doctor/check-line.ts';
import { requestProbe } from '../doctor/probe-client.ts';
import { resolveLine } from '../doctor/resolve-check.ts';
import { sampleSources } from '../doctor/sample.ts';
import { stackChecks } from '../doctor/stack-checks.ts';
import {
  proxyRootLines,
  sourceLines,
  toolLines,
  unansweredLine,
  type BatchFacts,
} from '../doctor/worker-lines.ts';
import { gatewayClientFor } from '../gateway-client.ts';
import { intOption, parseOptions } from '../options.ts';
import { scanSources, skipNoteLines } from '../sources/scan-sources.ts';
import { terminalText } from '../terminal-text.ts';

const optionsSchema = z
  .object({
    paths: z.array(z.string().min(1)),
    batch: z.string().min(1).max(200).optional(),
    resolve: z.boolean().default(false),
    timeout: intOption(1, 600).optional(),
    sample: intOption(1, PROBE_MAX_SOURCES).default(8),
  })
  .refine((o) => o.batch === undefined || o.paths.length === 0, {
    path: ['batch'],
    message: 'give PATHS or --batch ID, not both',
  });

export function doctorCommand(ctx: CliContext): Command {
  return new Command('doctor')
    .description(
      'check the config, broker, gateway, workers, their ffmpeg and, for PATHS, what a worker sees',
    )
    .argument('[paths...]', 'files or folders to check from a worker (a sample of them)')
    .option('--batch <id>', 'check a sample of a queued batch instead of PATHS')
    .option('--resolve', 'also check that DaVinci Resolve answers')
    .option(
      '--timeout <seconds>',
      'how long to wait for a worker to answer (default 15; 120 while an autoscaler starts one)',
    )
    .option(
      '--sample <n>',
      `sources of PATHS a worker checks (default 8, at most ${PROBE_MAX_SOURCES})`,
    )
    .action((paths: string[], opts: Record<string, unknown>, cmd: Command) =>
      ctx.run(cmd, () => runDoctor(ctx, { ...opts, paths })),
    );
}

/**
 * An encoder an autoscaler starts from zero takes a while to answer (its container or pod has
 * to start first); a running worker answers at once. Pure.
 */
export function probeSeconds(status: StatusResponse | null): number {
  return status?.autoscale && status.workers.length === 0 ? 120 : 15;
}

async function runDoctor(ctx: CliContext, raw: unknown): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'doctor', { paths: 'PATHS' });
  const lines: CheckLine[] = [];
  const print = (l: CheckLine) => {
    lines.push(l);
    ctx.io.stdout.write(`${renderLine(l)}\n`);
  };

  let loaded;
  try {
    loaded = ctx.load().loaded;
  } catch (err) {
    // Nothing else can be checked without a config.
    print(
      fail(
        'config',
        err instanceof Error ? err.message : String(err),
        isProximaError(err) ? err.hint : 'fix the config file',
      ),
    );
    return 1;
  }
  print(ok('config', `${loaded.file} is valid`));
  const { config } = loaded;

  const stack = await stackChecks(loaded);
  for (const l of stack.lines) print(l);

  let facts: BatchFacts | null = null;
  if (opts.paths.length > 0) {
    let scan: Awaited<ReturnType<typeof scanSources>> = { sources: [], skipped: [] };
    try {
      scan = await scanSources(opts.paths, {
        extensions: config.filters.extensions,
        proxyRoot: config.paths.proxy_root,
      });
    } catch (err) {
      print(
        fail(
          'sources',
          err instanceof Error ? err.message : String(err),
          isProximaError(err) ? err.hint : 'check the paths',
        ),
      );
    }
    for (const note of skipNoteLines(scan.skipped)) {
      ctx.io.stdout.write(`     ${terminalText(note)}\n`);
    }
    if (scan.sources.length === 0 && !lines.some((l) => l.check === 'sources')) {
      print(
        fail(
          'sources',
          `no video files in ${opts.paths.join(', ')}`,
          'give files whose extension is in filters.extensions (see `proxima config show`)',
        ),
      );
    } else if (scan.sources.length > 0) {
      const sampled = sampleSources(scan.sources, opts.sample);
      facts = {
        sampled,
        count: scan.sources.length,
        bytes: scan.sources.reduce((n, s) => n + s.size, 0),
      };
    }
  }

  let preset: PresetName | undefined;
  if (opts.batch !== undefined && stack.gatewayUp) {
    try {
      // As the editor queued them; the gateway maps them for the worker as it did for the jobs.
      const batch = await gatewayClientFor(config).batch(opts.batch);
      preset = batch.preset;
      const jobs = batch.jobs.map((j) => ({ path: j.source, size: 0 }));
      facts = { sampled: sampleSources(jobs, opts.sample), count: jobs.length, bytes: 0 };
    } catch (err) {
      print(
        fail(
          'batch',
          err instanceof Error ? err.message : String(err),
          isProximaError(err) ? err.hint : 'check the batch id (`proxima status`)',
        ),
      );
    }
  }

  if (stack.gatewayUp) {
    try {
      const response = await requestProbe(config, {
        v: PROTOCOL_VERSION,
        sources: facts?.sampled.map((s) => s.path) ?? [],
        media: facts !== null,
        ...(preset && { preset }),
        timeoutSeconds: opts.timeout ?? probeSeconds(stack.status),
      });
      if (response === null) {
        print(
          fail(
            'worker checks',
            'the gateway does not send probe jobs (an earlier version)',
            'run the same Proxima version on the gateway and this machine',
          ),
        );
      } else if (response.outcome !== 'answered' || !response.result) {
        print(unansweredLine(response));
      } else {
        for (const l of toolLines(response.result)) print(l);
        if (facts) for (const l of sourceLines(response, facts)) print(l);
        for (const l of proxyRootLines(response, facts)) print(l);
      }
    } catch (err) {
      print(
        fail(
          'worker checks',
          err instanceof Error ? err.message : String(err),
          isProximaError(err) ? err.hint : 'see the gateway log',
        ),
      );
    }
  } else {
    print(
      fail(
        'worker checks',
        'not run: they need the gateway and its broker',
        'fix the lines above first',
      ),
    );
  }

  if (opts.resolve) print(await resolveLine(ctx));
  return exitCodeOf(lines);
}
