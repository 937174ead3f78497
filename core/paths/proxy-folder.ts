import { lstat, mkdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.ts';
import type { ProxyLayout, SourceRef } from '../job/contract.ts';
import { besideProxyPath } from './proxy-path.ts';

export interface ProxyFolder {
  /** mirror: job.proxyRoot as given; beside: the Proxy folder beside the source. */
  root: string;
  realRoot: string;
  /** The proxy's folder with every link resolved, inside realRoot. */
  realDir: string;
  /** Where the proxy is renamed to: realDir and the proxy's file name. */
  finalPath: string;
}

/** Whether `child` is `parent` or below it, both absolute and normalised. Pure. */
export function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel));
}

/** The folders between the root and the proxy, or undefined when the proxy is not below it. Pure. */
export function foldersBelowRoot(root: string, proxyPath: string): string[] | undefined {
  const rel = path.relative(path.resolve(root), path.resolve(proxyPath));
  if (rel === '' || rel.startsWith('..' + path.sep) || rel === '..' || path.isAbsolute(rel)) {
    return undefined;
  }
  return rel.split(path.sep).slice(0, -1);
}

function outsideRoot(folder: string, real: string, root: string): InputError {
  return new InputError(
    'PROXY_PATH_OUTSIDE_ROOT',
    `proxy folder ${folder} leads outside the proxy root ${root} (to ${real})`,
    `replace the link ${folder} with a real folder inside ${root}, then queue again`,
  );
}

/**
 * Creates the proxy's folder one level at a time below the root and resolves each level, so a
 * symlink anywhere below the root that leads out of it is refused before anything is written.
 * The root itself may be a link (a mounted volume); it is created when missing.
 */
export async function prepareProxyFolder(root: string, proxyPath: string): Promise<ProxyFolder> {
  const below = foldersBelowRoot(root, proxyPath);
  if (!below) {
    throw new InputError(
      'PROXY_PATH_OUTSIDE_ROOT',
      `proxy path ${proxyPath} is not below the proxy root ${root}`,
      'queue the file again from a Proxima of the same version as this worker',
    );
  }
  await mkdirEach(path.resolve(root));
  const realRoot = await realpath(root);
  let real = realRoot;
  let logical = path.resolve(root);
  for (const name of below) {
    logical = path.join(logical, name);
    const next = path.join(real, name);
    await mkdir(next).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    real = await realpath(next);
    if (!isWithin(real, realRoot)) throw outsideRoot(logical, real, root);
    if (!(await lstat(real)).isDirectory()) {
      throw new InputError(
        'PROXY_FOLDER_BLOCKED',
        `${logical} is a file where the proxy's folder should be`,
        `move ${logical} out of the proxy root, then queue again`,
      );
    }
  }
  return { root, realRoot, realDir: real, finalPath: path.join(real, path.basename(proxyPath)) };
}

/** What a job payload (clip or chunk) says about where its proxy goes. */
export interface ProxyTarget {
  layout: ProxyLayout;
  proxyRoot: string;
  proxyPath: string;
  source: Pick<SourceRef, 'path' | 'nameClash'>;
}

/** The proxy's folder by the rule of the job's layout, checked and created. */
export function prepareJobFolder(job: ProxyTarget): Promise<ProxyFolder> {
  return job.layout === 'beside'
    ? prepareBesideFolder(job.source, job.proxyPath)
    : prepareProxyFolder(job.proxyRoot, job.proxyPath);
}

/**
 * With layout beside a proxy is written to one place only: the Proxy folder directly beside
 * its own source, under the name the source gives it. The payload's proxyPath must be exactly
 * that, and the folder a real one there (a link would write elsewhere); it is created when
 * missing, its parent never, since that is the source's own folder.
 */
export async function prepareBesideFolder(
  source: Pick<SourceRef, 'path' | 'nameClash'>,
  proxyPath: string,
): Promise<ProxyFolder> {
  const expected = besideProxyPath(source.path, { nameClash: source.nameClash });
  if (path.resolve(proxyPath) !== path.resolve(expected)) {
    throw new InputError(
      'PROXY_PATH_NOT_BESIDE',
      `proxy path ${proxyPath} is not in the Proxy folder beside its source ${source.path} (the proxy goes to ${expected})`,
      'with paths.layout beside a worker writes only beside the source; queue the file again from a gateway of the same version as this worker',
    );
  }
  const dir = path.dirname(path.resolve(expected));
  const realParent = await realpath(path.dirname(dir));
  await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await lstat(dir);
  if (st.isSymbolicLink()) {
    throw new InputError(
      'PROXY_PATH_OUTSIDE_ROOT',
      `proxy folder ${dir} is a link (to ${await realpath(dir).catch(() => '?')}), not a folder beside the source`,
      `replace the link ${dir} with a real folder, then queue again`,
    );
  }
  if (!st.isDirectory()) {
    throw new InputError(
      'PROXY_FOLDER_BLOCKED',
      `${dir} is a file where the proxy's folder should be`,
      `move ${dir} out of the source's folder, then queue again`,
    );
  }
  const realDir = path.join(realParent, path.basename(dir));
  const real = await realpath(dir);
  if (real !== realDir) throw outsideRoot(dir, real, dir);
  return {
    root: dir,
    realRoot: realDir,
    realDir,
    finalPath: path.join(realDir, path.basename(expected)),
  };
}

/**
 * Right before the rename: the proxy's folder, reached from the root as the job names it,
 * must still be the folder checked before the encode (no link swapped in meanwhile).
 */
export async function checkStillInside(folder: ProxyFolder, proxyPath: string): Promise<void> {
  const realRoot = await realpath(folder.root);
  const logical = path.dirname(path.resolve(proxyPath));
  const real = await realpath(logical);
  if (realRoot !== folder.realRoot || real !== folder.realDir || !isWithin(real, realRoot)) {
    throw outsideRoot(logical, real, folder.root);
  }
}

/** mkdir -p, one level at a time, so a failure carries its own errno (EROFS, not ENOENT). */
async function mkdirEach(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      await stat(d);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(d) === d) throw err;
      missing.unshift(d);
    }
  }
  for (const d of missing) {
    await mkdir(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
}
