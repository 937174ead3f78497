import path from 'node:path';
import type { JobView } from '../../core/job/contract.ts';
import { terminalText } from '../terminal-text.ts';
import { tally, type BatchState } from './batch-state.ts';
import type { ConnectionNote } from './watch-batch.ts';

/** Pure text for the progress display and the summary; progress-view.ts puts it on screen. */

const FULL = '█';
const EMPTY = '░';
const BAR_WIDTH = 24;
/** " " + bar + " " + "100%" + " " + "12.3x" */
const TAIL_WIDTH = 1 + BAR_WIDTH + 1 + 4 + 1 + 6;

export function renderBar(pct: number, width: number): string {
  const clamped = Math.min(100, Math.max(0, pct));
  const full = Math.round((clamped / 100) * width);
  return FULL.repeat(full) + EMPTY.repeat(width - full);
}

/**
 * Pads or cuts text to a column. File names keep their end (clip number and extension matter
 * most), labels their start.
 */
export function fitName(name: string, width: number, keep: 'end' | 'start' = 'end'): string {
  if (width <= 0) return '';
  if (name.length <= width) return name.padEnd(width);
  return keep === 'end'
    ? `…${name.slice(name.length - width + 1)}`
    : `${name.slice(0, width - 1)}…`;
}

function pctText(pct: number): string {
  return `${Math.floor(Math.min(100, Math.max(0, pct)))}%`.padStart(4);
}

function speedText(speed: number | undefined): string {
  return speed === undefined || speed <= 0 ? ''.padStart(6) : `${speed.toFixed(1)}x`.padStart(6);
}

export function overallPct(state: BatchState): number {
  if (state.jobs.length === 0) return 100;
  let sum = 0;
  for (const j of state.jobs) {
    if (j.state === 'completed' || j.state === 'failed' || j.state === 'unknown') sum += 100;
    else if (j.state === 'active') sum += j.progress?.pct ?? 0;
  }
  return sum / state.jobs.length;
}

/**
 * One line per running job, then the overall line. Lines are one character shorter than the
 * terminal, so none wraps and the cursor arithmetic of the redraw stays right; names are
 * escaped before they are fitted, since an escape is wider than the character it stands for.
 */
export function renderBars(state: BatchState, columns: number): string[] {
  const nameWidth = Math.max(8, columns - 1 - TAIL_WIDTH);
  const lines: string[] = [];
  for (const job of state.jobs) {
    if (job.state !== 'active') continue;
    const pct = job.progress?.pct ?? 0;
    lines.push(
      `${fitName(terminalText(path.basename(job.source)), nameWidth)} ${renderBar(pct, BAR_WIDTH)} ${pctText(pct)} ${speedText(job.progress?.speed)}`.trimEnd(),
    );
  }
  const t = tally(state);
  const finished = t.completed + t.failed + t.gone;
  let label = `${finished}/${t.total} done`;
  if (t.failed > 0) label += `, ${t.failed} failed`;
  if (t.waiting > 0) label += `, ${t.waiting} waiting`;
  const pct = overallPct(state);
  lines.push(`${fitName(label, nameWidth, 'start')} ${renderBar(pct, BAR_WIDTH)} ${pctText(pct)}`);
  return lines;
}

/** The line printed when a job changes state: at a terminal above the bars, else alone. */
export function renderJobLine(job: JobView): string {
  switch (job.state) {
    case 'active':
      return `encoding  ${job.source}`;
    case 'completed':
      return `${job.result?.reused ? 'reused  ' : 'done    '}  ${job.source} -> ${job.proxyPath}`;
    case 'failed':
      return `failed    ${job.source}: ${job.error?.message ?? 'unknown error'}`;
    case 'unknown':
      return `gone      ${job.source} (${GONE})`;
    default:
      return `${job.state.padEnd(8)}  ${job.source}`;
  }
}

const GONE = 'removed from the queue or expired before it ran';

/** The one line shown when the gateway is lost, and the one when it is back. */
export function renderConnectionNote(note: ConnectionNote): string {
  if (note.type === 'lost') {
    return `lost the gateway at ${note.url}; reconnecting for up to ${Math.round(note.giveUpAfterMs / 1000)} s (the batch keeps running)`;
  }
  return `gateway back after ${(note.awayMs / 1000).toFixed(1)} s; resuming`;
}

export interface SummaryOptions {
  /** Jobs the gateway found already queued, running or done (not encoded again). */
  deduplicated: number;
  /** List every proxy path, not only the folder they share. */
  listProxies?: boolean;
}

export function renderSummary(state: BatchState, options: SummaryOptions): string[] {
  const t = tally(state);
  const parts = [`${t.completed} done`];
  if (t.reused > 0) parts[0] += ` (${t.reused} reused)`;
  parts.push(`${t.failed} failed`);
  if (t.gone > 0) parts.push(`${t.gone} removed or expired`);
  if (options.deduplicated > 0) parts.push(`${options.deduplicated} deduplicated`);
  const unfinished = t.total - t.completed - t.failed - t.gone;
  if (unfinished > 0) parts.push(`${unfinished} not finished`);
  const lines = [`summary: ${parts.join(', ')} of ${t.total}`];

  for (const job of state.jobs) {
    if (job.state !== 'failed') continue;
    lines.push(`failed: ${job.source}`);
    lines.push(`  error: ${job.error?.message ?? 'unknown error'}`);
    if (job.error?.hint) lines.push(`  hint: ${job.error.hint}`);
  }
  for (const job of state.jobs) {
    if (job.state === 'unknown') lines.push(`not encoded: ${job.source} (${GONE})`);
  }

  const proxies = state.jobs.filter((j) => j.state === 'completed').map((j) => j.proxyPath);
  if (proxies.length > 0) {
    if (options.listProxies) {
      lines.push('proxies:');
      for (const p of proxies) lines.push(`  ${p}`);
    } else {
      lines.push(`proxies in ${commonDir(proxies)}`);
    }
  }
  return lines;
}

export function commonDir(paths: readonly string[]): string {
  const split = paths.map((p) => path.dirname(p).split(path.sep));
  const first = split[0] ?? [];
  let n = first.length;
  for (const parts of split) {
    let i = 0;
    while (i < n && parts[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join(path.sep) || path.sep;
}
