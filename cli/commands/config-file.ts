import {
  constants,
  copyFileSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';

export function readConfigText(file: string): string {
  return readFileSync(file, 'utf8');
}

/**
 * Replaces the file in one step (temp name, then rename), so a crash or a full disk never leaves
 * half a config; the file keeps its permissions (it may hold the gateway token).
 */
export function writeConfigText(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: statSync(file).mode & 0o777 });
  renameSync(tmp, file);
}

/** A copy next to the file named by the time (`config.yaml.2026-12-04T20-15-00.bak`). */
export function backUp(file: string, now: Date): string {
  const stamp = now.toISOString().slice(0, 19).replace(/:/g, '-');
  for (let n = 1; ; n++) {
    const backup = `${file}.${stamp}${n === 1 ? '' : `-${n}`}.bak`;
    try {
      copyFileSync(file, backup, constants.COPYFILE_EXCL);
      return backup;
    } catch (err) {
      // Two resets within a second: the second backup gets its own name.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
