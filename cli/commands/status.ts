import { Command } from 'commander';
import { z } from 'zod';
import type { StatusResponse } from '../../core/job/contract.ts';
import { updateCheckFor } from '../../core/update/update-check.ts';
import type { CliContext } from '../context.ts';
import { parseOptions } from '../options.ts';
import { gatewayClientFor } from '../gateway-client.ts';
import { terminalJson, terminalLines } from '../terminal-text.ts';
import { printUpdateNotice } from '../update-notice.ts';

const optionsSchema = z.object({ json: z.boolean().default(false) });

export function statusCommand(ctx: CliContext): Command {
  return new Command('status')
    .description('queue counts and workers with their current jobs')
    .option('--json', 'print the gateway status as JSON')
    .action((opts: unknown, cmd: Command) => ctx.run(cmd, () => runStatus(ctx, opts)));
}

async function runStatus(ctx: CliContext, raw: unknown): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'status');
  const { loaded } = ctx.load();
  const update = updateCheckFor(loaded);
  const status = await gatewayClientFor(loaded.config).status();
  const text = opts.json
    ? `${terminalJson(status)}\n`
    : terminalLines(statusLines(status, Date.now()));
  ctx.io.stdout.write(text);
  printUpdateNotice(update, ctx.io.stderr);
  return 0;
}

export function renderStatus(status: StatusResponse, now: number): string {
  return `${statusLines(status, now).join('\n')}\n`;
}

/** Raw lines: host names and sources as the gateway sent them, escaped where they are printed. */
export function statusLines(status: StatusResponse, now: number): string[] {
  const c = status.counts;
  const lines = [
    `queue ${status.queue}: ${c.waiting} waiting, ${c.active} active, ${c.delayed} delayed, ${c.completed} completed, ${c.failed} failed`,
  ];
  if (status.workers.length === 0) {
    lines.push('workers: none (start one with `proxima work`, or `proxima up`)');
  } else {
    lines.push(`workers: ${status.workers.length}`);
    for (const w of status.workers) {
      const age = Math.max(0, Math.round((now - w.seenAt) / 1000));
      const where = w.instance && w.instance !== w.host ? `${w.instance} on ${w.host}` : w.host;
      // A worker of another protocol takes only its own version's queue, never these jobs.
      const other =
        w.protocol === status.protocol ? '' : `  protocol ${w.protocol}: not these jobs`;
      lines.push(
        `  ${where} pid ${w.pid}  ${w.current.length}/${w.concurrency} busy  v${w.version}  seen ${age}s ago${other}`,
      );
      for (const job of w.current) lines.push(`    ${job.source}`);
    }
  }
  const stranded = strandedJobs(status);
  if (stranded) lines.push(stranded);
  if (status.autoscale) lines.push(...renderAutoscale(status.autoscale));
  return lines;
}

/**
 * Jobs waiting while no worker of the gateway's protocol is registered: they wait for one, since
 * workers of other versions take other queues. Undefined when that is not so. Pure.
 */
export function strandedJobs(status: StatusResponse): string | undefined {
  const c = status.counts;
  const waiting = c.waiting + c.delayed;
  if (waiting === 0) return undefined;
  if (status.workers.some((w) => w.protocol === status.protocol)) return undefined;
  const others = [...new Set(status.workers.map((w) => `${w.protocol} (v${w.version})`))];
  const seen = others.length ? `; the workers running speak protocol ${others.join(', ')}` : '';
  return `no compatible worker: ${waiting} waiting job${waiting === 1 ? ' needs' : 's need'} a worker of protocol ${status.protocol} (v${status.version})${seen}; start \`proxima work\` of version ${status.version}`;
}

function renderAutoscale(a: NonNullable<StatusResponse['autoscale']>): string[] {
  const head = `autoscale: ${a.backend} (${a.target})`;
  const d = a.last;
  if (!d) return [`${head}: no decision yet`];
  const e = d.encoders;
  const count = `${d.current} encoder${d.current === 1 ? '' : 's'} (${e.busy} busy, ${e.idle} idle, ${e.starting} starting)`;
  if (d.error)
    return [`${head}: ${count}, ${d.error.code}: ${d.error.message}`, `  hint: ${d.error.hint}`];
  return [`${head}: ${count}; ${d.reason}`];
}
