import type { z } from 'zod';
import type { Config } from '../core/config/schema.ts';
import { DependencyError, ProximaError } from '../core/errors.ts';
import {
  apiErrorSchema,
  batchEventSchema,
  batchListResponseSchema,
  batchViewSchema,
  enqueueResponseSchema,
  healthResponseSchema,
  purgeResponseSchema,
  statusResponseSchema,
  type BatchEvent,
  type BatchListResponse,
  type BatchView,
  type EnqueueRequest,
  type EnqueueResponse,
  type HealthResponse,
  type PurgeResponse,
  type StatusResponse,
} from '../core/job/contract.ts';
import { PROTOCOL_VERSION, PROXIMA_VERSION } from '../core/version.ts';

/** The gateway's HTTP API as the CLI uses it. Every response is validated before it is used. */
export interface GatewayClient {
  readonly url: string;
  health(): Promise<HealthResponse>;
  enqueue(request: EnqueueRequest): Promise<EnqueueResponse>;
  batch(id: string): Promise<BatchView>;
  /** The most recent batches, newest first. */
  batches(limit?: number): Promise<BatchListResponse>;
  /** The batch's server-sent events, starting with a snapshot; ends when the stream ends. */
  events(id: string, options?: EventsOptions): AsyncIterable<BatchEvent>;
  status(): Promise<StatusResponse>;
  purge(): Promise<PurgeResponse>;
}

export interface GatewayClientOptions {
  /** config.gateway.url */
  url: string;
  /** config.gateway.token; empty: no Authorization header. */
  token: string;
  /** Per request, except the event stream. */
  timeoutMs?: number;
}

export interface EventsOptions {
  signal?: AbortSignal;
  /**
   * Called whenever the gateway is heard from: the response, then every chunk of the stream,
   * heartbeat comments included. A batch queued behind a long one has no events for hours.
   */
  onContact?(): void;
  /**
   * A stream silent this long (no event, no heartbeat) is taken as lost: a gateway machine that
   * vanished without closing the connection would otherwise keep it open forever.
   */
  silenceMs?: number;
}

/** The gateway sends a heartbeat every 15 s; three missed ones mean the stream is dead. */
export const DEFAULT_SILENCE_MS = 45_000;

/** An error response from the gateway, carrying its code and hint through to the printer. */
export class GatewayError extends ProximaError {
  readonly status: number;
  constructor(status: number, code: string, message: string, hint: string) {
    super(code, message, hint, status >= 400 && status < 500 && status !== 401 ? 2 : 1);
    this.status = status;
  }
}

/** The gateway speaks another protocol version than this CLI: nothing it says can be trusted. */
export class ProtocolMismatch extends ProximaError {
  constructor(url: string, theirs: number, theirVersion: string | undefined) {
    const v = theirVersion ? ` (v${theirVersion})` : '';
    super(
      'PROTOCOL_MISMATCH',
      `this proxima (v${PROXIMA_VERSION}) speaks protocol ${PROTOCOL_VERSION}, the gateway at ${url}${v} speaks protocol ${theirs}`,
      'run the same Proxima version on this machine and on the gateway: upgrade the older one',
    );
  }
}

/**
 * The protocol a gateway's JSON body says it speaks, read without its schema (another version's
 * body may not fit this one's), or undefined when it says none. Pure.
 */
export function protocolOf(body: unknown): { protocol: number; version?: string } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { protocol, version } = body as { protocol?: unknown; version?: unknown };
  if (typeof protocol !== 'number' || !Number.isInteger(protocol)) return undefined;
  return { protocol, ...(typeof version === 'string' && { version }) };
}

