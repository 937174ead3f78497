import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { CSRF_HEADER, SESSION_COOKIE } from '../core/job/monitor-contract.ts';
import { HttpError, unauthorized } from './errors.ts';
import { csrfOf, same, sessionValid } from './session.ts';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** True when `header` is `Bearer <token>`; compared in constant time so timing leaks nothing. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  if (!m) return false;
  // Equal-length digests: timingSafeEqual needs equal lengths, and a length check would leak.
  return timingSafeEqual(digest(m[1]!), digest(token));
}

/** Methods that only read: a cookie alone is enough for them. */
const READS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** How a request proved it may use the API. */
export type Caller = 'open' | 'bearer' | 'session';

/** The session cookie of the request, when this token issued it and it has not expired. */
export function sessionOf(c: Context, token: string, now = Date.now()): string | undefined {
  const value = getCookie(c, SESSION_COOKIE);
  return value !== undefined && sessionValid(token, value, now) ? value : undefined;
}

/**
 * Every guarded route needs the token as a bearer header (CLI, Prometheus) or the monitor's
 * session cookie; a write made with the cookie also needs its CSRF header, because a browser
 * attaches the cookie to whatever page makes the request. No token configured: no check.
 */
export function requireToken(
  token: string,
  open: (method: string, path: string) => boolean,
): MiddlewareHandler {
  return async (c, next) => {
    if (token === '' || open(c.req.method.toUpperCase(), c.req.path)) return next();
    const header = c.req.header('authorization');
    if (bearerMatches(header, token)) return next();
    const session = header ? undefined : sessionOf(c, token);
    if (session !== undefined) {
      if (!READS.has(c.req.method.toUpperCase())) {
        const sent = c.req.header(CSRF_HEADER) ?? '';
        if (!same(sent, csrfOf(token, session))) {
          throw new HttpError(
            403,
            'CSRF_MISMATCH',
            `a write with the session cookie needs the ${CSRF_HEADER} header of GET /v1/session`,
            'reload the monitor page; scripts should send the bearer token instead',
          );
        }
      }
      return next();
    }
    c.header('WWW-Authenticate', 'Bearer realm="proxima"');
    throw unauthorized(
      header ? 'the bearer token is not the gateway token' : 'this gateway needs a bearer token',
    );
  };
}
