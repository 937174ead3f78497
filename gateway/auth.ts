import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { unauthorized } from './errors.ts';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** True when `header` is `Bearer <token>`; compared in constant time so timing leaks nothing. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  if (!m) return false;
  // Equal-length digests: timingSafeEqual needs equal lengths, and a length check would leak.
  return timingSafeEqual(digest(m[1]!), digest(token));
}

/** Every route but the listed open paths needs the token; no token configured: no check. */
export function requireToken(token: string, openPaths: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    if (token === '' || openPaths.has(c.req.path)) return next();
    const header = c.req.header('authorization');
    if (!bearerMatches(header, token)) {
      c.header('WWW-Authenticate', 'Bearer realm="proxima"');
      throw unauthorized(
        header ? 'the bearer token is not the gateway token' : 'this gateway needs a bearer token',
      );
    }
    return next();
  };
}
