import type { BatchCounts, BatchSummary, JobView } from '../../../core/job/contract.ts';

/** How the page words numbers, times and names. Pure, so the tests can run it in Node. */

/** The file name of a POSIX, drive-letter or UNC path. */
export function baseName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}

/** The folder of a path, as written (separators kept). */
export function folderOf(p: string): string {
  const cut = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return cut > 0 ? p.slice(0, cut) : '';
}

/** 42 s, 3:07, 1:02:03. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** Uptime and ages: 12 s, 5 min, 3 h 20 min, 2 d 4 h. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A time of day for today, else the date too, in the browser's locale. */
export function clock(at: number, now: number): string {
  const d = new Date(at);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return sameDay
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

/** The batch's name: its label, and the Resolve project and timelines it came from. */
export function batchTitle(b: Pick<BatchSummary, 'label' | 'resolve' | 'id'>): {
  title: string;
  subtitle: string;
} {
  const from = b.resolve
    ? [b.resolve.project, b.resolve.timelines.join(', ')].filter(Boolean).join(' / ')
    : '';
  if (b.label) return { title: b.label, subtitle: from };
  return { title: from || b.id, subtitle: '' };
}

/** Clips finished (done or failed) over all of them, 0-100. */
export function batchPercent(c: BatchCounts): number {
  return c.total === 0 ? 100 : ((c.completed + c.failed) / c.total) * 100;
}

/** A clip's 0-100 as the bar shows it: a done clip is full whatever its last report said. */
export function jobPercent(job: Pick<JobView, 'state' | 'progress'>): number {
  if (job.state === 'completed') return 100;
  return job.progress?.pct ?? 0;
}

/**
 * Seconds it has run (still running: so far), or null before a worker took it. A done clip
 * says it in its result, counted from the start of its first chunk when it was chunked: its
 * own job was taken again only to join them, so its start is that of the join.
 */
export function elapsedSeconds(
  job: Pick<JobView, 'state' | 'startedAt' | 'finishedAt'> & { result?: JobView['result'] },
  now: number,
): number | null {
  if (job.state === 'completed' && job.result) return job.result.encodeSeconds;
  if (job.startedAt === undefined) return null;
  if (job.state === 'active') return (now - job.startedAt) / 1000;
  if (job.finishedAt !== undefined) return (job.finishedAt - job.startedAt) / 1000;
  return null;
}

/**
 * Seconds left of a running clip: the frames still to go at its current rate, or, while it
 * reports no rate yet, its time so far scaled by what is left. Null when it cannot be told.
 */
export function etaSeconds(
  job: Pick<JobView, 'state' | 'progress' | 'startedAt' | 'chunks'>,
  now: number,
): number | null {
  const p = job.progress;
  // Below 1 % the rate is mostly start-up time: a guess of hours would only alarm.
  if (job.state !== 'active' || !p || p.pct < 1 || p.pct >= 100) return null;
  // A chunked clip's frames come from several encoders at once: its time so far says more
  // than any one rate.
  if (p.fps > 0 && p.frame > 0 && !job.chunks?.length) {
    const total = p.frame / (p.pct / 100);
    return (total - p.frame) / p.fps;
  }
  if (job.startedAt !== undefined) {
    return (((now - job.startedAt) / 1000) * (100 - p.pct)) / p.pct;
  }
  return null;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
