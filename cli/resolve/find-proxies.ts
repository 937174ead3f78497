import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { ProxyLayout } from '../../core/job/contract.ts';
import type { PathMapping } from '../../core/paths/path-mapping.ts';
import { editorProxyPathFor } from '../../core/paths/proxy-path.ts';

/**
 * Proxies under the proxy root by lower-case stem, for clips whose proxy is not at its mirrored
 * path (the media moved, or another machine mounts it elsewhere). Only `.mov` files; temp files
 * (hidden `.partial`) are never offered.
 */
export function proxiesByStem(proxyRoot: string): Map<string, string[]> {
  const byStem = new Map<string, string[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync(proxyRoot, { recursive: true, encoding: 'utf8' });
  } catch {
    return byStem;
  }
  for (const rel of entries.sort()) {
    const base = path.basename(rel);
    if (base.startsWith('.') || path.extname(base).toLowerCase() !== '.mov') continue;
    const stem = path.basename(base, path.extname(base)).toLowerCase();
    byStem.set(stem, [...(byStem.get(stem) ?? []), path.join(proxyRoot, rel)]);
  }
  return byStem;
}

/**
 * The proxies that may be a source's: its path by paths.layout, mirrored or beside it (also the
 * name a same-stem neighbour makes it take; with paths.mappings, the farm's path under the
 * editor's names), else every proxy of its stem anywhere under the root. The walk of the root
 * is only made, once, when some clip needs it.
 */
export function proxyFinder(
  proxyRoot: string,
  mappings: readonly PathMapping[] = [],
  layout: ProxyLayout = 'mirror',
): (source: string) => string[] {
  let byStem: Map<string, string[]> | null = null;
  return (source) => {
    for (const nameClash of [false, true]) {
      const planned = editorProxyPathFor(source, proxyRoot, mappings, { nameClash, layout });
      if (existsSync(planned)) return [planned];
    }
    byStem ??= proxiesByStem(proxyRoot);
    const file = source.split(/[\\/]/).at(-1) ?? source;
    const dot = file.lastIndexOf('.');
    const stem = (dot > 0 ? file.slice(0, dot) : file).toLowerCase();
    const clashed = dot > 0 ? `${stem}_${file.slice(dot + 1).toLowerCase()}` : stem;
    return byStem.get(stem) ?? byStem.get(clashed) ?? [];
  };
}
