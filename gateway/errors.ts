import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { DependencyError, InputError, isProximaError, ProximaError } from '../core/errors.ts';
import type { JobError } from '../core/job/contract.ts';

/** A ProximaError that knows its HTTP status; everything the API refuses is one of these. */
export class HttpError extends ProximaError {
  readonly status: ContentfulStatusCode;
  constructor(status: ContentfulStatusCode, code: string, message: string, hint: string) {
    super(code, message, hint);
    this.status = status;
  }
}

export function notFound(message: string, hint: string): HttpError {
  return new HttpError(404, 'NOT_FOUND', message, hint);
}

export function unauthorized(message: string): HttpError {
  return new HttpError(
    401,
    'UNAUTHORIZED',
    message,
    'set gateway.token (or PROXIMA_GATEWAY__TOKEN) to the token the gateway was started with',
  );
}

export function bodyTooLarge(maxBytes: number): HttpError {
  return new HttpError(
    413,
    'BODY_TOO_LARGE',
    `request body is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB`,
    'queue the files in several smaller batches',
  );
}

export function brokerUnreachable(cause?: unknown): DependencyError {
  const err = new DependencyError(
    'BROKER_UNREACHABLE',
    'the gateway cannot reach its Redis broker',
    'check that redis-server is running and that broker.url points at it; the gateway reconnects on its own',
  );
  if (cause !== undefined) (err as Error & { cause?: unknown }).cause = cause;
  return err;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);
const CONNECTION_MESSAGES =
  /Connection is closed|Stream isn't writeable|Command timed out|Reached the max retries per request/;

/**
 * ioredis reports an unreachable server in several shapes depending on when the connection broke
 * (queued command flushed, write on a dead socket, timeout); all of them mean the same to a client.
 */
export function isBrokerDown(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const x = e as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
    if (x.name === 'MaxRetriesPerRequestError') return true;
    if (typeof x.code === 'string' && CONNECTION_CODES.has(x.code)) return true;
    if (typeof x.message === 'string' && CONNECTION_MESSAGES.test(x.message)) return true;
    e = x.cause;
  }
  return false;
}

const FIELD_HINTS: Record<string, string> = {
  v: 'the CLI and the gateway speak different protocol versions; run the same Proxima version on both',
  preset:
    'use a built-in preset (proxima presets list) or one named under presets: in the gateway config',
  sources: 'queue at most 10000 absolute, normalised file paths per batch',
};

/** One line per request problem: the field path, what was expected, and what came instead. */
export function requestError(error: z.ZodError): InputError {
  const issue = error.issues[0];
  if (!issue) {
    return new InputError('INVALID_REQUEST', 'invalid request', 'check the request body');
  }
  const extra = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problems)` : '';
  const top =
    issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
  const head = typeof top[0] === 'string' ? top[0] : '';
  return new InputError(
    'INVALID_REQUEST',
    `${fieldName(top)}: ${describeIssue(issue)}${extra}`,
    // Own keys only: a field named __proto__ or constructor must not find Object's members.
    (Object.hasOwn(FIELD_HINTS, head) ? FIELD_HINTS[head] : undefined) ??
      'fix the request body; `proxima queue` builds a valid one',
  );
}

export function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || 'body';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const got = 'input' in issue ? ` got ${summarize(issue.input)}` : '';
  switch (issue.code) {
    case 'unrecognized_keys':
      return 'unknown field';
    case 'invalid_type':
      return issue.input === undefined
        ? `missing, expected ${article(issue.expected)}`
        : `expected ${article(issue.expected)},${got}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])},${got}`
        : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')},${got}`;
    case 'too_big':
      return issue.origin === 'array'
        ? `expected at most ${String(issue.maximum)} items,${got}`
        : issue.origin === 'string'
          ? `expected at most ${String(issue.maximum)} characters,${got}`
          : `expected at most ${String(issue.maximum)},${got}`;
    case 'too_small':
      return issue.origin === 'array'
        ? `expected at least ${String(issue.minimum)} items,${got}`
        : issue.origin === 'string'
          ? `expected at least ${String(issue.minimum)} characters,${got}`
          : `expected at least ${String(issue.minimum)},${got}`;
    default:
      return `expected ${issue.message},${got}`;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Short and single-line: a value echoed back must not flood the error or break the line. */
function summarize(value: unknown): string {
  if (Array.isArray(value)) return `${value.length} items`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export interface ErrorReply {
  status: ContentfulStatusCode;
  body: { error: JobError };
}

/** The one mapping from anything thrown to an HTTP status and `{ error: { code, message, hint } }`. */
export function errorReply(err: unknown): ErrorReply & { internal: boolean } {
  if (err instanceof z.ZodError) return errorReply(requestError(err));
  if (!isProximaError(err) && isBrokerDown(err)) return errorReply(brokerUnreachable(err));
  if (isProximaError(err)) {
    const status: ContentfulStatusCode =
      err instanceof HttpError
        ? err.status
        : err instanceof InputError
          ? 400
          : err instanceof DependencyError
            ? 503
            : 500;
    return {
      status,
      body: { error: { code: err.code, message: err.message, hint: err.hint } },
      internal: status >= 500 && !(err instanceof DependencyError),
    };
  }
  return {
    status: 500,
    body: {
      error: {
        code: 'INTERNAL',
        message: 'the gateway hit an unexpected error',
        hint: 'see the gateway log for details',
      },
    },
    internal: true,
  };
}
