import type { Config } from '../../core/config/schema.ts';
import { DependencyError } from '../../core/errors.ts';
import { apiErrorSchema } from '../../core/job/contract.ts';
import {
  probeResponseSchema,
  type ProbeRequest,
  type ProbeResponse,
} from '../../core/job/probe-contract.ts';
import { GatewayError, unreachable } from '../gateway-client.ts';

/**
 * POST /v1/probes: the gateway sends a probe job and answers once a worker did or the request's
 * timeout passed. null from a gateway without the route (an earlier version).
 */
export async function requestProbe(
  config: Config,
  request: ProbeRequest,
): Promise<ProbeResponse | null> {
  const base = config.gateway.url.replace(/\/+$/, '');
  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': 'application/json',
  };
  if (config.gateway.token) headers.authorization = `Bearer ${config.gateway.token}`;
  // The gateway waits up to the probe's own timeout; the request a little longer.
  const waitMs = ((request.timeoutSeconds ?? 15) + 10) * 1000;
  let res: Response;
  try {
    res = await fetch(`${base}/v1/probes`, {
      method: 'POST',
      headers,
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(waitMs),
    });
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') {
      throw new DependencyError(
        'GATEWAY_TIMEOUT',
        `gateway at ${config.gateway.url} did not answer POST /v1/probes within ${waitMs / 1000} s`,
        'check that the gateway is running and not overloaded',
      );
    }
    throw unreachable(config.gateway.url);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (res.status === 404 && !apiErrorSchema.safeParse(body).success) return null;
  if (!res.ok) {
    const e = apiErrorSchema.safeParse(body);
    if (e.success && e.data.error.code === 'NOT_FOUND') return null;
    if (e.success) {
      throw new GatewayError(
        res.status,
        e.data.error.code,
        e.data.error.message,
        e.data.error.hint,
      );
    }
    throw new GatewayError(
      res.status,
      'GATEWAY_ERROR',
      `gateway answered POST /v1/probes with HTTP ${res.status}`,
      'see the gateway log for details',
    );
  }
  const parsed = probeResponseSchema.safeParse(body);
  if (!parsed.success) {
    throw new DependencyError(
      'GATEWAY_BAD_RESPONSE',
      `gateway at ${config.gateway.url} sent an unexpected probe answer (${parsed.error.issues[0]?.message ?? ''})`,
      'run the same Proxima version on the gateway and this machine',
    );
  }
  return parsed.data;
}
