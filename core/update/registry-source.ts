import { z } from 'zod';

/** Where the latest published version of a package is learned. */
export interface VersionSource {
  /** The latest version; rejects on any failure or when `signal` aborts. */
  latest(name: string, signal: AbortSignal): Promise<string>;
}

const latestSchema = z.object({ version: z.string().min(1).max(256) });

/** A registry's answer is small; anything bigger is not one. */
const MAX_BYTES = 1024 * 1024;

/**
 * The npm registry's `GET <registry>/<name>/latest`. Its socket is unref'd: a question still
 * open must never keep a finished command's process alive.
 */
export function registrySource(registry: string): VersionSource {
  return {
    async latest(name, signal) {
      const base = registry.endsWith('/') ? registry : `${registry}/`;
      // A scoped name keeps its @ and has its slash escaped, as npm asks for it.
      const url = new URL(`${name.replace('/', '%2f')}/latest`, base);
      // Loaded on use: TLS is a cost every command would pay at start, check or no check.
      const { get } =
        url.protocol === 'https:' ? await import('node:https') : await import('node:http');
      return new Promise((resolve, reject) => {
        const req = get(url, { signal, headers: { accept: 'application/json' } }, (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`registry answered ${res.statusCode}`));
            return;
          }
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
            if (body.length > MAX_BYTES) req.destroy(new Error('registry answer too big'));
          });
          res.on('error', reject);
          res.on('end', () => {
            try {
              resolve(latestSchema.parse(JSON.parse(body)).version);
            } catch (err) {
              reject(err as Error);
            }
          });
        });
        req.on('socket', (socket) => socket.unref());
        req.on('error', reject);
      });
    },
  };
}
