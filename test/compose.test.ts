import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  autoscaleResponseSchema,
  batchViewSchema,
  enqueueResponseSchema,
  type BatchView,
} from '../core/job/contract.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { makeClip } from './helpers/cli-media.ts';
import { docker, dockerCompose, ensureEncoderImage, ensureRedisImage } from './helpers/docker.ts';
import { probeFile } from './helpers/media.ts';
import { freePort } from './helpers/redis.ts';

// compose.yaml and compose.autoscale.yaml brought up as they ship, with Debian's docker-compose,
// images built on this machine. Host folders pose as a NAS's shares: the containers mount them at
// their own paths, the editors (a Windows machine with R: and P:, a Mac with /Volumes/...) name
// them otherwise, and paths.mappings translates. The host queues through the API as an editor's
// CLI does (it cannot stat a Windows path: size and mtime come from the host file) and finds the
// proxies in its own proxies folder.

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMPOSE = path.join(REPO, 'compose.yaml');
const AUTOSCALE = path.join(REPO, 'compose.autoscale.yaml');
const TOKEN = 'compose-test-token';

// Host folders, mounted at the same paths in the containers; the image user (10001) writes them.
const work = mkdtempSync(path.join(tmpdir(), 'proxima-compose-'));
const media = path.join(work, 'media');
const proxies = path.join(work, 'proxies');
for (const dir of [work, media, proxies]) {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
}

let encoderImage: string;
let redisImage: string;
let clips: string[] = [];

before(async () => {
  [encoderImage, redisImage] = await Promise.all([ensureEncoderImage(), ensureRedisImage()]);
  const first = await makeClip(path.join(media, 'day1'), 'A001_C001', 'h264-stereo', {
    seconds: 2,
  });
  clips = [first];
  for (const name of ['A001_C002', 'A001_C003']) {
    clips.push(await makeClip(path.join(media, 'day1'), name, 'h264-stereo', { seconds: 2 }));
  }
  chmodSync(path.join(media, 'day1'), 0o777);
});

after(() => {
  // Proxies were written by uid 10001 in world-writable folders: removable from here.
  rmSync(work, { recursive: true, force: true });
});

interface Stack {
  project: string;
  url: string;
  env: NodeJS.ProcessEnv;
  files: string[];
}

let stacks = 0;

async function up(files: string[], extraArgs: string[], env: NodeJS.ProcessEnv): Promise<Stack> {
  const project = `proxima-ci-${process.pid}-${++stacks}`;
  const port = await freePort();
  const stackEnv: NodeJS.ProcessEnv = {
    PROXIMA_TOKEN: TOKEN,
    PROXIMA_IMAGE: encoderImage,
    PROXIMA_REDIS_IMAGE: redisImage,
    PROXIMA_MEDIA: media,
    PROXIMA_PROXIES: proxies,
    PROXIMA_GATEWAY_PORT: String(port),
    // The fixed network name would be shared by two stacks on one engine.
    PROXIMA_NETWORK: project,
    ...env,
  };
  const stack = { project, url: `http://127.0.0.1:${port}`, env: stackEnv, files };
  const started = Date.now();
  const res = await compose(stack, ['up', '-d', ...extraArgs]);
  if (res.code !== 0) {
    await down(stack);
    assert.fail(`docker-compose up failed (exit ${res.code}):\n${res.stderr}`);
  }
  await until('the gateway answering on the published port', 120, async () => {
    const r = await fetchWithin(`${stack.url}/v1/health`, {}).catch(() => undefined);
    return r?.ok;
  }).catch(async (err: unknown) => {
    await showLogs(stack);
    throw err;
  });
  console.log(
    `FIGURE: ${path.basename(files.at(-1)!)}: docker-compose up to a gateway answering in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return stack;
}

function compose(stack: Stack, args: string[]) {
  return dockerCompose(
    ['-p', stack.project, ...stack.files.flatMap((f) => ['-f', f]), ...args],
    stack.env,
  );
}

async function showLogs(stack: Stack): Promise<void> {
  const logs = await compose(stack, ['logs', '--no-color', '--tail', '40']);
  console.log(`docker-compose logs of ${stack.project}:\n${logs.stdout}${logs.stderr}`);
}

/** Containers the gateway started on the stack's network (compose does not know them). */
async function gatewayStarted(stack: Stack, all = true): Promise<string[]> {
  const r = await docker([
    'ps',
    ...(all ? ['-a'] : []),
    '--filter',
    `network=${stack.project}`,
    '--format',
    '{{.ID}} {{.Label "com.docker.compose.project"}}',
  ]);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter(([id, project]) => id && !project)
    .map(([id]) => id!);
}

async function down(stack: Stack): Promise<void> {
  const extra = await gatewayStarted(stack);
  if (extra.length) await docker(['rm', '-f', ...extra]);
  const res = await compose(stack, ['down', '-v', '--remove-orphans', '-t', '5']);
  assert.equal(res.code, 0, `docker-compose down failed:\n${res.stderr}`);
}

async function until<T>(what: string, seconds: number, fn: () => Promise<T | undefined | false>) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * fetch with a deadline of its own. Before the gateway listens, docker-proxy accepts the
 * connection and holds it open without a reply; fetch then keeps nothing alive, and the test
 * process would end mid-wait, so this timer both bounds the wait and holds the event loop.
 */
async function fetchWithin(url: string, init: RequestInit, ms = 10_000): Promise<Response> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no answer from ${url} in ${ms} ms`)), ms);
  try {
    return await fetch(url, { ...init, signal: abort.signal });
  } finally {
    clearTimeout(timer);
  }
}

