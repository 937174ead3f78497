import { lstat, mkdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.ts';

export interface ProxyFolder {
  /** job.proxyRoot as given. */
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
