import type { MediaInfo } from '../core/media/media-info.ts';
import { verifyProxy } from '../core/media/verify-proxy.ts';
import { PRESETS, type Preset } from '../core/presets/presets.ts';

/** What a file already at a job's proxy path is, for the job's preset. */
export type ExistingProxy =
  | { kind: 'reuse'; proxy: MediaInfo }
  /** A sound proxy of this source, but of another preset: not this job's to replace. */
  | { kind: 'other-preset'; preset: Preset }
  /** Not a proxy of this source (or unreadable): encoded over, as a failed attempt's leftover. */
  | { kind: 'stale' };

/**
 * Judges the probe of a file at the proxy path against the source. A proxy of another preset
 * that verifies for the source is someone's finished work (queued with the other preset, or
 * before encoding.preset changed), so it is reported rather than silently replaced. Pure.
 */
export function judgeExistingProxy(
  source: MediaInfo,
  proxy: MediaInfo | undefined,
  preset: Preset,
): ExistingProxy {
  if (!proxy) return { kind: 'stale' };
  if (verifyProxy(source, proxy, preset).length === 0) return { kind: 'reuse', proxy };
  const other = Object.values(PRESETS)
    .map((p) => ({ ...p, size: preset.size }))
    // By what the file says, not the name: a user preset shares its base's name.
    .find((p) => !sameStream(p, preset) && verifyProxy(source, proxy, p).length === 0);
  return other ? { kind: 'other-preset', preset: other } : { kind: 'stale' };
}

function sameStream(a: Preset, b: Preset): boolean {
  return a.codec === b.codec && a.fourcc === b.fourcc && a.profile === b.profile;
}
