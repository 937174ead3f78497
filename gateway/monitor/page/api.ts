import type { JobError } from '../../../core/job/contract.ts';
import type { SessionResponse } from '../../../core/job/monitor-contract.ts';

/**
 * The page's calls to the gateway. Types only come from the contract (zod stays out of the
 * bundle): the gateway checks every reply against its schema before sending it.
 */

/** Kept in step with CSRF_HEADER of core/job/monitor-contract.ts (a value import would bundle zod). */
const CSRF_HEADER = 'x-proxima-csrf';

/** An error reply of the API, or the gateway not answering at all (status 0). */
export class ApiError extends Error {
  // Assigned, not declared as class fields: lowered to ES2020 those would need a helper
  // module of their own in the bundle.
  declare readonly status: number;
  declare readonly code: string;
  declare readonly hint: string;
  constructor(status: number, error: JobError) {
    super(error.message);
    this.status = status;
    this.code = error.code;
    this.hint = error.hint;
  }
}

/**
 * '/v1/x' as 'v1/x': resolved against the page's own address, so a gateway behind a reverse
 * proxy under a path (gateway.url https://host/proxima) works as well as one at the root.
 */
export const relative = (path: string): string => path.replace(/^\/+/, '');

let csrf = '';
let onSignedOut: () => void = () => {};

/** Called whenever a reply says the session is gone (expired, or the token changed). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

const unreachable = (): ApiError =>
  new ApiError(0, {
    code: 'GATEWAY_UNREACHABLE',
    message: 'the gateway does not answer',
    hint: 'it may be restarting; the page keeps trying',
  });

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: JobError };
    if (body.error) return new ApiError(res.status, body.error);
  } catch {
    // not JSON: a proxy in front of the gateway answered
  }
  return new ApiError(res.status, {
    code: `HTTP_${res.status}`,
    message: `the gateway answered ${res.status} ${res.statusText}`.trim(),
    hint: 'check the gateway log',
  });
}

async function send(path: string, init: RequestInit): Promise<Response> {
  let res: Response;
  try {
    // Same origin only: the session cookie goes nowhere else.
    res = await fetch(relative(path), { ...init, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw unreachable();
  }
  if (res.ok) return res;
  const err = await errorOf(res);
  if (res.status === 401) onSignedOut();
  throw err;
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await send(path, { headers: { accept: 'application/json' } });
  return (await res.json()) as T;
}

/**
 * A write: JSON (the gateway refuses anything else from a browser) with the session's CSRF
 * value. A CSRF value gone stale (the gateway's token changed) is fetched again once.
 */
export async function postJson<T>(path: string, body: unknown = {}, method = 'POST'): Promise<T> {
  const attempt = () =>
    send(path, {
      method,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        [CSRF_HEADER]: csrf,
      },
      body: JSON.stringify(body),
    });
  let res: Response;
  try {
    res = await attempt();
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'CSRF_MISMATCH')) throw err;
    await readSession();
    res = await attempt();
  }
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/** Who we are: null when the gateway wants a sign-in first. */
export async function readSession(): Promise<SessionResponse | null> {
  let res: Response;
  try {
    res = await fetch(relative('/v1/session'), { credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw unreachable();
  }
  if (res.status === 401) return null;
  if (!res.ok) throw await errorOf(res);
  const session = (await res.json()) as SessionResponse;
  csrf = session.csrf;
  return session;
}

/** Trades the gateway token for the session cookie; the token is sent once, in the body. */
export async function signIn(token: string): Promise<void> {
  await postJson<void>('/v1/session', { token });
}

export async function signOut(): Promise<void> {
  await postJson<void>('/v1/session', {}, 'DELETE');
  csrf = '';
}
