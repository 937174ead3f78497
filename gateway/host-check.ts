import { ConfigError } from '../core/errors.ts';

/**
 * Which names the gateway answers to, and whether it may listen somewhere without a token.
 * Pure: the host name and interface addresses are passed in by the caller.
 */

/**
 * Loopback means the names every OS gives its loopback interface. Other 127/8 addresses are not
 * loopback everywhere (macOS has only 127.0.0.1 on lo0), so they need a token like any address.
 */
export const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARDS: ReadonlySet<string> = new Set(['0.0.0.0', '[::]']);

/** A host name or IP literal with an optional port, nothing else (no user info, no path). */
const HOST_RE = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/;

/**
 * The one spelling of a host: lower case, no port, no trailing dot, IP literals as the URL
 * parser writes them (`[::1]`, `127.0.0.1`), so `[0:0::1]:8765` and `LOCALHOST.` compare
 * equal to the names they mean. null for anything that is not a bare host.
 */
export function canonicalHost(value: string): string | null {
  // A bare IPv6 address (gateway.listen's host as parseListen gives it) has no port to strip.
  const bareIpv6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/.test(value);
  const m = bareIpv6 ? null : HOST_RE.exec(value);
  if (!bareIpv6 && !m) return null;
  const literal = bareIpv6 ? `[${value}]` : m![1] !== undefined ? `[${m![1]}]` : m![2]!;
  try {
    const host = new URL(`http://${literal}/`).hostname.toLowerCase();
    return host.endsWith('.') ? host.slice(0, -1) : host;
  } catch {
    return null;
  }
}

export function isLoopbackHost(host: string): boolean {
  const h = canonicalHost(host);
  return h !== null && LOOPBACK_NAMES.includes(h);
}

export function isWildcardHost(host: string): boolean {
  const h = canonicalHost(host);
  return h !== null && WILDCARDS.has(h);
}

export interface NameSources {
  /** The host of gateway.listen, as parseListen returns it (IPv6 without brackets). */
  listenHost: string;
  allowedHosts: readonly string[];
  /** This machine's host name; used when listening on a wildcard address. */
  hostName: string;
  /** This machine's interface addresses; a wildcard listens on every one of them. */
  addresses: readonly string[];
}

/** Every host name a request may name in Host or Origin, in their canonical spelling. */
export function gatewayNames(sources: NameSources): Set<string> {
  const names = new Set<string>();
  const add = (name: string) => {
    const h = canonicalHost(name);
    if (h !== null) names.add(h);
  };
  const wildcard = isWildcardHost(sources.listenHost);
  if (!wildcard) add(sources.listenHost);
  if (wildcard || isLoopbackHost(sources.listenHost)) LOOPBACK_NAMES.forEach(add);
  if (wildcard) {
    add(sources.hostName);
    sources.addresses.forEach(add);
  }
  sources.allowedHosts.forEach(add);
  return names;
}

/** True when a Host header value names the gateway. */
export function hostAllowed(host: string | undefined, names: ReadonlySet<string>): boolean {
  const h = canonicalHost(host ?? '');
  return h !== null && names.has(h);
}

/**
 * True when an Origin header names the gateway. `null` (sandboxed frames, file: pages,
 * redirects) is nobody the gateway knows.
 */
export function originAllowed(origin: string, names: ReadonlySet<string>): boolean {
  const m = /^(https?):\/\/([^/?#@]+)$/i.exec(origin.trim());
  return m !== null && hostAllowed(m[2], names);
}

/**
 * Without a token, anyone who can reach the port can queue, read and purge: only loopback is
 * safe for that. Throws a ConfigError naming both keys and the two ways out.
 */
export function checkListenAccess(listen: string, host: string, token: string): void {
  if (token !== '' || isLoopbackHost(host)) return;
  throw new ConfigError(
    `gateway.listen ${listen} is not a loopback address and gateway.token is empty: anyone who can reach it could queue and purge jobs`,
    'set gateway.token (PROXIMA_GATEWAY__TOKEN) to a secret, e.g. `openssl rand -hex 16`, or listen on 127.0.0.1',
  );
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new ConfigError(
      `gateway.listen ${JSON.stringify(listen)} is not host:port`,
      'set gateway.listen to e.g. 127.0.0.1:8765 (port 0 picks a free one)',
    );
  }
  return { host: m[1] ?? m[2]!, port };
}
