import assert from 'node:assert/strict';
import { jobQueueName } from '../core/job/keys.ts';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { configSchema } from '../core/config/schema.ts';
import { ConfigError } from '../core/errors.ts';
import { apiErrorSchema, enqueueResponseSchema } from '../core/job/contract.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { isJsonContentType } from '../gateway/access.ts';
import {
  canonicalHost,
  checkListenAccess,
  gatewayNames,
  hostAllowed,
  originAllowed,
} from '../gateway/host-check.ts';
import { isBelowMediaRoot } from '../gateway/media-roots.ts';
import { startGateway } from '../gateway/server.ts';
import {
  freshQueueName,
  gatewayHarness,
  post,
  silentLogger,
  sourceRef,
} from './helpers/gateway-fixture.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

function gatewayConfig(gateway: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return configSchema.parse({
    ...extra,
    paths: { proxy_root: mkdtempSync(path.join(tmpdir(), 'proxima-proxies-')) },
    broker: { url: redis.url, queue: freshQueueName() },
    gateway,
  });
}

/** A logger whose JSON lines land in `lines`. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

interface RawReply {
  status: number;
  body: string;
}

/** A raw HTTP request, so Host and every other header are exactly what a browser could send. */
function raw(
  url: string,
  method: string,
  route: string,
  headers: Record<string, string>,
  body?: Buffer | string,
): Promise<RawReply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, method, path: route, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const errorOf = (reply: RawReply) => apiErrorSchema.parse(JSON.parse(reply.body)).error;

test('without gateway.token the gateway starts only on loopback, and says so', async () => {
  for (const listen of ['0.0.0.0:0', '[::]:0', '127.0.0.2:0', '192.0.2.1:0']) {
    await assert.rejects(
      startGateway({
        config: gatewayConfig({ listen }),
        logger: silentLogger,
        brokerUrl: redis.url,
      }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, /^gateway\.listen .* not a loopback address and gateway\.token/);
        assert.doesNotMatch(err.message, /\n/);
        assert.match(err.hint, /gateway\.token.*PROXIMA_GATEWAY__TOKEN.*127\.0\.0\.1/);
        assert.equal(err.exitCode, 2);
        return true;
      },
      listen,
    );
  }
  for (const listen of ['127.0.0.1:0', 'localhost:0', '[::1]:0']) {
    assert.doesNotThrow(() => checkListenAccess(listen, listen.replace(/:0$/, ''), ''), listen);
  }
  assert.doesNotThrow(() => checkListenAccess('0.0.0.0:8765', '0.0.0.0', 'secret'));
});

test('with a token it listens on a wildcard and logs the address it really listens on', async () => {
  const { logger, lines } = capturingLogger();
  const gateway = await startGateway({
    config: gatewayConfig({ listen: '0.0.0.0:0', token: 'tok' }),
    logger,
    brokerUrl: redis.url,
  });
  try {
    const line = lines.find((l) => l.msg === 'gateway listening');
    assert.ok(line, JSON.stringify(lines));
    const port = new URL(gateway.url).port;
    assert.equal(line.listen, `0.0.0.0:${port}`);
    assert.equal(line.url, `http://127.0.0.1:${port}`);
    assert.equal(line.token, true);
    const status = await fetch(`${gateway.url}/v1/status`, {
      headers: { authorization: 'Bearer tok' },
    });
    assert.equal(status.status, 200);
    assert.equal((await fetch(`${gateway.url}/v1/status`)).status, 401);
  } finally {
    await gateway.close();
  }
});

