import { matchesAny } from '../../core/paths/glob.ts';
import { classifyFile } from '../sources/scan-sources.ts';
import type { ResolveClip, ResolveTimeline } from './bridge-client.ts';

export interface PlannedClip {
  mediaId: string;
  name: string;
  path: string;
  proxyPath: string;
  /** The timelines that use it, for the plan and the batch label. */
  timelines: string[];
  /**
   * Other media-pool clips of the same file (imported twice): one proxy is made, and Resolve
   * needs it linked to each of them.
   */
  sameFile: { mediaId: string; name: string }[];
}

export type SkipReason =
  | 'no media (title or generator)'
  | 'no media file'
  | 'still image'
  | 'audio only'
  | 'generated'
  | 'compound clip'
  | 'not a video extension'
  | 'excluded by filters.exclude'
  | 'not in filters.include'
  | 'proxy linked';

export interface SkippedClip {
  name: string;
  path: string | null;
  reason: SkipReason;
}

export interface ClipPlan {
  /** Clips to encode: no proxy yet, an offline one, or --reencode / --force. */
  encode: PlannedClip[];
  /** A proxy is on disk but not linked: link it instead of encoding again. */
  link: PlannedClip[];
  skipped: SkippedClip[];
}

export interface SelectOptions {
  /** Encode clips whose proxy is linked and online too. */
  force: boolean;
  /** Encode even when a proxy is already on disk. */
  reencode: boolean;
  /** filters.extensions */
  extensions: readonly string[];
  /** filters.include and filters.exclude: path globs. */
  include?: readonly string[];
  exclude?: readonly string[];
  /** Video track indexes to read per timeline name; absent: every track. */
  tracks?: Record<string, readonly number[]>;
  proxyPathFor(source: string): string;
  proxyExists(proxyPath: string): boolean;
}

const NOT_FOOTAGE: Record<string, SkipReason> = {
  Still: 'still image',
  Audio: 'audio only',
  Generator: 'generated',
  'Fusion Composition': 'generated',
  Compound: 'compound clip',
  Timeline: 'compound clip',
};

/**
 * Which media-pool clips of the timelines get proxies, once each (by media id, then by file
 * path), and why the others do not. Pure.
 */
export function selectClips(timelines: readonly ResolveTimeline[], opts: SelectOptions): ClipPlan {
  const plan: ClipPlan = { encode: [], link: [], skipped: [] };
  const byMedia = new Map<string, PlannedClip | SkippedClip>();
  const byPath = new Map<string, PlannedClip>();

  for (const timeline of timelines) {
    const tracks = opts.tracks?.[timeline.name];
    for (const track of timeline.videoTracks) {
      if (tracks && !tracks.includes(track.index)) continue;
      for (const item of track.items) {
        if (!item.clip) {
          plan.skipped.push({
            name: item.name,
            path: null,
            reason: 'no media (title or generator)',
          });
          continue;
        }
        const seen = byMedia.get(item.clip.mediaId);
        if (seen) {
          if ('timelines' in seen) addTimeline(seen, timeline.name);
          continue;
        }
        const decided = decide(item.clip, timeline.name, opts);
        if ('reason' in decided) {
          byMedia.set(item.clip.mediaId, decided);
          plan.skipped.push(decided);
          continue;
        }
        const samePath = byPath.get(decided.clip.path);
        if (samePath) {
          byMedia.set(item.clip.mediaId, samePath);
          samePath.sameFile.push({ mediaId: item.clip.mediaId, name: item.clip.name });
          addTimeline(samePath, timeline.name);
          continue;
        }
        byMedia.set(item.clip.mediaId, decided.clip);
        byPath.set(decided.clip.path, decided.clip);
        plan[decided.action].push(decided.clip);
      }
    }
  }
  return plan;
}

function decide(
  clip: ResolveClip,
  timeline: string,
  opts: SelectOptions,
): SkippedClip | { action: 'encode' | 'link'; clip: PlannedClip } {
  const p = clip.properties;
  const filePath = p['File Path'] ?? '';
  const skip = (reason: SkipReason): SkippedClip => ({
    name: clip.name,
    path: filePath || null,
    reason,
  });
  const type = NOT_FOOTAGE[p.Type ?? ''];
  if (type) return skip(type);
  if (!filePath) return skip('no media file');
  const kind = classifyFile(filePath, opts.extensions);
  if (kind === 'still') return skip('still image');
  if (kind === 'audio') return skip('audio only');
  if (kind !== 'video') return skip('not a video extension');
  if (opts.exclude?.length && matchesAny(filePath, opts.exclude)) {
    return skip('excluded by filters.exclude');
  }
  if (opts.include?.length && !matchesAny(filePath, opts.include)) {
    return skip('not in filters.include');
  }

  const proxyPath = opts.proxyPathFor(filePath);
  const planned: PlannedClip = {
    mediaId: clip.mediaId,
    name: clip.name,
    path: filePath,
    proxyPath,
    timelines: [timeline],
    sameFile: [],
  };
  // Resolve shows an online proxy's frame size in `Proxy`, and `Offline` when the file is gone.
  const linkedOnline = /^\d+x\d+$/.test(p.Proxy ?? '') && Boolean(p['Proxy Media Path']);
  if (linkedOnline && !opts.force) return skip('proxy linked');
  if (!opts.reencode && !opts.force && opts.proxyExists(proxyPath)) {
    return { action: 'link', clip: planned };
  }
  return { action: 'encode', clip: planned };
}

function addTimeline(clip: PlannedClip, timeline: string): void {
  if (!clip.timelines.includes(timeline)) clip.timelines.push(timeline);
}

/** `plan: 5 to encode, 1 to link, 4 skipped (2 still image, 1 audio only, 1 proxy linked)` */
export function planLine(plan: ClipPlan): string {
  const counts = new Map<string, number>();
  for (const s of plan.skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  const reasons = [...counts].map(([reason, n]) => `${n} ${reason}`).join(', ');
  return (
    `plan: ${plan.encode.length} to encode, ${plan.link.length} to link, ` +
    `${plan.skipped.length} skipped${reasons ? ` (${reasons})` : ''}`
  );
}
