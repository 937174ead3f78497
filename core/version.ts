import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/** The package version, reported by workers and the gateway. */
export const PROXIMA_VERSION: string = pkg.version;

/**
 * Version of the job contract on the wire. Bump it when a job payload, result or API body
 * changes shape; workers refuse jobs of another protocol version instead of misreading them.
 */
export const PROTOCOL_VERSION = 1 as const;