async function api(stack: Stack, route: string, body?: unknown): Promise<Response> {
  return fetchWithin(`${stack.url}/v1${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/**
 * Queues `sources` (paths as the queueing machine names them, with the size and mtime of the
 * host file behind each) and waits for every job to end.
 */
async function queueAndWait(
  stack: Stack,
  sources: { path: string; file: string }[],
): Promise<BatchView> {
  const started = Date.now();
  const res = await api(stack, '/batches', {
    v: PROTOCOL_VERSION,
    label: 'compose test',
    sources: sources.map((s) => ({
      path: s.path,
      size: statSync(s.file).size,
      mtimeMs: statSync(s.file).mtimeMs,
    })),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const { batch } = enqueueResponseSchema.parse(await res.json());
  assert.equal(batch.jobs.length, sources.length);
  const done = await until('every job of the batch ended', 300, async () => {
    const b = batchViewSchema.parse(await (await api(stack, `/batches/${batch.id}`)).json());
    return b.counts.completed + b.counts.failed === b.counts.total && b;
  }).catch(async (err: unknown) => {
    await showLogs(stack);
    throw err;
  });
  console.log(
    `FIGURE: ${stack.files.map((f) => path.basename(f)).join(' + ')}: ${sources.length} proxies in ${((Date.now() - started) / 1000).toFixed(1)} s from queueing`,
  );
  assert.equal(
    done.counts.completed,
    sources.length,
    JSON.stringify(done.jobs.map((j) => j.error)),
  );
  return done;
}

/** Every file below dir, relative to it. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** The proxy at `hostFile` is a verified ProRes proxy of `source`. */
async function assertProxyOf(hostFile: string, source: string): Promise<void> {
  const [proxy, original] = await Promise.all([probeFile(hostFile), probeFile(source)]);
  assert.equal(proxy.video?.codec, 'prores', hostFile);
  assert.equal(proxy.video?.frameCount, original.video?.frameCount, hostFile);
  assert.equal(proxy.video?.height, 180, hostFile);
}

/** Editor-side prefixes of the two host folders, as an admin writes them in paths.mappings. */
const WINDOWS = { media: 'R:\\Footage', proxies: 'P:\\Proxies' };
const MAC = { media: '/Volumes/Footage', proxies: '/Volumes/Proxies' };

function mappingsEnv(editors: { media: string; proxies: string }[]): NodeJS.ProcessEnv {
  const mappings = editors.flatMap((e) => [
    { editor: e.media, farm: media },
    { editor: e.proxies, farm: proxies },
  ]);
  // JSON is YAML: what an admin puts in the environment (docs/docker.md).
  return { PROXIMA_PATHS__MAPPINGS: JSON.stringify(mappings) };
}

/** A host file as an editor names it: its path below `media` under the editor's prefix. */
function editorPath(file: string, editor: { media: string }): string {
  const rest = path.relative(media, file).split(path.sep);
  return editor.media.includes('\\')
    ? [editor.media, ...rest].join('\\')
    : [editor.media, ...rest].join('/');
}

/**
 * Checks that every job names its proxy as the editor sees it (below the editor's proxies
 * prefix) and that the host file behind that name is a verified proxy of the host source.
 */
async function assertEditorProxies(
  done: BatchView,
  editor: { proxies: string },
  sources: string[],
): Promise<string[]> {
  const hostFiles: string[] = [];
  for (const [i, job] of done.jobs.entries()) {
    const prefix = editor.proxies.includes('\\') ? `${editor.proxies}\\` : `${editor.proxies}/`;
    assert.ok(job.proxyPath.startsWith(prefix), `${job.proxyPath} is below ${editor.proxies}`);
    const rest = job.proxyPath.slice(prefix.length).split(/[\\/]/);
    const hostFile = path.join(proxies, ...rest);
    // The farm's own name for it is the same file, in the containers' (and host's) folder.
    assert.equal(job.farmProxyPath, hostFile);
    await assertProxyOf(hostFile, sources[i]!);
    hostFiles.push(path.relative(proxies, hostFile));
  }
  return hostFiles;
}

function clearProxies(): void {
  for (const entry of readdirSync(proxies)) {
    rmSync(path.join(proxies, entry), { recursive: true, force: true });
  }
}

test('compose.yaml as shipped: a Windows editor queues R:\\Footage clips, two encoders write P:\\Proxies on the host folder', async () => {
  clearProxies();
  const stack = await up([COMPOSE], ['--scale', 'encoder=2'], mappingsEnv([WINDOWS]));
  try {
    const done = await queueAndWait(
      stack,
      clips.map((c) => ({ path: editorPath(c, WINDOWS), file: c })),
    );
    assert.deepEqual(
      done.jobs.map((j) => j.source),
      clips.map((c) => editorPath(c, WINDOWS)),
      'the batch view names the sources as the editor queued them',
    );
    const written = await assertEditorProxies(done, WINDOWS, clips);
    // Only the proxies, in the host's proxies folder: no temp file left, nothing elsewhere.
    assert.deepEqual(filesBelow(proxies).sort(), written.sort());
    const encoders = (await compose(stack, ['ps', '-q', 'encoder'])).stdout.trim().split('\n');
    assert.equal(encoders.filter(Boolean).length, 2, 'two encoder containers');
  } finally {
    await down(stack);
  }
});

test('compose.yaml + compose.autoscale.yaml as shipped: the gateway starts encoders for a Windows and a Mac editor; proxies land on the host folder', async () => {
  clearProxies();
  const stack = await up([COMPOSE, AUTOSCALE], [], mappingsEnv([WINDOWS, MAC]));
  try {
    const fromWindows = await queueAndWait(
      stack,
      clips.slice(0, 2).map((c) => ({ path: editorPath(c, WINDOWS), file: c })),
    );
    const fromMac = await queueAndWait(
      stack,
      clips.slice(2).map((c) => ({ path: editorPath(c, MAC), file: c })),
    );
    const written = [
      ...(await assertEditorProxies(fromWindows, WINDOWS, clips.slice(0, 2))),
      ...(await assertEditorProxies(fromMac, MAC, clips.slice(2))),
    ];
    assert.deepEqual(filesBelow(proxies).sort(), written.sort());
    // The compose encoder service stays at 0: the gateway's own containers did the work.
    assert.equal((await compose(stack, ['ps', '-q', 'encoder'])).stdout.trim(), '');
    const view = autoscaleResponseSchema.parse(await (await api(stack, '/autoscale')).json());
    assert.equal(view.backend, 'docker');
    assert.ok(
      view.decisions.some((d) => d.desired >= 1 && !d.error),
      JSON.stringify(view.decisions.slice(-5)),
    );
    const started = await gatewayStarted(stack);
    assert.ok(started.length >= 1, 'encoder containers started by the gateway');
    // They mount both folders at their own paths and sweep the proxy root the gateway uses.
    const inspected = JSON.parse((await docker(['inspect', started[0]!])).stdout) as {
      Config: { Env: string[] };
      HostConfig: { Binds: string[] };
    }[];
    assert.deepEqual(inspected[0]!.HostConfig.Binds.sort(), [
      `${media}:${media}`,
      `${proxies}:${proxies}`,
    ]);
    assert.ok(inspected[0]!.Config.Env.includes(`PROXIMA_PATHS__PROXY_ROOT=${proxies}`));
  } finally {
    await down(stack);
  }
});
