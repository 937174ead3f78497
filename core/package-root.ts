import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding Proxima's package.json, found by walking up from this module, so the
 * same code works run from its TypeScript sources and from the compiled dist/ copy.
 */
function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      // Known by its `proxima` command, not its name: the package is published under another.
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { bin?: Record<string, string> };
      if (pkg.bin?.proxima !== undefined) return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('the proxima package.json was not found above core/');
    dir = parent;
  }
}

export const PACKAGE_ROOT = findPackageRoot();
