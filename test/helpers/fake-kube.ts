import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RecordedRequest {
  method: string;
  path: string;
  contentType: string;
  body: unknown;
}

export interface FakeKube {
  url: string;
  /** A kubeconfig file pointing at this server with a token user. */
  kubeconfig: string;
  token: string;
  requests: RecordedRequest[];
  /** namespace/name → replicas; deployments the server knows. */
  deployments: Map<string, number>;
  /** namespace/name → annotations; pods the server knows. */
  pods: Map<string, Record<string, string>>;
  /** Answer every request 403, as the API server does without an RBAC grant. */
  forbid: boolean;
  /** Accept requests and never answer, as a wedged API server (or a black-holed route) does. */
  hang: boolean;
  stop(): Promise<void>;
  /** Remove the kubeconfig's directory. */
  cleanup(): void;
}

const SCALE_PATH = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)\/scale$/;
const POD_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/;
const MERGE_PATCH = 'application/merge-patch+json';

/** RFC 7386: objects merge, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function status(code: number, reason: string, message: string, details?: object) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/**
 * The slice of the Kubernetes API server the autoscaler talks to: a Deployment's scale
 * subresource and pod metadata, with the API server's status codes and Status bodies.
 */
export async function startFakeKube(): Promise<FakeKube> {
  const token = 'proxima-test-token';
  let resourceVersion = 100;
  const hung: ServerResponse[] = [];

  const state = {
    requests: [] as RecordedRequest[],
    deployments: new Map<string, number>(),
    pods: new Map<string, Record<string, string>>(),
    forbid: false,
    hang: false,
  };

  const send = (res: ServerResponse, code: number, body: object) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const scaleObject = (namespace: string, name: string, replicas: number) => ({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name,
      namespace,
      resourceVersion: String(resourceVersion),
      creationTimestamp: '2024-01-01T00:00:00Z',
    },
    spec: { replicas },
    status: { replicas, selector: `app.kubernetes.io/name=${name}` },
  });

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    let body: unknown = raw;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        // Kept as text: the assertions show what was sent.
      }
    }
    state.requests.push({ method: req.method ?? '', path: url.pathname, contentType, body });

    if (state.hang) {
      hung.push(res);
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    if (state.forbid) {
      return send(
        res,
        403,
        status(
          403,
          'Forbidden',
          `${req.method === 'GET' ? 'get' : 'patch'} ${url.pathname} is forbidden: User "system:serviceaccount:proxima:default" cannot do that`,
        ),
      );
    }
    if (req.method === 'PATCH' && contentType !== MERGE_PATCH) {
      // The real server also takes JSON Patch and strategic merge patch; the backend must send
      // a merge patch, so anything else is refused here as an unknown format would be.
      return send(
        res,
        415,
        status(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: ${MERGE_PATCH}`,
        ),
      );
    }

    const scale = SCALE_PATH.exec(url.pathname);
    if (scale) {
      const [, namespace, name] = scale as unknown as [string, string, string];
      const key = `${namespace}/${name}`;
      const replicas = state.deployments.get(key);
      if (replicas === undefined) {
        return send(
          res,
          404,
          status(404, 'NotFound', `deployments.apps "${name}" not found`, {
            name,
            group: 'apps',
            kind: 'deployments',
          }),
        );
      }
      if (req.method === 'GET') return send(res, 200, scaleObject(namespace, name, replicas));
      if (req.method === 'PATCH') {
        const patched = mergePatch(scaleObject(namespace, name, replicas), body) as {
          spec?: { replicas?: unknown };
        };
        const next = patched.spec?.replicas;
        if (typeof next !== 'number' || !Number.isInteger(next) || next < 0) {
          return send(
            res,
            422,
            status(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas`),
          );
        }
        state.deployments.set(key, next);
        resourceVersion += 1;
        return send(res, 200, scaleObject(namespace, name, next));
      }
      return send(res, 405, status(405, 'MethodNotAllowed', 'method not allowed'));
    }

    const pod = POD_PATH.exec(url.pathname);
    if (pod && req.method === 'PATCH') {
      const [, namespace, name] = pod as unknown as [string, string, string];
      const key = `${namespace}/${name}`;
      const annotations = state.pods.get(key);
      if (annotations === undefined) {
        return send(
          res,
          404,
          status(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' }),
        );
      }
      const patched = mergePatch({ metadata: { name, namespace, annotations } }, body) as {
        metadata: { annotations?: Record<string, string> };
      };
      state.pods.set(key, patched.metadata.annotations ?? {});
      resourceVersion += 1;
      return send(res, 200, {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { ...patched.metadata, resourceVersion: String(resourceVersion) },
        spec: { containers: [{ name: 'encoder', image: 'proxima-encoder:latest' }] },
      });
    }

    return send(
      res,
      404,
      status(404, 'NotFound', 'the server could not find the requested resource'),
    );
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const dir = mkdtempSync(path.join(tmpdir(), 'proxima-kube-'));
  const kubeconfig = path.join(dir, 'kubeconfig.yaml');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '  - name: fake',
      '    cluster:',
      `      server: ${url}`,
      // Plain HTTP is only accepted by the client with TLS verification off.
      '      insecure-skip-tls-verify: true',
      'users:',
      '  - name: gateway',
      '    user:',
      `      token: ${token}`,
      'contexts:',
      '  - name: fake',
      '    context:',
      '      cluster: fake',
      '      user: gateway',
      'current-context: fake',
      '',
    ].join('\n'),
  );

  let stopped = false;
  return Object.assign(state, {
    url,
    kubeconfig,
    token,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
