import type { Progress } from '../job/contract.ts';

/**
 * Incremental parser of `ffmpeg -progress pipe:1` output: key=value lines in blocks that end
 * with `progress=continue` or `progress=end`. Chunks may split lines anywhere. Pure.
 */
export function createProgressParser(durationSec: number): (chunk: string) => Progress[] {
  let pending = '';
  let block: Record<string, string> = {};
  return (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    const out: Progress[] = [];
    for (const raw of lines) {
      const line = raw.trim();
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1).trim();
      if (key !== 'progress') {
        block[key] = value;
        continue;
      }
      out.push(toProgress(block, durationSec, value === 'end'));
      block = {};
    }
    return out;
  };
}

function toProgress(b: Record<string, string>, durationSec: number, end: boolean): Progress {
  // out_time_ms is in microseconds despite its name (https://trac.ffmpeg.org/ticket/7345).
  const us = num(b.out_time_us) ?? num(b.out_time_ms) ?? 0;
  const outSec = Math.max(0, us / 1e6);
  const pct = end ? 100 : durationSec > 0 ? Math.min(99.9, (outSec / durationSec) * 100) : 0;
  return {
    pct: Math.round(pct * 10) / 10,
    frame: Math.max(0, Math.trunc(num(b.frame) ?? 0)),
    fps: Math.max(0, num(b.fps) ?? 0),
    speed: Math.max(0, num(b.speed?.replace(/x$/, '')) ?? 0),
    outSec,
  };
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || v === '' || v === 'N/A') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}