export function unreachable(url: string): DependencyError {
  return new DependencyError(
    'GATEWAY_UNREACHABLE',
    `gateway not reachable at ${url}`,
    'start the local stack with `proxima up`, or set gateway.url',
  );
}

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;

  const mismatch = (body: unknown): ProtocolMismatch | undefined => {
    const said = protocolOf(body);
    return said && said.protocol !== PROTOCOL_VERSION
      ? new ProtocolMismatch(options.url, said.protocol, said.version)
      : undefined;
  };
  // Asked of /v1/health before the first other request, and again after the gateway was lost
  // (it may come back upgraded). Only a protocol that differs stops here: any other failure is
  // left to the request itself to report.
  let agreed = false;
  const agree = async (signal: AbortSignal | undefined): Promise<void> => {
    if (agreed) return;
    let body: unknown;
    try {
      const res = await fetch(`${base}/v1/health`, {
        headers,
        signal: signal ?? AbortSignal.timeout(Math.min(timeoutMs, 10_000)),
      });
      const isJson = res.ok && /json/i.test(res.headers.get('content-type') ?? '');
      if (isJson) body = await res.json();
      else await res.body?.cancel();
    } catch {
      return;
    }
    const err = mismatch(body);
    if (err) throw err;
    if (protocolOf(body)) agreed = true;
  };

  const send = async (
    method: string,
    route: string,
    init: { body?: unknown; signal?: AbortSignal; accept?: string } = {},
  ): Promise<Response> => {
    if (route !== '/v1/health') await agree(init.signal);
    const h = { ...headers };
    if (init.accept) h.accept = init.accept;
    if (init.body !== undefined) h['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${base}${route}`, {
        method,
        headers: h,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal ?? AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      agreed = false;
      if (init.signal?.aborted) throw err;
      if ((err as Error).name === 'TimeoutError') {
        throw new DependencyError(
          'GATEWAY_TIMEOUT',
          `gateway at ${options.url} did not answer ${method} ${route} within ${timeoutMs / 1000} s`,
          'check that the gateway is running and not overloaded (`proxima up` shows its log)',
        );
      }
      throw unreachable(options.url);
    }
    if (!res.ok) {
      if (res.status >= 500) agreed = false;
      throw await errorFrom(res, method, route);
    }
    return res;
  };

  const json = async <S extends z.ZodType>(
    schema: S,
    method: string,
    route: string,
    body?: unknown,
  ): Promise<z.output<S>> => {
    const res = await send(method, route, { body });
    let data: unknown;
    try {
      data = await res.json();
    } catch {
      throw badResponse(options.url, method, route, 'not JSON');
    }
    const other = mismatch(data);
    if (other) throw other;
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw badResponse(options.url, method, route, parsed.error.issues[0]?.message ?? 'invalid');
    }
    return parsed.data;
  };

  return {
    url: options.url,
    health: () => json(healthResponseSchema, 'GET', '/v1/health'),
    enqueue: (request) => json(enqueueResponseSchema, 'POST', '/v1/batches', request),
    batch: (id) => json(batchViewSchema, 'GET', `/v1/batches/${encodeURIComponent(id)}`),
    batches: (limit = 20) => json(batchListResponseSchema, 'GET', `/v1/batches?limit=${limit}`),
    status: () => json(statusResponseSchema, 'GET', '/v1/status'),
    // An empty JSON body: the gateway takes writes only as JSON, so web pages cannot send them.
    purge: () => json(purgeResponseSchema, 'POST', '/v1/purge', {}),
    async *events(id, opts = {}) {
      const route = `/v1/batches/${encodeURIComponent(id)}/events`;
      const silenceMs = opts.silenceMs ?? DEFAULT_SILENCE_MS;
      // Our own controller, so silence can end the request without touching the caller's signal.
      const controller = new AbortController();
      const onAbort = () => controller.abort(opts.signal?.reason);
      if (opts.signal?.aborted) onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      let silent = false;
      let timer: NodeJS.Timeout | undefined;
      const heard = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          silent = true;
          controller.abort();
        }, silenceMs);
      };
      const silence = () =>
        new DependencyError(
          'GATEWAY_SILENT',
          `gateway at ${options.url} sent nothing on GET ${route} for ${silenceMs / 1000} s`,
          'check the gateway and the network between (a proxy may hold the connection open)',
        );
      heard();
      try {
        let res: Response;
        try {
          res = await send('GET', route, {
            signal: controller.signal,
            accept: 'text/event-stream',
          });
        } catch (err) {
          if (silent) throw silence();
          throw err;
        }
        opts.onContact?.();
        if (!res.body) return;
        const body = counted(res.body, () => {
          heard();
          opts.onContact?.();
        });
        try {
          for await (const message of parseSse(body)) {
            let data: unknown;
            try {
              data = JSON.parse(message.data);
            } catch {
              throw badResponse(options.url, 'GET', route, `event data is not JSON`);
            }
            const parsed = batchEventSchema.safeParse(data);
            if (!parsed.success) {
              throw badResponse(options.url, 'GET', route, parsed.error.issues[0]?.message ?? '');
            }
            yield parsed.data;
          }
        } catch (err) {
          if (silent) throw silence();
          throw err;
        }
      } finally {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        // A consumer that stops early (done, Ctrl-C) must not leave the connection open.
        controller.abort();
      }
    },
  };
}

/** The client for the gateway the config names. */
export function gatewayClientFor(config: Config): GatewayClient {
  return createGatewayClient({ url: config.gateway.url, token: config.gateway.token });
}

async function errorFrom(res: Response, method: string, route: string): Promise<ProximaError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const parsed = apiErrorSchema.safeParse(body);
  if (parsed.success) {
    const e = parsed.data.error;
    return new GatewayError(res.status, e.code, e.message, e.hint);
  }
  return new GatewayError(
    res.status,
    'GATEWAY_ERROR',
    `gateway answered ${method} ${route} with HTTP ${res.status}`,
    res.status === 404
      ? 'check gateway.url: it should point at a Proxima gateway'
      : 'see the gateway log for details',
  );
}

function badResponse(url: string, method: string, route: string, detail: string) {
  return new DependencyError(
    'GATEWAY_BAD_RESPONSE',
    `gateway at ${url} sent an unexpected response to ${method} ${route} (${detail})`,
    'the gateway may run another Proxima version; update both, or check gateway.url',
  );
}

/** The same bytes, with `onChunk` called as each arrives. */
async function* counted(
  body: ReadableStream<Uint8Array>,
  onChunk: () => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    onChunk();
    yield chunk;
  }
}

export interface SseMessage {
  event: string;
  data: string;
}

/** text/event-stream framing: fields per line, messages separated by a blank line. */
export async function* parseSse(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A lone \r at the end may be the first half of \r\n split across chunks.
      if (buffer[nl] === '\r' && nl === buffer.length - 1) break;
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
  }
}
