import type { OutputStream } from '../progress/progress-view.ts';
import type { ResolveBridge } from './bridge-client.ts';

export interface LinkTarget {
  mediaId: string;
  name: string;
  proxyPath: string;
}

/** Resolve says only True or False; these are the causes users meet. */
export const LINK_REFUSED_CAUSES =
  'the proxy is still being written, a Project Manager window is open, or its frame rate, frame count or timecode differ from the clip';

/**
 * Links proxies one by one, reporting each; a refused or failed link never stops the others.
 * Returns how many were refused or failed.
 */
export async function linkProxies(
  bridge: ResolveBridge,
  targets: readonly LinkTarget[],
  project: string,
  out: OutputStream,
): Promise<{ linked: number; failed: number }> {
  let linked = 0;
  let failed = 0;
  for (const t of targets) {
    try {
      if (await bridge.link(t.mediaId, t.proxyPath, project)) {
        linked++;
        out.write(`linked    ${t.name} -> ${t.proxyPath}\n`);
      } else {
        failed++;
        out.write(
          `not linked ${t.name}: Resolve refused ${t.proxyPath} (${LINK_REFUSED_CAUSES})\n`,
        );
      }
    } catch (err) {
      failed++;
      out.write(`not linked ${t.name}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  return { linked, failed };
}