test('gateway/main.ts on 0.0.0.0 without a token exits 2 naming both keys', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'proxima-gw-open-'));
  const main = fileURLToPath(new URL('../gateway/main.ts', import.meta.url));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PROXIMA_')) env[k] = v;
  const configFile = path.join(root, 'config.yaml');
  writeFileSync(configFile, `gateway:\n  listen: 0.0.0.0:0\npaths:\n  proxy_root: ${root}/p\n`);
  Object.assign(env, {
    HOME: root,
    PROXIMA_CONFIG: configFile,
    PROXIMA_BROKER__URL: redis.url,
    PROXIMA_BROKER__QUEUE: freshQueueName(),
  });
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 2, stderr);
  assert.match(stderr, /gateway\.listen 0\.0\.0\.0:0 is not a loopback address/);
  assert.match(stderr, /PROXIMA_GATEWAY__TOKEN/);
  assert.doesNotMatch(stderr, /gateway listening/);
});

/** A tokenless gateway on 127.0.0.1 over real HTTP, attacked the ways a web page can. */
test('on loopback without a token, web pages cannot drive the API', async (t) => {
  const config = gatewayConfig({ listen: '127.0.0.1:0', allowed_hosts: ['proxima.studio.lan'] });
  const gateway = await startGateway({ config, logger: silentLogger, brokerUrl: redis.url });
  const inspect = new Queue(jobQueueName(config.broker.queue), {
    connection: { url: redis.url },
  });
  t.after(async () => {
    await inspect.obliterate({ force: true });
    await inspect.close();
    await gateway.close();
  });
  const port = new URL(gateway.url).port;
  const local = `127.0.0.1:${port}`;
  const json = { 'content-type': 'application/json' };
  const body = JSON.stringify({
    v: PROTOCOL_VERSION,
    sources: [sourceRef('/media/web/a.mp4'), sourceRef('/media/web/b.mp4')],
  });

  const ok = await raw(gateway.url, 'POST', '/v1/batches', { ...json, host: local }, body);
  assert.equal(ok.status, 201, ok.body);
  const queued = enqueueResponseSchema.parse(JSON.parse(ok.body)).batch.jobs.map((j) => j.id);
  const waiting = async () => inspect.getJobCountByTypes('waiting');
  assert.equal(await waiting(), 2);

  // What a cross-site <form method=post action=http://127.0.0.1:8765/v1/purge> sends.
  const form = await raw(
    gateway.url,
    'POST',
    '/v1/purge',
    {
      host: local,
      origin: 'http://attacker.example',
      'content-type': 'application/x-www-form-urlencoded',
    },
    'x=1',
  );
  assert.equal(form.status, 403, form.body);
  assert.equal(errorOf(form).code, 'ORIGIN_NOT_ALLOWED');
  // The same without Origin (an old browser, a privacy extension): still not JSON.
  for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data']) {
    const r = await raw(gateway.url, 'POST', '/v1/purge', { host: local, 'content-type': type });
    assert.equal(r.status, 415, `${type}: ${r.body}`);
    assert.equal(errorOf(r).code, 'BAD_CONTENT_TYPE');
    assert.match(errorOf(r).message, /application\/json/);
  }
  // A no-cors fetch with no body has no content type at all.
  const bare = await raw(gateway.url, 'POST', '/v1/purge', { host: local });
  assert.equal(bare.status, 415);
  const latin1 = await raw(gateway.url, 'POST', '/v1/purge', {
    host: local,
    'content-type': 'application/json; charset=latin1',
  });
  assert.equal(latin1.status, 415);
  // JSON with a foreign Origin: a page using fetch() with a preflight it would not pass.
  const foreign = await raw(
    gateway.url,
    'POST',
    '/v1/purge',
    { ...json, host: local, origin: 'null' },
    '{}',
  );
  assert.equal(foreign.status, 403);
  assert.equal(await waiting(), 2, 'no attack removed a job');

  // DNS rebinding: attacker.example now resolves to 127.0.0.1; the browser sends its name.
  for (const host of [`attacker.example:${port}`, 'attacker.example', `127.0.0.1.nip.io:${port}`]) {
    for (const route of ['/v1/status', `/v1/batches`, `/v1/jobs/${queued[0]}`]) {
      const r = await raw(gateway.url, 'GET', route, { host });
      assert.equal(r.status, 403, `${host} ${route}`);
      const err = errorOf(r);
      assert.equal(err.code, 'HOST_NOT_ALLOWED');
      assert.match(err.message, /127\.0\.0\.1, localhost, \[::1\], proxima\.studio\.lan/);
      assert.match(err.hint, /gateway\.allowed_hosts/);
    }
  }
  const purge = await raw(
    gateway.url,
    'POST',
    '/v1/purge',
    { ...json, host: 'attacker.example' },
    '{}',
  );
  assert.equal(purge.status, 403);
  assert.equal(await waiting(), 2);

  // Its own names are served: the listen address, loopback names, allowed_hosts.
  for (const host of [
    local,
    `localhost:${port}`,
    `[::1]:${port}`,
    'LOCALHOST.',
    'proxima.studio.lan',
  ]) {
    const r = await raw(gateway.url, 'GET', '/v1/status', {
      host,
      origin: `http://${host}`,
    });
    assert.equal(r.status, 200, `${host}: ${r.body}`);
  }
  // Health stays open to probes that send a pod IP or container name.
  const probe = await raw(gateway.url, 'GET', '/v1/health', { host: '10.42.0.17:8765' });
  assert.equal(probe.status, 200);

  // Bodies that are not UTF-8 are refused, not repaired into U+FFFD paths.
  const latin1Body = Buffer.concat([
    Buffer.from(`{"v":${PROTOCOL_VERSION},"sources":[{"path":"/media/caf`),
    Buffer.from([0xe9]),
    Buffer.from('.mp4","size":1,"mtimeMs":1}]}'),
  ]);
  const bad = await raw(gateway.url, 'POST', '/v1/batches', { ...json, host: local }, latin1Body);
  assert.equal(bad.status, 400, bad.body);
  assert.equal(errorOf(bad).code, 'BAD_ENCODING');

  // The real client still purges (it sends JSON).
  const real = await raw(gateway.url, 'POST', '/v1/purge', { ...json, host: local }, '{}');
  assert.equal(real.status, 200);
  assert.equal(await waiting(), 0);
});

