import path from 'node:path';
import { InputError } from '../errors.ts';
import type { ProxyLayout } from '../job/contract.ts';
import { pathStyle, toEditor, toFarm, type PathMapping } from './path-mapping.ts';

/** The folder beside a source that Resolve and Blackmagic Proxy Generator look in and write to. */
export const BESIDE_FOLDER = 'Proxy';

export interface ProxyPathOptions {
  /** Another source in the same folder has the same stem (A001.mp4 and A001.mxf). */
  nameClash?: boolean;
  /** paths.layout; mirror when absent. */
  layout?: ProxyLayout;
  /** The path flavour of proxyRoot (mirror); defaults to this machine's. */
  pathApi?: path.PlatformPath;
}

/**
 * The proxy's file name for a source's: `A001.mp4` -> `A001.mov`, and with a name clash
 * `A001_mp4.mov`, so two sources of one stem in one folder never share a proxy. Pure.
 */
export function proxyFileName(sourceName: string, nameClash = false): string {
  const dot = sourceName.lastIndexOf('.');
  const stem = dot > 0 ? sourceName.slice(0, dot) : sourceName;
  const ext = dot > 0 ? sourceName.slice(dot + 1) : '';
  return nameClash && ext ? `${stem}_${ext}.mov` : `${stem}.mov`;
}

/**
 * Where paths.layout puts a source's proxy. mirror: `<proxy_root>/<source dir mirrored>/<stem>.mov`;
 * the mirrored dir is the absolute source dir without its root: `/media/day1` -> `media/day1`,
 * `D:\media` -> `D/media`, `\\nas\share\day1` -> `nas/share/day1`, and the result is always
 * inside proxyRoot. beside: `<source dir>/Proxy/<stem>.mov` (see besideProxyPath); proxyRoot is
 * not used.
 */
export function proxyPathFor(
  sourcePath: string,
  proxyRoot: string,
  options: ProxyPathOptions = {},
): string {
  if (options.layout === 'beside') return besideProxyPath(sourcePath, options);
  const p = options.pathApi ?? path;
  const segments = mirroredSegments(sourcePath);
  const name = proxyFileName(segments.pop()!, options.nameClash);
  const root = p.resolve(proxyRoot);
  const out = p.join(root, ...segments, name);
  if (!out.startsWith(root + p.sep)) {
    throw new InputError(
      'PATH_OUTSIDE_ROOT',
      `proxy path for ${sourcePath} falls outside the proxy root ${root}`,
      'queue sources by their absolute path, without ".." segments',
    );
  }
  return out;
}

/**
 * `/media/day1/A001.mp4` -> `/media/day1/Proxy/A001.mov`, `R:\Day1\A001.mp4` ->
 * `R:\Day1\Proxy\A001.mov`: in the style of the source path whatever OS computes it, since the
 * gateway on Linux may name a Windows editor's files.
 */
export function besideProxyPath(
  sourcePath: string,
  options: Pick<ProxyPathOptions, 'nameClash'> = {},
): string {
  mirroredSegments(sourcePath); // absolute, no "..", a file name: as for mirror
  // `\` is a character of a POSIX name, so the name is taken by the source's own rules.
  const p = pathStyle(sourcePath) === 'posix' ? path.posix : path.win32;
  const name = proxyFileName(p.basename(sourcePath), options.nameClash);
  return p.join(p.dirname(sourcePath), BESIDE_FOLDER, name);
}

/**
 * A source's proxy as the editor's machine names it, by the gateway's rule: the farm's proxy
 * path of the farm's path of the source (mirrored below the farm's proxy root, or beside it),
 * mapped back in the style of the source. On the editor's machine `proxyRoot` is its own name
 * for the farm's proxy root (`P:\Proxies`). Without mappings it is proxyPathFor.
 */
export function editorProxyPathFor(
  editorSource: string,
  proxyRoot: string,
  mappings: readonly PathMapping[],
  options: Omit<ProxyPathOptions, 'pathApi'> = {},
): string {
  if (mappings.length === 0) return proxyPathFor(editorSource, proxyRoot, options);
  const farmRoot = toFarm(proxyRoot, mappings);
  const pathApi = pathStyle(farmRoot) === 'posix' ? path.posix : path.win32;
  const farmProxy = proxyPathFor(toFarm(editorSource, mappings), farmRoot, { ...options, pathApi });
  return toEditor(farmProxy, mappings, pathStyle(editorSource));
}

function mirroredSegments(sourcePath: string): string[] {
  let rest: string;
  let head: string[] = [];
  const drive = /^([A-Za-z]):[\\/]/.exec(sourcePath);
  if (drive) {
    head = [drive[1]!.toUpperCase()];
    rest = sourcePath.slice(3);
  } else if (sourcePath.startsWith('\\\\') || sourcePath.startsWith('//')) {
    rest = sourcePath.slice(2);
  } else if (sourcePath.startsWith('/')) {
    rest = sourcePath.slice(1);
  } else {
    throw new InputError(
      'SOURCE_NOT_ABSOLUTE',
      `source path ${JSON.stringify(sourcePath)} is not absolute`,
      'queue sources by their absolute path',
    );
  }
  const parts = rest.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
  if (parts.includes('..') || parts.length === 0) {
    throw new InputError(
      'SOURCE_PATH_INVALID',
      `source path ${JSON.stringify(sourcePath)} has ".." segments or no file name`,
      'queue sources by their absolute, normalised path',
    );
  }
  return [...head, ...parts];
}

/**
 * The proxyRoot a job payload names: the resolved proxy root (mirror), or the Proxy folder the
 * proxy is in (beside), which is what messages about a full or read-only volume should name.
 */
export function payloadProxyRoot(
  layout: ProxyLayout,
  proxyRoot: string,
  proxyPath: string,
): string {
  if (layout === 'mirror') return path.resolve(proxyRoot);
  const p = pathStyle(proxyPath) === 'posix' ? path.posix : path.win32;
  return p.dirname(proxyPath);
}
