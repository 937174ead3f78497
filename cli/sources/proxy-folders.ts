import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { BESIDE_FOLDER, proxyFileName } from '../../core/paths/proxy-path.ts';

/**
 * Whether `dir` is a Proxy folder beside sources, as paths.layout beside (and Resolve, and
 * Blackmagic Proxy Generator) write them: named Proxy, and holding a proxy of a file in the folder
 * it is in, by the proxy naming rule (with or without a name clash). A folder of camera media
 * that only happens to be called Proxy holds no such file and is walked as any other.
 * `parentEntries` are the parent folder's entries when the walk has read them already.
 */
export async function isBesideProxyFolder(
  dir: string,
  parentEntries?: readonly Dirent[],
): Promise<boolean> {
  if (path.basename(dir) !== BESIDE_FOLDER) return false;
  const parent =
    parentEntries ?? (await readdir(path.dirname(dir), { withFileTypes: true }).catch(() => []));
  // Proxies often land on case-insensitive volumes: names compare in lower case.
  const proxyNames = new Set<string>();
  for (const e of parent) {
    if (e.isDirectory() || e.name.startsWith('.')) continue;
    proxyNames.add(proxyFileName(e.name).toLowerCase());
    proxyNames.add(proxyFileName(e.name, true).toLowerCase());
  }
  if (proxyNames.size === 0) return false;
  const inside = await readdir(dir).catch(() => [] as string[]);
  return inside.some((name) => proxyNames.has(name.toLowerCase()));
}
