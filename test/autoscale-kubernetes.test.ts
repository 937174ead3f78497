import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { pino } from 'pino';
import { DependencyError } from '../core/errors.ts';
import type { WorkerActivity } from '../gateway/autoscale/backend.ts';
import {
  createKubernetesBackend,
  POD_DELETION_COST,
} from '../gateway/autoscale/kubernetes-backend.ts';
import { startFakeKube, type FakeKube } from './helpers/fake-kube.ts';

const NS = 'proxima';
const DEPLOY = 'proxima-encoder';
const SCALE = `/apis/apps/v1/namespaces/${NS}/deployments/${DEPLOY}/scale`;
const pod = (suffix: string) => `${DEPLOY}-6f9c7d5b8-${suffix}`;

let kube: FakeKube;
let logLines: { level: number; msg: string; pod?: string }[] = [];

const logger = pino(
  { level: 'debug' },
  { write: (line: string) => void logLines.push(JSON.parse(line) as (typeof logLines)[number]) },
);

const backend = (over: { deployment?: string; kubeconfig?: string; timeoutMs?: number } = {}) =>
  createKubernetesBackend({
    namespace: NS,
    deployment: over.deployment ?? DEPLOY,
    kubeconfig: over.kubeconfig ?? kube.kubeconfig,
    logger,
    requestTimeoutMs: over.timeoutMs ?? 5_000,
  });

const activity = (busy: string[], idle: string[]): WorkerActivity => ({
  busy: new Set(busy),
  idle: new Set(idle),
});

