import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DependencyError } from '../errors.ts';

const require = createRequire(import.meta.url);

export interface BinaryLocation {
  path: string;
  /** Where it came from, for `doctor` and error messages. */
  from:
    'config' | 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg' | '@ffprobe-installer/ffprobe' | 'PATH';
}

/**
 * ffmpeg: the configured path, else ffmpeg-static's binary (optional: its download fails
 * where only the package registry is reachable), else the binary shipped inside
 * @ffmpeg-installer/ffmpeg, else `ffmpeg` on PATH.
 */
export function locateFfmpeg(configured: string, envPath: string | undefined): BinaryLocation {
  if (configured) return checked(configured, 'config', 'ffmpeg.path');
  const candidates: BinaryLocation[] = [];
  const fromStatic = tryRequire<string | null>('ffmpeg-static');
  if (typeof fromStatic === 'string') candidates.push({ path: fromStatic, from: 'ffmpeg-static' });
  const installer = tryRequire<{ path: string }>('@ffmpeg-installer/ffmpeg');
  if (installer?.path) candidates.push({ path: installer.path, from: '@ffmpeg-installer/ffmpeg' });
  return firstUsable('ffmpeg', candidates, envPath, 'ffmpeg.path');
}

/** ffprobe: the configured path, else @ffprobe-installer/ffprobe's binary, else PATH. */
export function locateFfprobe(configured: string, envPath: string | undefined): BinaryLocation {
  if (configured) return checked(configured, 'config', 'ffprobe.path');
  const candidates: BinaryLocation[] = [];
  const installer = tryRequire<{ path: string }>('@ffprobe-installer/ffprobe');
  if (installer?.path)
    candidates.push({ path: installer.path, from: '@ffprobe-installer/ffprobe' });
  return firstUsable('ffprobe', candidates, envPath, 'ffprobe.path');
}

/** The first executable `name` (or `name.exe`) in the PATH-style list `envPath`, or null. */
export function findOnPath(name: string, envPath: string | undefined): string | null {
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const file of [path.join(dir, name), path.join(dir, `${name}.exe`)]) {
      if (existsSync(file) && isExecutable(file)) return file;
    }
  }
  return null;
}

function tryRequire<T>(id: string): T | undefined {
  try {
    return require(id) as T;
  } catch {
    return undefined;
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function checked(file: string, from: BinaryLocation['from'], key: string): BinaryLocation {
  if (!existsSync(file) || !isExecutable(file)) {
    throw new DependencyError(
      'BINARY_NOT_FOUND',
      `${key} is set to ${file}, which is not an executable file`,
      `fix ${key} in the config file (or its PROXIMA_ env override), or set it to "" to use the bundled binary`,
    );
  }
  return { path: file, from };
}

function firstUsable(
  name: string,
  candidates: BinaryLocation[],
  envPath: string | undefined,
  key: string,
): BinaryLocation {
  for (const c of candidates) if (existsSync(c.path) && isExecutable(c.path)) return c;
  const onPath = findOnPath(name, envPath);
  if (onPath) return { path: onPath, from: 'PATH' };
  throw new DependencyError(
    'BINARY_NOT_FOUND',
    `${name} not found: no bundled binary and none on PATH`,
    `run "npm install" again, install ${name} on PATH, or set ${key} in the config file`,
  );
}
