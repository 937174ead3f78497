import type {
  AppsV1Api,
  ConfigurationOptions,
  CoreV1Api,
  ObservableMiddleware,
  RequestContext,
  ResponseContext,
} from '@kubernetes/client-node';
import { DependencyError, isProximaError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Encoder, ScaleBackend, WorkerActivity } from './backend.ts';

export interface KubernetesBackendOptions {
  namespace: string;
  /** The encoder Deployment whose replicas are set. */
  deployment: string;
  /** kubeconfig file; empty: what kubectl would use (KUBECONFIG, ~/.kube/config), else in-cluster. */
  kubeconfig: string;
  logger: Logger;
  /** Per API request; the reconciler retries, so a hung API server must not hold it. */
  requestTimeoutMs?: number;
}

/** https://kubernetes.io/docs/reference/labels-annotations-taints/#pod-deletion-cost */
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';
const BUSY_COST = '10000';
const IDLE_COST = '0';

/**
 * Encoders as the pods of one Deployment. The count is the Deployment's scale; which pod is busy
 * comes from worker registrations (a pod registers under its own name). Kubernetes picks the pods
 * to remove, so before lowering the count each known pod gets a deletion cost: idle ones go
 * first. A busy pod that is picked anyway gets SIGTERM and finishes its job within the grace period.
 */
export function createKubernetesBackend(opts: KubernetesBackendOptions): ScaleBackend {
  const { namespace, deployment, logger } = opts;
  const target = `${namespace}/${deployment}`;
  const timeoutMs = opts.requestTimeoutMs ?? 10_000;
  const pendingPrefix = `${deployment}-pending-`;
  // Pods of a Deployment are named <deployment>-<template hash>-<suffix>; other workers on the
  // same queue (a workstation, a docker encoder) are not this Deployment's replicas.
  const ownPod = (name: string) => name.startsWith(`${deployment}-`);

  interface Clients {
    apps: AppsV1Api;
    core: CoreV1Api;
    server: string;
    /** Request options: a timeout, and for patches the merge-patch content type. */
    plain: () => ConfigurationOptions;
    mergePatch: () => ConfigurationOptions;
  }
  let clients: Clients | undefined;
  // Loaded on first use, not at construction, so a kubeconfig that appears later (a mounted
  // Secret) or a fixed file is picked up by the reconciler's next attempt.
  const connect = async (): Promise<Clients> => {
    if (clients) return clients;
    const k8s = await loadClientLibrary();
    const kc = new k8s.KubeConfig();
    try {
      if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
      else kc.loadFromDefault();
    } catch (err) {
      throw new DependencyError(
        'K8S_UNREACHABLE',
        `cannot load the kubeconfig ${opts.kubeconfig || '(default)'} for ${target}: ${firstLine(err)}`,
        UNREACHABLE_HINT,
      );
    }
    const plain = (): ConfigurationOptions => ({
      middleware: [timeoutMiddleware(k8s.Observable, timeoutMs)],
      middlewareMergeStrategy: 'append',
    });
    clients = {
      apps: kc.makeApiClient(k8s.AppsV1Api),
      core: kc.makeApiClient(k8s.CoreV1Api),
      server: kc.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)',
      plain,
      // The generated client sends JSON Patch by default; a merge patch is the plain "set this
      // field" that also works when the field (an annotation) is absent.
      mergePatch: () => k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch, plain()),
    };
    return clients;
  };

  const call = async <T>(what: string, fn: (c: Clients) => Promise<T>) => {
    const c = await connect();
    try {
      return await fn(c);
    } catch (err) {
      throw kubernetesError(err, what, { namespace, deployment, server: c.server });
    }
  };

  const markDeletionCost = async (encoders: readonly Encoder[]) => {
    const marks = encoders.filter(
      (e) => (e.state === 'busy' || e.state === 'idle') && !e.name.startsWith(pendingPrefix),
    );
    await Promise.all(
      marks.map(async (e) => {
        const cost = e.state === 'busy' ? BUSY_COST : IDLE_COST;
        try {
          await call(`annotate pod ${e.name}`, ({ core, mergePatch }) =>
            core.patchNamespacedPod(
              {
                name: e.name,
                namespace,
                body: { metadata: { annotations: { [POD_DELETION_COST]: cost } } },
              },
              mergePatch(),
            ),
          );
        } catch (err) {
          // Without the mark the pod is just as likely to be picked as without this feature: the
          // scale-down still goes ahead, and a busy pod that is picked finishes its job on SIGTERM.
          if (isPodGone(err)) {
            logger.debug({ pod: e.name }, 'pod gone before its deletion cost was set');
          } else {
            const de = err as DependencyError;
            logger.warn(
              { pod: e.name, code: de.code, hint: de.hint },
              `pod deletion cost not set: ${de.message}`,
            );
          }
        }
      }),
    );
  };

  return {
    kind: 'kubernetes',
    target,
    async list(activity: WorkerActivity): Promise<Encoder[]> {
      const scale = await call('read the scale of', ({ apps, plain }) =>
        apps.readNamespacedDeploymentScale({ name: deployment, namespace }, plain()),
      );
      const replicas = Math.max(0, scale.spec?.replicas ?? 0);
      const busy = [...activity.busy].filter(ownPod).sort();
      const idle = [...activity.idle].filter((n) => ownPod(n) && !activity.busy.has(n)).sort();
      // Busy ones first: when more pods are registered than replicas are wanted, the surplus is
      // being removed, and the deletion costs made that the idle ones.
      const registered: Encoder[] = [
        ...busy.map((name): Encoder => ({ name, state: 'busy' })),
        ...idle.map((name): Encoder => ({ name, state: 'idle' })),
      ];
      const encoders = registered.map((e, i): Encoder =>
        i < replicas ? e : { ...e, state: 'exiting' },
      );
      for (let i = 1; i <= replicas - registered.length; i++) {
        encoders.push({ name: `${pendingPrefix}${i}`, state: 'starting' });
      }
      return encoders;
    },
    async scaleTo(desired, encoders) {
      const current = encoders.filter((e) => e.state !== 'exiting').length;
      // Marks first: the ReplicaSet controller picks victims the moment the scale changes.
      if (desired < current) await markDeletionCost(encoders);
      await call('scale', ({ apps, mergePatch }) =>
        apps.patchNamespacedDeploymentScale(
          { name: deployment, namespace, body: { spec: { replicas: desired } } },
          mergePatch(),
        ),
      );
      logger.info({ deployment: target, from: current, to: desired }, 'encoder replicas set');
    },
  };
}

