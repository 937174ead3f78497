import type { ResolveBridge } from './bridge-client.ts';
import type { PlannedClip } from './select-clips.ts';

export interface LinkTarget {
  mediaId: string;
  name: string;
  proxyPath: string;
}

export interface LinkOutcome extends LinkTarget {
  linked: boolean;
  /** Why not, when not linked. */
  error: string | null;
}

/** Resolve says only True or False; these are the causes users meet. */
export const LINK_REFUSED_CAUSES =
  'the proxy is still being written, a Project Manager window is open, or its resolution, frame rate, frame count or timecode differ from the clip';

/** Every media-pool clip a planned clip stands for, each to be linked to the proxy. */
export function linkTargets(clip: PlannedClip, proxyPath = clip.proxyPath): LinkTarget[] {
  return [clip, ...clip.sameFile].map((c) => ({ mediaId: c.mediaId, name: c.name, proxyPath }));
}

/**
 * Links proxies one by one, saying how each went; a refused or failed link never stops the
 * others. The bridge checks before each link that `project` is still the open one.
 */
export async function linkProxies(
  bridge: ResolveBridge,
  targets: readonly LinkTarget[],
  project: string,
  say: (line: string) => void,
): Promise<LinkOutcome[]> {
  const outcomes: LinkOutcome[] = [];
  for (const t of targets) {
    let error: string | null;
    try {
      error = (await bridge.link(t.mediaId, t.proxyPath, project))
        ? null
        : `Resolve refused ${t.proxyPath} (${LINK_REFUSED_CAUSES})`;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    say(
      error === null ? `linked    ${t.name} -> ${t.proxyPath}` : `not linked ${t.name}: ${error}`,
    );
    outcomes.push({ ...t, linked: error === null, error });
  }
  return outcomes;
}

export function countFailed(outcomes: readonly LinkOutcome[]): number {
  return outcomes.filter((o) => !o.linked).length;
}
