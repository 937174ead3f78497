import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  apiErrorSchema,
  batchEventSchema,
  batchViewSchema,
  encodeJobSchema,
  enqueueResponseSchema,
  jobViewSchema,
  type BatchView,
} from '../core/job/contract.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { makeClip } from './helpers/cli-media.ts';
import { gatewayHarness, post, until, type GatewayHarness } from './helpers/gateway-fixture.ts';
import { sseReader } from './helpers/gateway-sse.ts';
import { probeFile } from './helpers/media.ts';
import { startProxyWorker } from './helpers/proxy-worker.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

/** The farm sees the footage at `media` and writes proxies below its own proxy root. */
function mapFor(h: GatewayHarness, media: string) {
  // A new array: the schema's default one may be shared by every parsed config.
  h.config.paths.mappings = [
    { editor: 'R:\\Footage', farm: media },
    { editor: '/Volumes/Footage', farm: media },
    { editor: 'P:\\Proxies', farm: h.proxyRoot },
    { editor: '/Volumes/Proxies', farm: h.proxyRoot },
  ];
}

/** `/a/b` below the proxy root as a Windows editor names it below P:\Proxies. */
const onP = (rel: string) => `P:\\Proxies\\${rel.split('/').filter(Boolean).join('\\')}`;

async function withGateway(fn: (h: GatewayHarness) => Promise<void>, config = {}) {
  const h = await gatewayHarness(redis.url, { config });
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

async function queued(h: GatewayHarness, body: object) {
  const res = await post(h.app, '/v1/batches', { v: PROTOCOL_VERSION, ...body });
  assert.equal(res.status, 201, await res.clone().text());
  return enqueueResponseSchema.parse(await res.json());
}

test('a batch from Windows is queued under farm paths and shown under the editor’s', async () => {
  await withGateway(async (h) => {
    mapFor(h, '/mnt/media');
    const mtimeMs = 1_700_000_000_000;
    const { batch, deduplicated } = await queued(h, {
      sources: [
        { path: 'R:\\Footage\\day1\\A001.mov', size: 10, mtimeMs },
        // The same file spelt another way is the same job.
        { path: 'r:/footage/day1/A001.mov', size: 10, mtimeMs },
        // Not covered by any mapping: used as it is.
        { path: '/srv/other/B001.mov', size: 10, mtimeMs },
      ],
    });
    assert.equal(deduplicated, 0);
    assert.equal(batch.jobs.length, 2);
    const [a, b] = batch.jobs;
    const farmProxy = path.join(h.proxyRoot, 'mnt/media/day1/A001.mov');
    assert.deepEqual(
      [a!.source, a!.farmSource, a!.proxyPath, a!.farmProxyPath],
      [
        'R:\\Footage\\day1\\A001.mov',
        '/mnt/media/day1/A001.mov',
        onP('mnt/media/day1/A001.mov'),
        farmProxy,
      ],
    );
    const otherProxy = path.join(h.proxyRoot, 'srv/other/B001.mov');
    assert.deepEqual(
      [b!.source, b!.farmSource, b!.farmProxyPath],
      ['/srv/other/B001.mov', '/srv/other/B001.mov', otherProxy],
    );
    // Its proxy is below the proxy root, so it is reversed too, in its source's (POSIX) style.
    assert.equal(b!.proxyPath, '/Volumes/Proxies/srv/other/B001.mov');

    // What the worker gets: the farm's paths, with the editor's beside them.
    const payload = encodeJobSchema.parse((await h.inspect.getJob(a!.id))!.data);
    assert.equal(payload.source.path, '/mnt/media/day1/A001.mov');
    assert.equal(payload.proxyPath, farmProxy);
    assert.equal(payload.editorSource, 'R:\\Footage\\day1\\A001.mov');

    // The same views when read back: the batch, the job, the event stream's snapshot.
    const read = batchViewSchema.parse(
      await (await h.app.request(`/v1/batches/${batch.id}`)).json(),
    );
    assert.deepEqual(read.jobs, batch.jobs);
    const job = jobViewSchema.parse(await (await h.app.request(`/v1/jobs/${a!.id}`)).json());
    assert.deepEqual(
      [job.source, job.proxyPath, job.farmProxyPath],
      [a!.source, a!.proxyPath, farmProxy],
    );
    const stream = await h.app.request(`/v1/batches/${batch.id}/events`);
    const events = sseReader(stream.body!);
    const first = batchEventSchema.parse(JSON.parse((await events.next())!.data));
    await events.cancel();
    assert.equal(first.type, 'snapshot');
    assert.deepEqual((first as { batch: BatchView }).batch.jobs, batch.jobs);
  });
});

test('a Mac editor queueing the same file joins its job and sees its own paths', async () => {
  await withGateway(async (h) => {
    mapFor(h, '/mnt/media');
    const mtimeMs = 1_700_000_000_000;
    const win = await queued(h, {
      sources: [{ path: 'R:\\Footage\\Café\\A001.mov', size: 10, mtimeMs: mtimeMs + 900 }],
    });
    // macOS hands out NFD names, and its SMB client reports the mtime to the whole second.
    const mac = await queued(h, {
      sources: [{ path: '/Volumes/Footage/Café/A001.mov'.normalize('NFD'), size: 10, mtimeMs }],
    });
    assert.equal(mac.deduplicated, 1);
    const [w, m] = [win.batch.jobs[0]!, mac.batch.jobs[0]!];
    assert.equal(m.id, w.id);
    assert.equal(m.farmSource, '/mnt/media/Café/A001.mov');
    assert.equal(m.farmProxyPath, w.farmProxyPath);
    assert.equal(w.proxyPath, onP('mnt/media/Café/A001.mov'));
    assert.equal(m.proxyPath, '/Volumes/Proxies/mnt/media/Café/A001.mov');
    assert.equal(m.source, '/Volumes/Footage/Café/A001.mov'.normalize('NFD'));
    // Each batch keeps its own editor's names.
    const again = batchViewSchema.parse(
      await (await h.app.request(`/v1/batches/${win.batch.id}`)).json(),
    );
    assert.equal(again.jobs[0]!.proxyPath, w.proxyPath);
    // Seconds apart is another version of the file.
    const later = await queued(h, {
      sources: [{ path: '/Volumes/Footage/Café/A001.mov', size: 10, mtimeMs: mtimeMs + 10_000 }],
    });
    assert.notEqual(later.batch.jobs[0]!.id, w.id);
  });
});

test('paths.media_roots are the farm’s: a mapped source is checked after mapping', async () => {
  await withGateway(
    async (h) => {
      mapFor(h, '/mnt/media');
      const ok = await queued(h, {
        sources: [{ path: 'R:\\Footage\\A.mov', size: 1, mtimeMs: 1 }],
      });
      assert.equal(ok.batch.jobs[0]!.farmSource, '/mnt/media/A.mov');
      h.config.paths.mappings = [{ editor: 'R:\\Footage', farm: '/mnt/media2' }];
      const res = await post(h.app, '/v1/batches', {
        v: PROTOCOL_VERSION,
        sources: [{ path: 'R:\\Footage\\A.mov', size: 1, mtimeMs: 1 }],
      });
      assert.equal(res.status, 403);
      const { error } = apiErrorSchema.parse(await res.json());
      assert.equal(error.code, 'SOURCE_OUTSIDE_MEDIA_ROOTS');
      assert.match(error.message, /R:\\Footage\\A\.mov \(\/mnt\/media2\/A\.mov on the farm\)/);
      assert.match(error.hint, /paths\.mappings/);
    },
    { paths: { media_roots: ['/mnt/media'] } },
  );
});

test('a worker encodes a clip queued under R:\\Footage; the batch names its proxy under P:\\Proxies', async () => {
  const media = mkdtempSync(path.join(tmpdir(), 'proxima-farm-media-'));
  const clip = await makeClip(path.join(media, 'day1'), 'A001', 'h264-stereo');
  const st = statSync(clip);
  await withGateway(async (h) => {
    mapFor(h, media);
    const worker = await startProxyWorker(redis.url, h.config.broker.queue, { id: 'farm-1' });
    try {
      const started = Date.now();
      const { batch } = await queued(h, {
        sources: [{ path: 'R:\\Footage\\day1\\A001.mov', size: st.size, mtimeMs: st.mtimeMs }],
      });
      const done = await until(
        async () => {
          const res = await h.app.request(`/v1/batches/${batch.id}`);
          const view = batchViewSchema.parse(await res.json());
          return view.counts.completed + view.counts.failed === 1 && view;
        },
        'the mapped job to finish',
        180_000,
      );
      const job = done.jobs[0]!;
      assert.equal(job.state, 'completed', JSON.stringify(job.error));
      const farmProxy = path.join(h.proxyRoot, media.slice(1), 'day1', 'A001.mov');
      assert.equal(job.farmSource, clip);
      assert.equal(job.farmProxyPath, farmProxy);
      assert.equal(job.result?.proxyPath, farmProxy);
      assert.equal(job.source, 'R:\\Footage\\day1\\A001.mov');
      assert.equal(job.proxyPath, onP(path.join(media.slice(1), 'day1', 'A001.mov')));
      const info = await probeFile(farmProxy);
      assert.equal(info.video?.codec, 'prores');
      assert.equal(info.video?.height, 180);
      console.log(
        `FIGURE: a clip queued as R:\\Footage\\day1\\A001.mov encoded on the farm in ${((Date.now() - started) / 1000).toFixed(1)} s (queue to done)`,
      );
    } finally {
      await worker.close();
    }
  });
});

test('a large batch is mapped as it arrives', async () => {
  await withGateway(async (h) => {
    mapFor(h, '/mnt/media');
    const n = 2000;
    const sources = Array.from({ length: n }, (_, i) => ({
      path: `R:\\Footage\\day${i % 10}\\A${String(i).padStart(4, '0')}.mov`,
      size: 10,
      mtimeMs: 1_700_000_000_000,
    }));
    const started = performance.now();
    const { batch } = await queued(h, { sources });
    const ms = performance.now() - started;
    assert.equal(batch.jobs.length, n);
    assert.ok(batch.jobs.every((j) => j.farmSource!.startsWith('/mnt/media/day')));
    assert.ok(batch.jobs.every((j) => j.proxyPath.startsWith('P:\\Proxies\\mnt\\media\\day')));
    console.log(`FIGURE: ${n} sources queued under R:\\Footage and mapped in ${ms.toFixed(0)} ms`);
  });
});
