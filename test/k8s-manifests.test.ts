import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../core/config/load.ts';
import { proxyPathFor } from '../core/paths/proxy-path.ts';
import { pathStyle, toEditor, toFarm } from '../core/paths/path-mapping.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KUBECTL = process.env.KUBECTL || 'kubectl';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: any;
  rules?: any[];
  subjects?: any[];
  roleRef?: any;
}

/** What `kubectl apply -k dir` would send, as objects. */
function kustomize(dir: string): Obj[] {
  const run = spawnSync(KUBECTL, ['kustomize', path.join(root, dir)], { encoding: 'utf8' });
  if (run.error) {
    assert.fail(
      `cannot run ${KUBECTL} (${run.error.message}): the manifest tests need kubectl ` +
        '(Debian: apt-get install kubernetes-client), or KUBECTL=/path/to/kubectl',
    );
  }
  assert.equal(run.status, 0, `kubectl kustomize ${dir} failed:\n${run.stderr}`);
  const docs = parseAllDocuments(run.stdout);
  const objects: Obj[] = [];
  for (const doc of docs) {
    assert.deepEqual(doc.errors, [], `kubectl kustomize ${dir} printed invalid YAML`);
    const value = doc.toJS() as Obj | null;
    if (value) objects.push(value);
  }
  return objects;
}

