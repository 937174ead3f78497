import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from './package-root.ts';

const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};

/** The package version, reported by workers and the gateway. */
export const PROXIMA_VERSION: string = pkg.version;

/**
 * Version of the job contract on the wire. Bump it when a job payload, result or API body
 * changes shape; workers refuse jobs of another protocol version instead of misreading them.
 */
export const PROTOCOL_VERSION = 5 as const;