/** Runs fn, which must reject with a DependencyError, and returns that error. */
async function dependencyError(fn: () => Promise<unknown>): Promise<DependencyError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof DependencyError, `expected a DependencyError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), `one-line message: ${err.message}`);
    return err;
  }
  assert.fail('expected a rejection');
}

before(async () => {
  kube = await startFakeKube();
});
after(async () => {
  await kube.stop();
  kube.cleanup();
});
beforeEach(() => {
  kube.requests.length = 0;
  kube.deployments.clear();
  kube.pods.clear();
  kube.forbid = false;
  kube.hang = false;
  logLines = [];
});

test('kind and target name the deployment', () => {
  const b = backend();
  assert.equal(b.kind, 'kubernetes');
  assert.equal(b.target, 'proxima/proxima-encoder');
});

test('list: busy pods first, then idle, then starting placeholders up to the replicas', async () => {
  kube.deployments.set(`${NS}/${DEPLOY}`, 3);
  const encoders = await backend().list(
    // A workstation's worker on the same queue is not one of the Deployment's pods.
    activity([pod('bbbbb')], [pod('aaaaa'), 'studio-mac']),
  );
  assert.deepEqual(encoders, [
    { name: pod('bbbbb'), state: 'busy' },
    { name: pod('aaaaa'), state: 'idle' },
    { name: `${DEPLOY}-pending-1`, state: 'starting' },
  ]);
  assert.deepEqual(
    kube.requests.map((r) => `${r.method} ${r.path}`),
    [`GET ${SCALE}`],
  );
});

test('list: registered pods beyond the replicas are exiting, idle ones first', async () => {
  kube.deployments.set(`${NS}/${DEPLOY}`, 2);
  const encoders = await backend().list(
    activity([pod('ccccc')], [pod('aaaaa'), pod('bbbbb'), pod('ddddd')]),
  );
  assert.deepEqual(encoders, [
    { name: pod('ccccc'), state: 'busy' },
    { name: pod('aaaaa'), state: 'idle' },
    { name: pod('bbbbb'), state: 'exiting' },
    { name: pod('ddddd'), state: 'exiting' },
  ]);
});

test('list: zero replicas and nothing registered is no encoder', async () => {
  kube.deployments.set(`${NS}/${DEPLOY}`, 0);
  assert.deepEqual(await backend().list(activity([], [])), []);
});

test('scaling up patches the replicas with a merge patch and nothing else', async () => {
  kube.deployments.set(`${NS}/${DEPLOY}`, 1);
  kube.pods.set(`${NS}/${pod('aaaaa')}`, {});
  const b = backend();
  const encoders = await b.list(activity([pod('aaaaa')], []));
  await b.scaleTo(4, encoders);

  const patches = kube.requests.filter((r) => r.method === 'PATCH');
  assert.deepEqual(patches, [
    {
      method: 'PATCH',
      path: SCALE,
      contentType: 'application/merge-patch+json',
      body: { spec: { replicas: 4 } },
    },
  ]);
  assert.equal(kube.deployments.get(`${NS}/${DEPLOY}`), 4);
  const after = await b.list(activity([pod('aaaaa')], []));
  assert.equal(after.length, 4);
  assert.deepEqual(
    after.map((e) => e.state),
    ['busy', 'starting', 'starting', 'starting'],
  );
});

test('scaling down marks busy pods expensive and idle ones cheap before the scale changes', async () => {
  kube.deployments.set(`${NS}/${DEPLOY}`, 4);
  for (const s of ['aaaaa', 'bbbbb', 'ccccc']) kube.pods.set(`${NS}/${pod(s)}`, { keep: 'me' });
  const b = backend();
  // ddddd registered but already gone from the API: a 404 that must not stop the scale-down.
  const encoders = await b.list(
    activity([pod('bbbbb')], [pod('aaaaa'), pod('ccccc'), pod('ddddd')]),
  );
  kube.requests.length = 0;

  await b.scaleTo(1, encoders);

  const order = kube.requests.map((r) => `${r.method} ${r.path}`);
  assert.equal(order.length, 5, order.join('\n'));
  assert.equal(order.at(-1), `PATCH ${SCALE}`, 'the scale is patched last');
  assert.deepEqual(
    order.slice(0, 4).sort(),
    ['aaaaa', 'bbbbb', 'ccccc', 'ddddd'].map(
      (s) => `PATCH /api/v1/namespaces/${NS}/pods/${pod(s)}`,
    ),
  );
  for (const r of kube.requests) assert.equal(r.contentType, 'application/merge-patch+json');
  const podPatch = kube.requests.find((r) => r.path.endsWith(pod('bbbbb')));
  assert.deepEqual(podPatch?.body, { metadata: { annotations: { [POD_DELETION_COST]: '10000' } } });

  assert.deepEqual(kube.pods.get(`${NS}/${pod('bbbbb')}`), {
    keep: 'me',
    [POD_DELETION_COST]: '10000',
  });
  assert.equal(kube.pods.get(`${NS}/${pod('aaaaa')}`)?.[POD_DELETION_COST], '0');
  assert.equal(kube.pods.get(`${NS}/${pod('ccccc')}`)?.[POD_DELETION_COST], '0');
  assert.equal(kube.deployments.get(`${NS}/${DEPLOY}`), 1);

  const gone = logLines.find((l) => l.pod === pod('ddddd'));
  assert.equal(gone?.level, 20, 'a pod already gone is logged at debug');
  assert.equal(
    logLines.some((l) => l.level >= 40),
    false,
    'nothing worse than debug was logged',
  );
});

test('scaling down skips placeholders of pods that have not registered', async () => {
  kube.deployments.set(`${NS}/${DEPLOY}`, 3);
  kube.pods.set(`${NS}/${pod('aaaaa')}`, {});
  const b = backend();
  const encoders = await b.list(activity([], [pod('aaaaa')]));
  kube.requests.length = 0;
  await b.scaleTo(0, encoders);
  assert.deepEqual(
    kube.requests.map((r) => `${r.method} ${r.path}`),
    [`PATCH /api/v1/namespaces/${NS}/pods/${pod('aaaaa')}`, `PATCH ${SCALE}`],
  );
  assert.equal(kube.deployments.get(`${NS}/${DEPLOY}`), 0);
});

test('an unknown deployment is K8S_DEPLOYMENT_NOT_FOUND naming namespace/deployment', async () => {
  const b = backend({ deployment: 'nope-encoder' });
  const err = await dependencyError(() => b.list(activity([], [])));
  assert.equal(err.code, 'K8S_DEPLOYMENT_NOT_FOUND');
  assert.equal(err.message, 'deployment proxima/nope-encoder not found');
  assert.match(err.hint, /kubectl apply -k k8s\/base/);
  assert.match(err.hint, /kubernetes\.deployment/);

  const err2 = await dependencyError(() => b.scaleTo(2, []));
  assert.equal(err2.code, 'K8S_DEPLOYMENT_NOT_FOUND');
});

test('403 from RBAC is K8S_FORBIDDEN with the permissions the gateway needs', async () => {
  kube.deployments.set(`${NS}/${DEPLOY}`, 1);
  kube.forbid = true;
  const b = backend();
  const err = await dependencyError(() => b.list(activity([], [])));
  assert.equal(err.code, 'K8S_FORBIDDEN');
  assert.match(err.message, /proxima\/proxima-encoder/);
  assert.match(err.message, /403/);
  assert.match(err.hint, /deployments\/scale/);
  assert.match(err.hint, /k8s\/base\/gateway-rbac\.yaml/);

  const err2 = await dependencyError(() => b.scaleTo(2, []));
  assert.equal(err2.code, 'K8S_FORBIDDEN');
  assert.equal(kube.deployments.get(`${NS}/${DEPLOY}`), 1, 'nothing changed');
});

test('a token the API server rejects (401) is K8S_FORBIDDEN too', async () => {
  kube.deployments.set(`${NS}/${DEPLOY}`, 1);
  const bad = path.join(path.dirname(kube.kubeconfig), 'bad-token.yaml');
  writeFileSync(bad, readFileSync(kube.kubeconfig, 'utf8').replace(kube.token, 'wrong-token'));
  const err = await dependencyError(() => backend({ kubeconfig: bad }).list(activity([], [])));
  assert.equal(err.code, 'K8S_FORBIDDEN');
  assert.match(err.message, /401/);
});

test('a missing kubeconfig file is K8S_UNREACHABLE naming the file', async () => {
  const missing = path.join(path.dirname(kube.kubeconfig), 'missing.yaml');
  const err = await dependencyError(() => backend({ kubeconfig: missing }).list(activity([], [])));
  assert.equal(err.code, 'K8S_UNREACHABLE');
  assert.ok(err.message.includes(missing), err.message);
  assert.match(err.hint, /kubernetes\.kubeconfig/);
});

test('an API server that never answers times out as K8S_UNREACHABLE', async () => {
  kube.deployments.set(`${NS}/${DEPLOY}`, 1);
  kube.hang = true;
  const started = Date.now();
  const err = await dependencyError(() => backend({ timeoutMs: 300 }).list(activity([], [])));
  assert.equal(err.code, 'K8S_UNREACHABLE');
  assert.match(err.message, /timed out/);
  assert.ok(Date.now() - started < 3_000, `gave up after ${Date.now() - started} ms`);
});

// Last: it stops the shared server.
test('a stopped API server is K8S_UNREACHABLE, quickly', async () => {
  kube.deployments.set(`${NS}/${DEPLOY}`, 1);
  const b = backend();
  await b.list(activity([], []));
  await kube.stop();
  const started = Date.now();
  const err = await dependencyError(() => b.list(activity([], [])));
  assert.equal(err.code, 'K8S_UNREACHABLE');
  assert.ok(err.message.includes(kube.url), err.message);
  assert.match(err.hint, /kubernetes\.kubeconfig/);
  assert.ok(Date.now() - started < 3_000, `gave up after ${Date.now() - started} ms`);
  const err2 = await dependencyError(() => b.scaleTo(0, []));
  assert.equal(err2.code, 'K8S_UNREACHABLE');
});
