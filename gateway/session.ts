import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The monitor's session cookie, without server-side state: a browser's EventSource cannot send
 * an Authorization header, so the page trades the gateway token for a cookie once. The cookie
 * holds an expiry and a MAC made with a key derived from the token: it reveals nothing of the
 * token, survives a gateway restart, and stops working when the token changes. Pure.
 */

/** How long a sign-in lasts. */
export const SESSION_SECONDS = 12 * 60 * 60;

const keyOf = (token: string) =>
  createHmac('sha256', token).update('proxima monitor session v1').digest();

const mac = (token: string, text: string) =>
  createHmac('sha256', keyOf(token)).update(text).digest('base64url');

/** A new cookie value, valid until now + SESSION_SECONDS. */
export function issueSession(token: string, now: number): string {
  const expires = Math.floor(now / 1000) + SESSION_SECONDS;
  return `${expires}.${mac(token, `session.${expires}`)}`;
}

/** True for a cookie value this token issued that has not expired. */
export function sessionValid(token: string, value: string | undefined, now: number): boolean {
  const m = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
  if (!m) return false;
  if (Number(m[1]) * 1000 <= now) return false;
  return same(m[2]!, mac(token, `session.${m[1]}`));
}

/**
 * The CSRF value of a session: a write made with the cookie must also send it in a header,
 * which only a page that could read GET /v1/session (same origin) knows.
 */
export function csrfOf(token: string, session: string): string {
  return mac(token, `csrf.${session}`);
}

/** Constant time, whatever the lengths. */
export function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
