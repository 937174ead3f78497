import type { Progress } from '../core/job/contract.ts';

/**
 * When a running ffmpeg counts as stuck. Decisions only; the runner owns the timer and the kill.
 */
export interface StallClock {
  /** When ffmpeg last moved forward (or started). */
  advancedAt: number;
  /** When the watch last looked. */
  tickAt: number;
}

/** Pure: whether `next` is real progress over `prev`. ffmpeg keeps printing its progress
 * blocks on some versions while its input blocks, so a block alone is not progress. */
export function advanced(prev: Progress | undefined, next: Progress): boolean {
  if (!prev) return true;
  return next.frame > prev.frame || next.outSec > prev.outSec || next.pct > prev.pct;
}

/**
 * Pure: the clock after a look at `now`, and whether ffmpeg has now made no progress for
 * `stallMs`. A gap between two looks far longer than `tickMs` means this process itself was
 * paused (SIGSTOP, a suspended machine) with ffmpeg's output still unread in the pipe: that is
 * no evidence against ffmpeg, so the clock starts again instead.
 */
export function tick(
  clock: StallClock,
  now: number,
  tickMs: number,
  stallMs: number,
): { clock: StallClock; stalled: boolean } {
  if (now - clock.tickAt > tickMs * 3 + 1000) {
    return { clock: { advancedAt: now, tickAt: now }, stalled: false };
  }
  return {
    clock: { advancedAt: clock.advancedAt, tickAt: now },
    stalled: now - clock.advancedAt >= stallMs,
  };
}

/** How often to look: often enough that a stall is noticed within a second of its limit. */
export function tickMsFor(stallMs: number): number {
  return Math.max(100, Math.min(1000, Math.floor(stallMs / 5)));
}
