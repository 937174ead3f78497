import { formatBytes } from '../../core/paths/storage-errors.ts';
import { fail, ok, warn, type CheckLine } from './check-line.ts';

export interface SampledSize {
  /** Source bytes. */
  size: number;
  /** The worker's estimate of its proxy (preset bitrate x duration); absent when unknown. */
  estimatedProxyBytes?: number;
}

/**
 * The whole batch's proxy bytes, from the sampled sources' estimates scaled by source bytes
 * (a batch of one camera has one bitrate, so bytes stand for duration); null without any
 * estimate. Pure.
 */
export function estimateBatchBytes(
  sampled: readonly SampledSize[],
  batch: { count: number; bytes: number },
): number | null {
  const known = sampled.filter((s) => s.estimatedProxyBytes !== undefined);
  if (known.length === 0) return null;
  const est = known.reduce((n, s) => n + s.estimatedProxyBytes!, 0);
  const size = known.reduce((n, s) => n + s.size, 0);
  if (size > 0 && batch.bytes > 0) return Math.round((est / size) * batch.bytes);
  return Math.round((est / known.length) * batch.count);
}

/** Free space against the estimate: FAIL below it, WARN within a fifth above it. Pure. */
export function spaceLine(
  root: string,
  host: string,
  free: number | null,
  estimate: number | null,
  preset: string,
): CheckLine {
  const check = 'free space';
  if (free === null) {
    return warn(
      check,
      `free space of ${root} on worker ${host} could not be read`,
      'check the proxy volume there',
    );
  }
  if (estimate === null) return ok(check, `${formatBytes(free)} free in ${root} on worker ${host}`);
  const need = `the batch's ${preset} proxies need about ${formatBytes(estimate)} (preset bitrate x duration)`;
  if (free < estimate) {
    return fail(
      check,
      `${formatBytes(free)} free in ${root} on worker ${host}; ${need}`,
      'free space on the proxy volume, or set paths.proxy_root to a larger one',
    );
  }
  if (free < estimate * 1.2) {
    return warn(
      check,
      `${formatBytes(free)} free in ${root} on worker ${host}; ${need}, leaving little room`,
      'free space on the proxy volume before queueing more',
    );
  }
  return ok(check, `${formatBytes(free)} free in ${root} on worker ${host}; ${need}`);
}