const UNREACHABLE_HINT =
  'check kubernetes.kubeconfig (empty: KUBECONFIG, ~/.kube/config, then the in-cluster service account) and that the API server answers';

type ClientLibrary = typeof import('@kubernetes/client-node');
let clientLibrary: Promise<ClientLibrary> | undefined;

/**
 * Imported only when the kubernetes backend is used: it is large (the whole generated API), and
 * a gateway that does not scale on Kubernetes should neither load it nor fail because of it.
 */
async function loadClientLibrary(): Promise<ClientLibrary> {
  clientLibrary ??= import('@kubernetes/client-node');
  try {
    return await clientLibrary;
  } catch (err) {
    throw new DependencyError(
      'K8S_CLIENT_UNAVAILABLE',
      `the Kubernetes client library (@kubernetes/client-node) does not load on Node ${process.version}: ${firstLine(err)}`,
      'reinstall the dependencies (npm ci) on a supported Node (package.json engines), or use the container image',
    );
  }
}

function timeoutMiddleware(
  Observable: ClientLibrary['Observable'],
  ms: number,
): ObservableMiddleware {
  return {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(AbortSignal.timeout(ms));
      return new Observable(Promise.resolve(ctx));
    },
    post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
  };
}

/** ApiException by shape: the class lives in the lazily imported library. */
function isApiException(err: unknown): err is { code: number; body: unknown } {
  return (
    err instanceof Error &&
    typeof (err as { code?: unknown }).code === 'number' &&
    'body' in err &&
    'headers' in err
  );
}

function isPodGone(err: unknown): boolean {
  return err instanceof DependencyError && err.code === 'K8S_NOT_FOUND';
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]?.trim() || 'unknown error';
}

/** The `message` of a Kubernetes Status body, if the body is one. */
function statusMessage(body: unknown): string | undefined {
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed = JSON.parse(body) as { kind?: string; message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : undefined;
  } catch {
    return body.split('\n')[0]?.slice(0, 200);
  }
}

/** Network failures from undici's fetch: the code sits on the cause. */
function networkReason(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = (err as { code?: unknown }).code ?? cause?.code;
  if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
  if (err.message === 'fetch failed')
    return typeof cause?.message === 'string' ? cause.message : 'connection failed';
  return undefined;
}

/** A client-node failure as one line naming what failed and how to fix it. */
export function kubernetesError(
  err: unknown,
  what: string,
  ctx: { namespace: string; deployment: string; server: string },
): DependencyError {
  if (isProximaError(err) && err instanceof DependencyError) return err;
  const target = `${ctx.namespace}/${ctx.deployment}`;
  const subject = what.startsWith('annotate pod')
    ? `${what} in ${ctx.namespace}`
    : `${what} deployment ${target}`;
  if (isApiException(err)) {
    const code = err.code;
    const detail = statusMessage(err.body);
    if (code === 404) {
      if (what.startsWith('annotate pod')) {
        return new DependencyError('K8S_NOT_FOUND', `${subject}: not found`, 'the pod is gone');
      }
      return new DependencyError(
        'K8S_DEPLOYMENT_NOT_FOUND',
        `deployment ${target} not found`,
        'apply the manifests (kubectl apply -k k8s/base), or set kubernetes.namespace and kubernetes.deployment to the encoder Deployment',
      );
    }
    if (code === 401 || code === 403) {
      return new DependencyError(
        'K8S_FORBIDDEN',
        `the Kubernetes API refused to ${subject} (${code === 401 ? '401 Unauthorized' : '403 Forbidden'})`,
        `the gateway's ServiceAccount needs get and patch on deployments/scale and patch on pods in namespace ${ctx.namespace}; see k8s/base/gateway-rbac.yaml`,
      );
    }
    return new DependencyError(
      'K8S_REQUEST_FAILED',
      `the Kubernetes API answered ${code} to ${subject}${detail ? `: ${detail}` : ''}`,
      'check the API server (kubectl get --raw /readyz) and the Deployment (kubectl describe deployment)',
    );
  }
  const reason = networkReason(err);
  return new DependencyError(
    'K8S_UNREACHABLE',
    `cannot reach the Kubernetes API at ${ctx.server} to ${subject} (${reason ?? firstLine(err)})`,
    UNREACHABLE_HINT,
  );
}
