import path from 'node:path';
import { InputError } from '../errors.ts';
import { pathStyle, toEditor, toFarm, type PathMapping } from './path-mapping.ts';

export interface ProxyPathOptions {
  /** Another source in the same folder has the same stem (A001.mp4 and A001.mxf). */
  nameClash?: boolean;
  /** The path flavour of proxyRoot; defaults to this machine's. */
  pathApi?: path.PlatformPath;
}

/**
 * `<proxy_root>/<source dir mirrored>/<source stem>.mov`. The mirrored dir is the absolute
 * source dir without its root: `/media/day1` -> `media/day1`, `D:\media` -> `D/media`,
 * `\\nas\share\day1` -> `nas/share/day1`. The result is always inside proxyRoot.
 */
export function proxyPathFor(
  sourcePath: string,
  proxyRoot: string,
  options: ProxyPathOptions = {},
): string {
  const p = options.pathApi ?? path;
  const segments = mirroredSegments(sourcePath);
  const file = segments.pop()!;
  const dot = file.lastIndexOf('.');
  const stem = dot > 0 ? file.slice(0, dot) : file;
  const ext = dot > 0 ? file.slice(dot + 1) : '';
  const name = options.nameClash && ext ? `${stem}_${ext}.mov` : `${stem}.mov`;
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
 * A source's proxy as the editor's machine names it, by the gateway's rule: the farm's path of
 * the source mirrored below the farm's proxy root, mapped back in the style of the source. On
 * the editor's machine `proxyRoot` is its own name for the farm's proxy root (`P:\Proxies`).
 * Without mappings it is proxyPathFor.
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