test('with a token, a farm CLI may use any name of the machine; foreign pages are still refused', async (t) => {
  const config = gatewayConfig({ listen: '0.0.0.0:0', token: 'tok' });
  const gateway = await startGateway({ config, logger: silentLogger, brokerUrl: redis.url });
  t.after(() => gateway.close());
  const auth = { authorization: 'Bearer tok' };
  // A DNS name of the gateway's machine that nobody listed in gateway.allowed_hosts.
  const named = await raw(gateway.url, 'GET', '/v1/status', { ...auth, host: 'render7.lan:8765' });
  assert.equal(named.status, 200, named.body);
  // Its own pages (same origin as the request) are served.
  const own = await raw(gateway.url, 'GET', '/v1/status', {
    ...auth,
    host: 'render7.lan:8765',
    origin: 'http://render7.lan:8765',
  });
  assert.equal(own.status, 200, own.body);
  // A page of another site is refused even with the token.
  const foreign = await raw(
    gateway.url,
    'POST',
    '/v1/purge',
    {
      ...auth,
      host: 'render7.lan:8765',
      origin: 'http://attacker.example',
      'content-type': 'application/json',
    },
    '{}',
  );
  assert.equal(foreign.status, 403, foreign.body);
  assert.equal(errorOf(foreign).code, 'ORIGIN_NOT_ALLOWED');
  // And without the token nothing is served whatever the name.
  const anon = await raw(gateway.url, 'GET', '/v1/status', { host: 'render7.lan:8765' });
  assert.equal(anon.status, 401);
});

