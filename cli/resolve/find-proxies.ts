import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Proxies under the proxy root by stem, for clips whose proxy is not at its mirrored path
 * (the media moved, or another machine mounts it elsewhere). Only `.mov` files; temp files
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
  for (const rel of entries) {
    const base = path.basename(rel);
    if (base.startsWith('.') || path.extname(base).toLowerCase() !== '.mov') continue;
    const stem = path.basename(base, path.extname(base));
    byStem.set(stem, [...(byStem.get(stem) ?? []), path.join(proxyRoot, rel)]);
  }
  return byStem;
}
