import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Hono, type Context } from 'hono';
import { PACKAGE_ROOT } from '../../core/package-root.ts';
import type { AppDeps } from '../deps.ts';

/** Where `npm run build` writes the page (scripts/build.mjs). */
export const MONITOR_DIR = path.join(PACKAGE_ROOT, 'dist', 'monitor');

/**
 * Only the page's own files run: no inline script or style (the build emits none), no other
 * origin for anything, and no framing, so another site can neither inject into the page nor
 * overlay it to steer clicks on its buttons.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': PAGE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

/** A name the build gave a hash of its content: it never changes, so browsers may keep it. */
const HASHED = /-[A-Z0-9]{8}\.(?:js|css)(?:\.map)?$/;
/** One plain file name of the folder: no separators, no dot files, nothing to climb out with. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Smaller files are not worth a gzip round. */
const GZIP_MIN_BYTES = 1024;

interface Loaded {
  mtimeMs: number;
  size: number;
  body: Buffer;
  gzipped: Buffer | null;
  etag: string;
}

const NOT_BUILT = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Proxima monitor: not built</title></head>
  <body>
    <h1>The monitor page is not built</h1>
    <p>The gateway serves the page from <code>dist/monitor/</code>, which is missing.</p>
    <p>Fix: run <code>npm run build</code> in the Proxima folder on the gateway's machine (or
    rebuild the gateway's image), then reload this page. The API under <code>/v1</code> works
    meanwhile.</p>
  </body>
</html>
`;

/**
 * The monitor page's shell: GET / and GET /monitor/<file> from the built folder. It holds no
 * data (everything it shows comes from the guarded /v1 routes), so it needs no token; a
 * browser must be able to load the sign-in form. Files are read again when the build changes
 * them, and kept gzipped in memory: there are a handful, and all are small.
 */
export function monitorPageRoutes(deps: Pick<AppDeps, 'logger'>, dir = MONITOR_DIR): Hono {
  const kept = new Map<string, Loaded>();
  let warned = false;

  const load = async (file: string): Promise<Loaded | undefined> => {
    const full = path.join(dir, file);
    const st = await stat(full).catch(() => undefined);
    if (!st?.isFile()) return undefined;
    const hit = kept.get(full);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit;
    const body = await readFile(full);
    const loaded: Loaded = {
      mtimeMs: st.mtimeMs,
      size: st.size,
      body,
      gzipped: body.length >= GZIP_MIN_BYTES && !file.endsWith('.map') ? gzipSync(body) : null,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    };
    kept.set(full, loaded);
    return loaded;
  };

  const notBuilt = (c: Context) => {
    if (!warned) {
      warned = true;
      deps.logger.warn({ dir }, 'monitor page not built: run `npm run build`');
    }
    return c.html(NOT_BUILT, 503, { ...SECURITY_HEADERS, 'Cache-Control': 'no-store' });
  };

  const serve = async (c: Context, file: string) => {
    const type = TYPES[path.extname(file)];
    const loaded = type && FILE_NAME.test(file) ? await load(file) : undefined;
    if (!loaded) {
      if (!(await stat(path.join(dir, 'index.html')).catch(() => undefined))) return notBuilt(c);
      return c.text('not found', 404, { ...SECURITY_HEADERS, 'Cache-Control': 'no-store' });
    }
    warned = false;
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      'Content-Type': type!,
      // Hashed names are new with every build; the rest (index.html names them) is asked
      // again each time, answered 304 while it is unchanged.
      'Cache-Control': HASHED.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache',
      ETag: loaded.etag,
      Vary: 'Accept-Encoding',
    };
    if (c.req.header('if-none-match') === loaded.etag) return c.body(null, 304, headers);
    const gzip = loaded.gzipped && /\bgzip\b/i.test(c.req.header('accept-encoding') ?? '');
    if (gzip) headers['Content-Encoding'] = 'gzip';
    return c.body(new Uint8Array(gzip ? loaded.gzipped! : loaded.body), 200, headers);
  };

  return new Hono()
    .get('/', (c) => serve(c, 'index.html'))
    .get('/monitor/:file', (c) => serve(c, c.req.param('file')));
}