test('host names: canonical spellings, wildcard names, Origin forms', () => {
  assert.equal(canonicalHost('LOCALHOST.:8765'), 'localhost');
  assert.equal(canonicalHost('[0:0::1]:1'), '[::1]');
  assert.equal(canonicalHost('::1'), '[::1]');
  assert.equal(canonicalHost('2130706433'), '127.0.0.1');
  for (const hostile of ['evil@127.0.0.1', 'a/b', '', 'a b', 'localhost:8765:1', 'localhost\0']) {
    assert.equal(canonicalHost(hostile), null, hostile);
  }
  const loopback = gatewayNames({
    listenHost: '127.0.0.1',
    allowedHosts: [],
    hostName: 'bay-2',
    addresses: ['10.0.0.5'],
  });
  assert.deepEqual([...loopback], ['127.0.0.1', 'localhost', '[::1]']);
  const wildcard = gatewayNames({
    listenHost: '0.0.0.0',
    allowedHosts: ['Proxima.Example.'],
    hostName: 'Bay-2',
    addresses: ['10.0.0.5', 'fe80::1'],
  });
  assert.deepEqual(
    [...wildcard],
    ['localhost', '127.0.0.1', '[::1]', 'bay-2', '10.0.0.5', '[fe80::1]', 'proxima.example'],
  );
  const lan = gatewayNames({
    listenHost: '192.168.1.20',
    allowedHosts: [],
    hostName: 'bay-2',
    addresses: [],
  });
  assert.deepEqual([...lan], ['192.168.1.20']);
  assert.equal(hostAllowed('bay-2:8765', wildcard), true);
  assert.equal(hostAllowed(undefined, wildcard), false);
  assert.equal(originAllowed('https://proxima.example', wildcard), true);
  assert.equal(originAllowed('http://localhost:3000', wildcard), true);
  for (const o of ['null', 'http://evil.example', 'http://localhost@evil', 'ftp://localhost', '']) {
    assert.equal(originAllowed(o, wildcard), false, o);
  }
  assert.equal(isJsonContentType('application/json'), true);
  assert.equal(isJsonContentType('Application/JSON; charset="UTF-8"'), true);
  for (const t of [undefined, '', 'text/plain', 'application/json-seq', 'application/json;x=1']) {
    assert.equal(isJsonContentType(t), false, String(t));
  }
});

test('paths.media_roots: sources elsewhere are refused with 403 and the root list', async () => {
  assert.equal(isBelowMediaRoot('/etc/passwd', []), true);
  const roots = ['/media/footage', 'D:\\Shoot'];
  assert.equal(isBelowMediaRoot('/media/footage/day1/A.mp4', roots), true);
  assert.equal(isBelowMediaRoot('/media//footage/./day1/A.mp4', roots), true);
  assert.equal(isBelowMediaRoot('d:/shoot/A.mp4', roots), true);
  for (const outside of [
    '/media/footage-old/A.mp4',
    '/media/Footage/A.mp4',
    '/media/footage/../../etc/passwd',
    '/etc/passwd',
    'E:\\Shoot\\A.mp4',
    '\\\\nas\\media\\footage\\A.mp4',
    'media/footage/A.mp4',
  ]) {
    assert.equal(isBelowMediaRoot(outside, roots), false, outside);
  }

  const h = await gatewayHarness(redis.url, { config: { paths: { media_roots: roots } } });
  try {
    const inside = await post(h.app, '/v1/batches', {
      v: PROTOCOL_VERSION,
      sources: [sourceRef('/media/footage/day1/A001.mp4')],
    });
    assert.equal(inside.status, 201);
    const res = await post(h.app, '/v1/batches', {
      v: PROTOCOL_VERSION,
      sources: [sourceRef('/media/footage/day1/A002.mp4'), sourceRef('/home/me/.ssh/id_rsa.mp4')],
    });
    assert.equal(res.status, 403);
    const err = apiErrorSchema.parse(await res.json()).error;
    assert.equal(err.code, 'SOURCE_OUTSIDE_MEDIA_ROOTS');
    assert.equal(
      err.message,
      'sources[1].path: /home/me/.ssh/id_rsa.mp4 is not below paths.media_roots (/media/footage, D:\\Shoot)',
    );
    assert.match(err.hint, /paths\.media_roots/);
    // Nothing of the refused batch was queued, not even its good source.
    assert.equal(await h.inspect.count(), 1);
  } finally {
    await h.close();
  }
});
