import { stateChanges, type BatchState } from './batch-state.ts';
import { renderBars, renderJobLine } from './render-progress.ts';
import type { JobView } from '../../core/job/contract.ts';
import { terminalText } from '../terminal-text.ts';

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Shows a watched batch; `update` is called after every event, as often as they come. */
export interface ProgressView {
  update(state: BatchState): void;
  /** A line of the caller's, e.g. a proxy linked in Resolve, kept in order with the job lines. */
  note(line: string): void;
  /** Draws the last state, then leaves the screen ready for the summary. */
  stop(): void;
}

export type ViewMode = 'tty' | 'plain' | 'silent';

export function createProgressView(
  out: OutputStream,
  mode: ViewMode,
  options: { intervalMs?: number } = {},
): ProgressView {
  if (mode === 'silent') return { update() {}, note() {}, stop() {} };
  if (mode === 'plain') return plainView(out);
  return ttyView(out, options.intervalMs ?? 100);
}

/** For logs and pipes: one line per job state change, nothing redrawn. */
function plainView(out: OutputStream): ProgressView {
  const seen = new Map<string, JobView['state']>();
  return {
    update(state) {
      for (const job of stateChanges(seen, state)) {
        out.write(`${terminalText(renderJobLine(job))}\n`);
      }
    },
    note: (line) => out.write(`${terminalText(line)}\n`),
    stop() {},
  };
}

const ESC = '\x1b[';

/**
 * Every line is escaped here (file names may hold control characters); the redraw's own
 * sequences are added after. Finished jobs are printed once above the bars and scroll away like plain output; the bars
 * below them are redrawn in place, at most once per interval however fast progress arrives.
 */
function ttyView(out: OutputStream, intervalMs: number): ProgressView {
  const seen = new Map<string, JobView['state']>();
  const pending: string[] = [];
  let latest: BatchState | null = null;
  let drawn = 0;
  let lastDraw = 0;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const erase = () => (drawn > 0 ? `${ESC}${drawn}A\r${ESC}J` : '');

  const draw = () => {
    timer = null;
    lastDraw = Date.now();
    if (!latest) return;
    const bars = renderBars(latest, out.columns ?? 80);
    let text = erase();
    for (const line of pending.splice(0)) text += `${line}\n`;
    for (const line of bars) text += `${line}${ESC}K\n`;
    out.write(text);
    drawn = bars.length;
  };

  const schedule = () => {
    if (timer) return;
    const wait = lastDraw + intervalMs - Date.now();
    if (wait <= 0) draw();
    else timer = setTimeout(draw, wait);
  };

  out.write(`${ESC}?25l`);
  return {
    update(state) {
      latest = state;
      for (const job of stateChanges(seen, state)) {
        if (job.state === 'completed' || job.state === 'failed') {
          pending.push(terminalText(renderJobLine(job)));
        }
      }
      schedule();
    },
    note(raw) {
      const line = terminalText(raw);
      // Links can still finish after the bars are gone.
      if (stopped) return void out.write(`${line}\n`);
      pending.push(line);
      schedule();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      let text = erase();
      for (const line of pending.splice(0)) text += `${line}\n`;
      out.write(`${text}${ESC}?25h`);
      drawn = 0;
    },
  };
}