const find = (objects: Obj[], kind: string, name: string): Obj => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind} ${name} is in the output`);
  return found;
};

const container = (deployment: Obj, name: string) => {
  const c = (deployment.spec.template.spec.containers as any[]).find((x) => x.name === name);
  assert.ok(c, `${deployment.metadata.name} has a container ${name}`);
  return c;
};

const env = (c: any, name: string) => (c.env as any[] | undefined)?.find((e) => e.name === name);

/** The mount path of the volume backed by a claim, in one container of a Deployment. */
const claimMount = (deployment: Obj, containerName: string, claim: string) => {
  const volume = (deployment.spec.template.spec.volumes as any[]).find(
    (v) => v.persistentVolumeClaim?.claimName === claim,
  );
  assert.ok(volume, `${deployment.metadata.name} has a volume from the claim ${claim}`);
  const mount = (container(deployment, containerName).volumeMounts as any[]).find(
    (m) => m.name === volume.name,
  );
  return mount?.mountPath as string | undefined;
};

const base = kustomize('k8s/base');
const keda = kustomize('k8s/overlays/keda');
const nas = kustomize('k8s/overlays/nas-example');

test('k8s/ itself renders the base', () => {
  assert.deepEqual(kustomize('k8s'), base);
});

test('base: everything is in the proxima namespace', () => {
  assert.ok(base.length >= 10, `${base.length} objects`);
  for (const o of base) {
    if (o.kind === 'Namespace') assert.equal(o.metadata.name, 'proxima');
    else assert.equal(o.metadata.namespace, 'proxima', `${o.kind} ${o.metadata.name}`);
  }
});

test('base: the gateway Role grants only the scale of proxima-encoder and patch on pods', () => {
  const role = find(base, 'Role', 'proxima-gateway-scaler');
  assert.deepEqual(role.rules, [
    {
      apiGroups: ['apps'],
      resources: ['deployments/scale'],
      resourceNames: ['proxima-encoder'],
      verbs: ['get', 'patch'],
    },
    { apiGroups: [''], resources: ['pods'], verbs: ['patch'] },
  ]);
  assert.equal(
    base.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'),
    false,
    'no cluster-wide grant',
  );
  const binding = find(base, 'RoleBinding', 'proxima-gateway-scaler');
  assert.deepEqual(binding.roleRef, {
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'Role',
    name: 'proxima-gateway-scaler',
  });
  assert.deepEqual(binding.subjects, [
    { kind: 'ServiceAccount', name: 'proxima-gateway', namespace: 'proxima' },
  ]);
  find(base, 'ServiceAccount', 'proxima-gateway');
  const gateway = find(base, 'Deployment', 'proxima-gateway');
  assert.equal(gateway.spec.template.spec.serviceAccountName, 'proxima-gateway');
});

test('base: the gateway scales the encoder Deployment through the kubernetes backend', () => {
  const gateway = find(base, 'Deployment', 'proxima-gateway');
  const c = container(gateway, 'gateway');
  assert.deepEqual(c.command, ['node', 'dist/gateway/main.js']);
  assert.equal(env(c, 'PROXIMA_AUTOSCALE__BACKEND')?.value, 'kubernetes');
  assert.equal(env(c, 'PROXIMA_KUBERNETES__DEPLOYMENT')?.value, 'proxima-encoder');
  assert.equal(env(c, 'PROXIMA_BROKER__URL')?.value, 'redis://redis:6379');
  assert.equal(env(c, 'PROXIMA_GATEWAY__LISTEN')?.value, '0.0.0.0:8765');
  assert.deepEqual(env(c, 'PROXIMA_GATEWAY__TOKEN')?.valueFrom, {
    secretKeyRef: { name: 'proxima-gateway', key: 'token', optional: true },
  });
  assert.equal(c.readinessProbe.httpGet.path, '/v1/health');
  const service = find(base, 'Service', 'proxima-gateway');
  assert.equal(service.spec.ports[0].port, 8765);
});

test('base: encoders start at 0, have requests and limits, and time to finish a job', () => {
  const encoder = find(base, 'Deployment', 'proxima-encoder');
  assert.equal(encoder.spec.replicas, 0);
  const pod = encoder.spec.template.spec;
  assert.ok(
    pod.terminationGracePeriodSeconds >= 600,
    `grace period ${pod.terminationGracePeriodSeconds} s`,
  );
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.runAsUser, 10001);
  const c = container(encoder, 'encoder');
  assert.deepEqual(c.resources, {
    requests: { cpu: '2', memory: '2Gi' },
    limits: { cpu: '4', memory: '4Gi' },
  });
  assert.equal(env(c, 'PROXIMA_WORKER__CONCURRENCY')?.value, '1');
  assert.equal(env(c, 'PROXIMA_ENCODER__IDLE_EXIT_SECONDS')?.value, '0');
  assert.equal(
    env(c, 'PROXIMA_ENCODER__INSTANCE')?.valueFrom?.fieldRef?.fieldPath,
    'metadata.name',
  );
  assert.deepEqual(c.livenessProbe.exec.command, ['node', 'dist/encoder-image/healthcheck.js']);
});

test('base: the shared media claim is mounted at /media in the gateway and the encoders', () => {
  const claim = find(base, 'PersistentVolumeClaim', 'proxima-media');
  assert.deepEqual(claim.spec.accessModes, ['ReadWriteMany']);
  assert.equal(claim.spec.resources.requests.storage, '1Ti');
  const gateway = find(base, 'Deployment', 'proxima-gateway');
  const encoder = find(base, 'Deployment', 'proxima-encoder');
  assert.equal(claimMount(gateway, 'gateway', 'proxima-media'), '/media');
  assert.equal(claimMount(encoder, 'encoder', 'proxima-media'), '/media');
});

/** The value a container gets for an env var: its own env first, else its envFrom ConfigMaps. */
const envValue = (objects: Obj[], c: any, name: string): string | undefined => {
  const own = env(c, name);
  if (own) return own.value as string | undefined;
  for (const from of (c.envFrom as any[] | undefined) ?? []) {
    if (!from.configMapRef) continue;
    const map = find(objects, 'ConfigMap', from.configMapRef.name) as Obj & {
      data?: Record<string, string>;
    };
    const value = map.data?.[(from.prefix ?? '') === '' ? name : name.slice(from.prefix.length)];
    if (value !== undefined) return value;
  }
  return undefined;
};

for (const [label, objects] of [
  ['base', base],
  ['keda overlay', keda],
  ['nas example', nas],
] as const) {
  test(`${label}: the proxies claim is mounted at paths.proxy_root in the gateway and the encoders`, () => {
    const claim = find(objects, 'PersistentVolumeClaim', 'proxima-proxies');
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteMany']);
    const gateway = find(objects, 'Deployment', 'proxima-gateway');
    const encoder = find(objects, 'Deployment', 'proxima-encoder');
    const roots = [
      envValue(objects, container(gateway, 'gateway'), 'PROXIMA_PATHS__PROXY_ROOT'),
      envValue(objects, container(encoder, 'encoder'), 'PROXIMA_PATHS__PROXY_ROOT'),
    ];
    assert.deepEqual(roots, ['/proxies', '/proxies'], 'one proxy_root, from the ConfigMap');
    assert.equal(claimMount(gateway, 'gateway', 'proxima-proxies'), '/proxies');
    assert.equal(claimMount(encoder, 'encoder', 'proxima-proxies'), '/proxies');
    // Mappings too come from the one ConfigMap, so both sides translate the same way.
    const mappings = [
      envValue(objects, container(gateway, 'gateway'), 'PROXIMA_PATHS__MAPPINGS'),
      envValue(objects, container(encoder, 'encoder'), 'PROXIMA_PATHS__MAPPINGS'),
    ];
    assert.equal(mappings[0], mappings[1]);
    assert.ok(mappings[0] !== undefined, 'paths.mappings is set in the ConfigMap');
    const config = find(objects, 'ConfigMap', 'proxima-config');
    assert.equal(config.metadata.namespace, 'proxima');
  });
}

test('base: redis persists its data (append-only file on a claim)', () => {
  const redis = find(base, 'StatefulSet', 'redis');
  const c = container(redis, 'redis');
  const args = [...(c.command ?? []), ...(c.args ?? [])].join(' ');
  assert.match(args, /--appendonly yes/);
  const templates = redis.spec.volumeClaimTemplates as any[];
  assert.equal(templates.length, 1);
  assert.equal(templates[0].spec.resources.requests.storage, '1Gi');
  const mount = (c.volumeMounts as any[]).find((m) => m.name === templates[0].metadata.name);
  assert.equal(mount?.mountPath, '/data');
  assert.deepEqual(c.readinessProbe.exec.command, ['redis-cli', 'ping']);
  const service = find(base, 'Service', 'redis');
  assert.equal(service.spec.clusterIP, 'None');
  assert.equal(redis.spec.serviceName, 'redis');
});

test('keda overlay: a ScaledObject on proxima-encoder reading the BullMQ wait list', () => {
  const so = find(keda, 'ScaledObject', 'proxima-encoder');
  assert.equal(so.apiVersion, 'keda.sh/v1alpha1');
  assert.equal(so.metadata.namespace, 'proxima');
  assert.equal(so.spec.scaleTargetRef.name, 'proxima-encoder');
  assert.equal(so.spec.minReplicaCount, 0);
  assert.ok(so.spec.maxReplicaCount >= 1);
  const triggers = so.spec.triggers as any[];
  assert.ok(triggers.every((t) => t.type === 'redis'));
  const lists = triggers.map((t) => t.metadata.listName);
  assert.ok(lists.includes('bull:proxima-p5:wait'), lists.join(', '));
  assert.ok(lists.includes('bull:proxima-p5:active'), lists.join(', '));
  for (const t of triggers) {
    assert.match(t.metadata.address, /^redis\.proxima\.svc\.cluster\.local:6379$/);
  }
});

test('keda overlay: the gateway does not scale as well', () => {
  const gateway = find(keda, 'Deployment', 'proxima-gateway');
  const c = container(gateway, 'gateway');
  const backends = (c.env as any[]).filter((e) => e.name === 'PROXIMA_AUTOSCALE__BACKEND');
  assert.deepEqual(backends, [{ name: 'PROXIMA_AUTOSCALE__BACKEND', value: 'none' }]);
  // The rest of the gateway's environment survives the patch.
  assert.equal(env(c, 'PROXIMA_BROKER__URL')?.value, 'redis://redis:6379');
  find(keda, 'Deployment', 'proxima-encoder');
  find(keda, 'StatefulSet', 'redis');
});

test('nas example: the claims bind to the NAS exports, and the mappings give each editor its own paths', () => {
  for (const [claimName, volumeName, exported] of [
    ['proxima-media', 'proxima-media-nas', '/export/footage'],
    ['proxima-proxies', 'proxima-proxies-nas', '/export/proxies'],
  ] as const) {
    const claim = find(nas, 'PersistentVolumeClaim', claimName);
    assert.equal(claim.spec.volumeName, volumeName);
    assert.equal(claim.spec.storageClassName, '', 'no dynamic provisioning');
    const volume = find(nas, 'PersistentVolume', volumeName);
    assert.deepEqual(volume.spec.claimRef, { name: claimName, namespace: 'proxima' });
    assert.deepEqual(volume.spec.nfs, { server: 'nas.example.com', path: exported });
    assert.deepEqual(volume.spec.accessModes, ['ReadWriteMany']);
  }

  // The gateway's config as the pod gets it: the ConfigMap through envFrom, no config file.
  const c = container(find(nas, 'Deployment', 'proxima-gateway'), 'gateway');
  const podEnv: NodeJS.ProcessEnv = { HOME: mkdtempSync(path.join(tmpdir(), 'proxima-k8s-')) };
  for (const name of ['PROXIMA_PATHS__PROXY_ROOT', 'PROXIMA_PATHS__MAPPINGS']) {
    podEnv[name] = envValue(nas, c, name);
  }
  const { config } = loadConfig({ env: podEnv, platform: 'linux', create: false });
  assert.equal(config.paths.proxy_root, '/proxies');
  const mappings = config.paths.mappings;
  assert.equal(mappings.length, 4);

  // The docs' example, end to end through the same functions the gateway uses.
  for (const [queued, farm, shown] of [
    ['R:\\Day1\\A001_C001.mp4', '/media/Day1/A001_C001.mp4', 'P:\\media\\Day1\\A001_C001.mov'],
    [
      '/Volumes/Footage/Day1/A001_C002.mp4',
      '/media/Day1/A001_C002.mp4',
      '/Volumes/Proxies/media/Day1/A001_C002.mov',
    ],
  ] as const) {
    assert.equal(toFarm(queued, mappings), farm);
    const proxy = proxyPathFor(farm, config.paths.proxy_root);
    assert.ok(proxy.startsWith('/proxies/'), proxy);
    assert.equal(toEditor(proxy, mappings, pathStyle(queued)), shown);
  }
});
