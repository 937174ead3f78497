import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { configSchema } from '../core/config/schema.ts';
import { batchViewSchema } from '../core/job/contract.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { startGateway, type Gateway } from '../gateway/server.ts';
import { cliSandbox, runCli } from './helpers/cli-run.ts';
import { makeClip } from './helpers/cli-media.ts';
import { freshQueueName, silentLogger } from './helpers/gateway-fixture.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';
import { clipProperties, installScene } from './helpers/resolve-scene.ts';

// A gateway of the version before batches kept their Resolve clips and skipped files: the same
// API, but a request with a `resolve` or `skipped` field is refused the way the gateway refuses
// any field it does not know.
let redis: TestRedis;
let gateway: Gateway;
let older: Server;
let olderUrl = '';
let refusal = '';
/** The requests it refused, by the field it did not know. */
const refused: string[] = [];

before(async () => {
  redis = await startRedis();
  gateway = await startGateway({
    config: configSchema.parse({
      broker: { url: redis.url, queue: freshQueueName() },
      gateway: { listen: '127.0.0.1:0' },
      log: { level: 'silent' },
    }),
    logger: silentLogger,
    brokerUrl: redis.url,
  });
  // What the gateway says of a field it does not know, renamed to the field an older one lacks.
  const probe = await fetch(`${gateway.url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      v: PROTOCOL_VERSION,
      sources: [{ path: '/m/x.mov', size: 1, mtimeMs: 1 }],
      resolvx: {},
    }),
  });
  assert.equal(probe.status, 400);
  refusal = await probe.text();

  older = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const sent = JSON.parse(body.toString() || '{}') as object;
      const unknown = ['resolve', 'skipped'].find((f) => req.method === 'POST' && f in sent);
      if (unknown) {
        refused.push(unknown);
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(refusal.replaceAll('resolvx', unknown));
        return;
      }
      void fetch(`${gateway.url}${req.url}`, {
        method: req.method,
        headers: { 'content-type': 'application/json' },
        body: req.method === 'GET' ? undefined : body,
      }).then(async (r) => {
        res
          .writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? '' })
          .end(Buffer.from(await r.arrayBuffer()));
      });
    });
  });
  await new Promise<void>((r) => older.listen(0, '127.0.0.1', r));
  olderUrl = `http://127.0.0.1:${(older.address() as AddressInfo).port}`;
});
after(async () => {
  older.close();
  await gateway.close();
  await redis.stop();
});

test('queue --resolve against an older gateway queues the clips without the record, and says so', async () => {
  const box = cliSandbox({ gateway: { url: olderUrl } });
  const clip = await makeClip(path.join(box.root, 'media'), 'A001', 'h264-stereo');
  const scene = installScene({
    current_project: 'Feature',
    projects: {
      Feature: {
        current_timeline: 'Edit',
        timelines: [
          { name: 'Edit', id: 'tl-1', video_tracks: [{ items: [{ name: 'A001', clip: 'm-a' }] }] },
        ],
        clips: { 'm-a': { name: 'A001.mov', properties: clipProperties(clip) } },
      },
    },
  });
  const r = await runCli(['queue', '--resolve', '--no-wait'], {
    env: { ...box.env, ...scene.env },
  });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(
    r.stderr,
    /^warning: the gateway is of an earlier version and keeps no record of the Resolve clips; `proxima link --scan` finds the proxies later$/m,
  );
  const id = /queued 1 file as batch (\S+) /.exec(r.stdout)?.[1];
  assert.ok(id, r.stdout);
  const batch = batchViewSchema.parse(
    await (await fetch(`${gateway.url}/v1/batches/${id}`)).json(),
  );
  assert.deepEqual(
    batch.jobs.map((j) => j.source),
    [clip],
  );
  assert.equal(batch.resolve, undefined);
  assert.match(
    r.stdout,
    /^run `proxima link --scan` when it is done to link the proxies in Resolve$/m,
  );
});

test('a folder with skipped files against an older gateway: queued without the list, no warning', async () => {
  const box = cliSandbox({ gateway: { url: olderUrl } });
  const dir = path.join(box.root, 'card');
  const clip = await makeClip(dir, 'B001', 'h264-stereo');
  writeFileSync(path.join(dir, 'B001.jpg'), 'a still beside the clip');
  refused.length = 0;
  const r = await runCli(['queue', '--no-wait', '--json', dir], { env: box.env });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual(refused, ['skipped']);
  assert.equal(r.stderr, '');
  const out = JSON.parse(r.stdout) as {
    batch: string;
    skipped: { path: string; reason: string }[];
  };
  // The summary still lists it; the older gateway's batch has the clip and nothing else.
  assert.deepEqual(out.skipped, [{ path: path.join(dir, 'B001.jpg'), reason: 'still image' }]);
  const batch = batchViewSchema.parse(
    await (await fetch(`${gateway.url}/v1/batches/${out.batch}`)).json(),
  );
  assert.deepEqual(
    batch.jobs.map((j) => j.source),
    [clip],
  );
  assert.deepEqual(batch.skipped, []);
});
