import type { MiddlewareHandler } from 'hono';
import { HttpError } from './errors.ts';
import { hostAllowed, originAllowed } from './host-check.ts';

/** Methods that only read; anything else changes something and must come as JSON. */
const READS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

const shown = (value: string) => JSON.stringify(value.slice(0, 80));

/**
 * Without a token, Host and Origin must name the gateway. A page on another site can make a
 * browser send requests here (a form post, or DNS rebinding of its own name to 127.0.0.1); its
 * Origin, or the Host of a rebound name, is then not one of ours. With a token the caller has
 * proved who it is (no page can make a browser attach it cross-site), so a farm's CLIs may use
 * any name of the machine; an Origin must still be ours or the same origin as the request.
 * Open paths (health probes, which send a pod IP or a container name as Host) are not checked.
 */
export function requireOwnHost(
  names: ReadonlySet<string>,
  openPaths: ReadonlySet<string>,
  tokenSet: boolean,
): MiddlewareHandler {
  const list = [...names].join(', ');
  const hint = `use one of ${list} in gateway.url, or add the name to gateway.allowed_hosts (PROXIMA_GATEWAY__ALLOWED_HOSTS) on the gateway`;
  return async (c, next) => {
    if (openPaths.has(c.req.path)) return next();
    // app.request() in-process carries no Host header; the URL then holds the host.
    const host = c.req.header('host') ?? new URL(c.req.url).host;
    if (!tokenSet && !hostAllowed(host, names)) {
      throw new HttpError(
        403,
        'HOST_NOT_ALLOWED',
        `Host ${shown(host)} is not a name of this gateway (${list})`,
        hint,
      );
    }
    const origin = c.req.header('origin');
    const ownOrigin = tokenSet && sameOrigin(origin, host);
    if (origin !== undefined && !ownOrigin && !originAllowed(origin, names)) {
      throw new HttpError(
        403,
        'ORIGIN_NOT_ALLOWED',
        `Origin ${shown(origin)} is not this gateway (${list}): requests from web pages are refused`,
        hint,
      );
    }
    return next();
  };
}

/** An Origin header naming exactly the host (and port) the request was sent to. */
function sameOrigin(origin: string | undefined, host: string): boolean {
  const m = /^https?:\/\/([^/?#@]+)$/i.exec(origin?.trim() ?? '');
  return m !== null && m[1]!.toLowerCase() === host.toLowerCase();
}

/** application/json, with no charset or charset=utf-8. */
export function isJsonContentType(value: string | undefined): boolean {
  const m = /^application\/json[ \t]*(?:;[ \t]*charset[ \t]*=[ \t]*("?)utf-8\1[ \t]*)?$/i.exec(
    value ?? '',
  );
  return m !== null;
}

/**
 * A write must say it is JSON. Browsers send cross-site forms and `no-cors` fetches only as
 * text/plain, form data or with no type at all, so this alone keeps web pages from writing.
 */
export function requireJsonWrites(): MiddlewareHandler {
  return async (c, next) => {
    if (READS.has(c.req.method.toUpperCase())) return next();
    const type = c.req.header('content-type');
    if (!isJsonContentType(type)) {
      throw new HttpError(
        415,
        'BAD_CONTENT_TYPE',
        `${c.req.method.toUpperCase().slice(0, 20)} requests must be JSON (content-type application/json), got ${type === undefined ? 'no content-type' : shown(type)}`,
        'send the body as JSON with content-type: application/json (`proxima` does)',
      );
    }
    return next();
  };
}
