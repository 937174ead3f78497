import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  cliSandbox,
  runCli,
  startCli,
  type CliSandbox,
  type RunningCli,
} from './helpers/cli-run.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { makeClip } from './helpers/cli-media.ts';
import {
  jobsLeft,
  registerWorker,
  startNamespacedWorker,
  stopWorker,
} from './helpers/doctor-stack.ts';
import { freePort, startRedis, type TestRedis } from './helpers/redis.ts';

// `proxima doctor` against real stacks: `proxima up` (gateway, workers), real workers of
// `proxima work`, some in a mount namespace of their own where the media or the proxy root is
// covered by a tmpfs, as a farm machine with a missing or read-only mount would be.

let redis: TestRedis;

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

async function sandbox(queue: string, extra: Record<string, unknown> = {}): Promise<CliSandbox> {
  const port = await freePort();
  return cliSandbox({
    broker: { url: redis.url, queue },
    gateway: { listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` },
    worker: { attempts: 1 },
    ...extra,
  });
}

async function gatewayUrl(box: CliSandbox): Promise<string> {
  const r = await runCli(['config', 'show'], { env: box.env });
  return /url: (http:\/\/127\.0\.0\.1:\d+)/.exec(r.stdout)![1]!;
}

/** Until the gateway lists this many workers. */
async function workersRegistered(box: CliSandbox, n: number): Promise<void> {
  const url = await gatewayUrl(box);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${url}/v1/workers`).catch(() => null);
    const body = res?.ok ? ((await res.json()) as { workers: unknown[] }) : { workers: [] };
    if (body.workers.length >= n) return;
    if (Date.now() > deadline) throw new Error(`${n} workers never registered`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function up(box: CliSandbox, workers: number): Promise<RunningCli> {
  const stack = startCli(['up', '--workers', String(workers)], { env: box.env });
  await stack.waitFor(/gateway listening on/);
  if (workers > 0) await workersRegistered(box, workers);
  return stack;
}

async function stop(stack: RunningCli): Promise<void> {
  if (stack.child.exitCode === null) stack.child.kill('SIGINT');
  await stack.done;
}

async function doctor(box: CliSandbox, args: string[]) {
  const started = performance.now();
  const r = await runCli(['doctor', ...args], { env: box.env });
  return { ...r, seconds: (performance.now() - started) / 1000 };
}

/** Every line of the report is a check line or an indented note. */
function assertLineShape(stdout: string): void {
  for (const line of stdout.trimEnd().split('\n')) {
    assert.match(line, /^(OK {3}|WARN |FAIL )[a-z ]+: \S|^ {5}\S/, stdout);
  }
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('a healthy stack: every check OK, sources seen through paths.mappings, exit 0', async () => {
  const media = mkdtempSync(path.join(tmpdir(), 'proxima-doctor-media-'));
  const editor = path.join(media, 'editor');
  const farm = path.join(media, 'farm');
  const clip = await makeClip(path.join(editor, 'day1'), 'A001', 'h264-stereo', { seconds: 2 });
  const farmClip = path.join(farm, 'day1', 'A001.mov');
  mkdirSync(path.dirname(farmClip), { recursive: true });
  cpSync(clip, farmClip, { preserveTimestamps: true });
  const queue = `doctor-ok-${process.pid}`;
  const box = await sandbox(queue, { paths: { mappings: [{ editor, farm }] } });
  const stack = await up(box, 1);
  try {
    const r = await doctor(box, [editor]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assertLineShape(r.stdout);
    assert.doesNotMatch(r.stdout, /^(FAIL|WARN)/m);
    for (const check of [
      `config: ${esc(box.configFile)} is valid`,
      `broker: reachable at redis://127\\.0\\.0\\.1:${redis.port}`,
      `gateway: http://127\\.0\\.0\\.1:\\d+, Proxima \\S+, protocol ${PROTOCOL_VERSION}`,
      `workers: 1 registered on queue ${queue}(-p${PROTOCOL_VERSION})? \\(1 slot on \\S+\\)`,
      'ffmpeg: ffmpeg version \\S+ at \\S+ on worker \\S+',
      'ffprobe: ffprobe version \\S+ at \\S+ on worker \\S+',
      'encoders: prores_ks and dnxhd and libx264 in the ffmpeg of worker \\S+',
      'sources: 1 source visible and readable on worker \\S+',
      `proxy root: ${esc(box.proxyRoot)} writable on worker \\S+ \\(a test file written and removed\\)`,
      `free space: [\\d.]+ \\S+ free in ${esc(box.proxyRoot)} on worker \\S+; the batch's prores-proxy proxies need about [\\d.]+ (KiB|MiB) \\(preset bitrate x duration\\)`,
    ]) {
      assert.match(r.stdout, new RegExp(`^OK {3}${check}$`, 'm'), r.stdout);
    }
    console.log(
      `FIGURE: doctor against a healthy stack (one worker, one clip): ${r.seconds.toFixed(2)} s`,
    );
    // The probe job is gone once answered, and no test file is left in the proxy root.
    assert.equal(await jobsLeft(redis.url, queue), 0);
    assert.deepEqual(
      (await import('node:fs')).readdirSync(box.proxyRoot),
      [],
      'the proxy root holds nothing after the check',
    );

    // A queued batch is checked from its own record, as the editor queued it (dnxhr-lb here).
    const q = await runCli(['queue', '--json', '--preset', 'dnxhr-lb', editor], { env: box.env });
    assert.equal(q.code, 0, q.stderr);
    const batchId = (JSON.parse(q.stdout) as { batch: string }).batch;
    const fromBatch = await doctor(box, ['--batch', batchId]);
    assert.equal(fromBatch.code, 0, fromBatch.stdout);
    assert.match(fromBatch.stdout, /^OK {3}sources: 1 source visible and readable on worker /m);
    assert.match(fromBatch.stdout, /the batch's dnxhr-lb proxies need about [\d.]+ (KiB|MiB) /);
    const both = await runCli(['doctor', '--batch', batchId, editor], { env: box.env });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^error: --batch .*give PATHS or --batch ID, not both$/m);

    // The farm side of the mapping loses the file: the worker cannot see it, the editor can.
    rmSync(farmClip);
    const missing = await doctor(box, [editor]);
    assert.equal(missing.code, 1, missing.stdout);
    assert.match(
      missing.stdout,
      new RegExp(
        `^FAIL source: ${esc(clip)} \\(${esc(farmClip)} on the farm\\) is not visible on worker \\S+: mount the media there at this path, or map it with paths\\.mappings -> mount the media on the workers at the same path, or add a paths\\.mappings entry \\{ editor, farm \\} to the gateway config$`,
        'm',
      ),
      missing.stdout,
    );
  } finally {
    await stop(stack);
  }
});

test('no worker: the workers and worker checks FAIL at once with the fix, exit 1', async () => {
  const queue = `doctor-none-${process.pid}`;
  const box = await sandbox(queue);
  const stack = await up(box, 0);
  try {
    const r = await doctor(box, []);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assertLineShape(r.stdout);
    assert.match(r.stdout, /^OK {3}gateway: /m);
    assert.match(
      r.stdout,
      new RegExp(
        `^FAIL workers: no worker is registered on queue ${queue}(-p${PROTOCOL_VERSION})? -> start one with \`proxima work\` \\(or \`proxima up --workers N\`\\), or set autoscale\\.backend$`,
        'm',
      ),
    );
    assert.match(r.stdout, /^FAIL worker checks: no worker is registered on queue /m);
    console.log(`FIGURE: doctor with no worker registered: ${r.seconds.toFixed(2)} s`);
    assert.equal(await jobsLeft(redis.url, queue), 0, 'no probe job is left waiting');

    // A worker of another protocol version: named, and no probe is sent, since it takes none
    // of this gateway's jobs.
    const unregisterOld = await registerWorker(redis.url, queue, {
      id: 'old-mac-4242-beef',
      host: 'old-mac',
      pid: 4242,
      protocol: 2,
      version: '0.0.1',
    });
    try {
      const old = await doctor(box, []);
      assert.equal(old.code, 1, old.stdout);
      assertLineShape(old.stdout);
      assert.match(
        old.stdout,
        new RegExp(
          String.raw`^FAIL workers: worker old-mac \(pid 4242\) runs Proxima 0\.0\.1 speaking protocol 2; the gateway speaks ${PROTOCOL_VERSION}, so it encodes none of its jobs -> update Proxima on old-mac to \S+, or stop that worker$`,
          'm',
        ),
      );
      assert.match(
        old.stdout,
        new RegExp(
          String.raw`^FAIL worker checks: no worker of protocol ${PROTOCOL_VERSION} is registered on queue \S+ \(1 of another version\) -> start one with \`proxima work\``,
          'm',
        ),
      );

      // A worker killed a moment ago is still registered (until its entry expires) but answers
      // nothing: the probe times out with the fix, and is not left for a worker that comes later.
      const unregisterDead = await registerWorker(redis.url, queue, {
        id: 'gone-1234-dead',
        host: 'gone',
        pid: 1234,
        protocol: PROTOCOL_VERSION,
        version: '0.1.0',
      });
      try {
        const dead = await doctor(box, ['--timeout', '2']);
        assert.equal(dead.code, 1, dead.stdout);
        assertLineShape(dead.stdout);
        assert.match(dead.stdout, /^OK {3}workers: 1 registered on queue /m);
        assert.match(
          dead.stdout,
          /^FAIL worker checks: no worker answered within 2 s -> start one with `proxima work` or check the autoscaler$/m,
        );
        console.log(
          `FIGURE: doctor waiting for a probe nobody takes (--timeout 2): ${dead.seconds.toFixed(2)} s`,
        );
        assert.equal(await jobsLeft(redis.url, queue), 0, 'the unanswered probe was removed');
      } finally {
        await unregisterDead();
      }
    } finally {
      await unregisterOld();
    }
  } finally {
    await stop(stack);
  }
});

test('a worker that cannot see the media, then one whose proxy root is read-only', async () => {
  const queue = `doctor-mounts-${process.pid}`;
  const box = await sandbox(queue);
  const media = path.join(box.root, 'media');
  const clip = await makeClip(media, 'C001', 'h264-stereo');
  mkdirSync(box.proxyRoot, { recursive: true });
  const stack = await up(box, 0);
  try {
    const blind = startNamespacedWorker(box.env, [{ path: media }]);
    try {
      await blind.waitFor(/worker ready/);
      await workersRegistered(box, 1);
      const r = await doctor(box, [media]);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assertLineShape(r.stdout);
      assert.match(
        r.stdout,
        new RegExp(
          `^FAIL source: ${esc(clip)} is not visible on worker \\S+: mount the media there at this path, or map it with paths\\.mappings -> `,
          'm',
        ),
      );
      assert.match(r.stdout, /^OK {3}encoders: /m);
      assert.match(r.stdout, /^OK {3}proxy root: /m);
      assert.doesNotMatch(r.stdout, /^OK {3}sources:/m);
    } finally {
      await stopWorker(blind);
    }

    const readOnly = startNamespacedWorker(box.env, [{ path: box.proxyRoot, readOnly: true }]);
    try {
      await readOnly.waitFor(/worker ready/);
      await workersRegistered(box, 1);
      const r = await doctor(box, [media]);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assertLineShape(r.stdout);
      assert.match(r.stdout, /^OK {3}sources: 1 source visible and readable on worker \S+$/m);
      assert.match(
        r.stdout,
        new RegExp(
          `^FAIL proxy root: proxy root ${esc(box.proxyRoot)} is read-only on worker \\S+: mount it read-write there, or set paths\\.proxy_root -> mount the proxy volume read-write for the worker, or set paths\\.proxy_root in the gateway config$`,
          'm',
        ),
      );
    } finally {
      await stopWorker(readOnly);
    }
  } finally {
    await stop(stack);
  }
});

test('the decisions behind the lines: encoders, estimates, samples, when a probe is not sent', async () => {
  const { execFileSync } = await import('node:child_process');
  const { locateFfmpeg } = await import('../core/ffmpeg/locate.ts');
  const { parseEncoders, estimateProxyBytes } = await import('../encoder-image/probe-checks.ts');
  const { sampleSources } = await import('../cli/doctor/sample.ts');
  const { estimateBatchBytes, spaceLine } = await import('../cli/doctor/estimate.ts');
  const { whyNotSent } = await import('../gateway/routes/probes.ts');
  const { gatewayVersionLine } = await import('../cli/doctor/stack-checks.ts');
  const { PRESETS } = await import('../core/presets/presets.ts');

  // The bundled ffmpeg's own list has both encoders; a build without dnxhd is told apart.
  const ffmpeg = locateFfmpeg('', process.env.PATH).path;
  const listed = parseEncoders(execFileSync(ffmpeg, ['-hide_banner', '-encoders']).toString());
  assert.ok(listed.has('prores_ks') && listed.has('dnxhd') && listed.has('pcm_s16le'));
  const partial = parseEncoders(
    'Encoders:\n V..... = Video\n ------\n V....D prores_ks   Apple ProRes (iCodec Pro) (codec prores)\n',
  );
  assert.deepEqual([...partial], ['prores_ks']);

  // 720p25 ProRes Proxy for a minute with stereo: 0.9 bit per pixel plus 48 kHz 24-bit PCM.
  const media = {
    formatName: 'mov',
    durationSec: 60,
    video: {
      index: 0,
      codec: 'h264',
      width: 1920,
      height: 1080,
      sar: [1, 1] as const,
      pixFmt: 'yuv420p',
      bitDepth: 8,
      chroma: '420',
      fieldOrder: 'progressive' as const,
      frameRate: [25, 1] as const,
      vfr: false,
      frameCount: 1500,
      rotation: 0 as const,
      colorRange: 'tv' as const,
      colorPrimaries: null,
      colorTransfer: null,
      colorSpace: null,
    },
    audio: [{ index: 1, codec: 'aac', channels: 2, sampleRate: 48000 }],
    timecode: null,
    isStill: false,
  };
  assert.equal(
    estimateProxyBytes(media, PRESETS['prores-proxy']),
    (1280 * 720 * 25 * 0.9 * 60) / 8 + 2 * 48000 * 3 * 60,
  );

  const at = (p: string) => ({ path: p });
  assert.deepEqual(
    sampleSources(['/a/1', '/a/2', '/a/3', '/b/1', '/c/1', '/c/2'].map(at), 4).map((s) => s.path),
    ['/a/1', '/b/1', '/c/1', '/a/2'],
  );
  assert.equal(
    estimateBatchBytes([{ size: 100, estimatedProxyBytes: 50 }, { size: 100 }], {
      count: 10,
      bytes: 1000,
    }),
    500,
  );
  assert.equal(estimateBatchBytes([{ size: 100 }], { count: 1, bytes: 100 }), null);
  assert.equal(spaceLine('/p', 'h', 99, 100, 'prores-proxy').status, 'FAIL');
  assert.equal(spaceLine('/p', 'h', 110, 100, 'prores-proxy').status, 'WARN');
  assert.equal(spaceLine('/p', 'h', 500, 100, 'prores-proxy').status, 'OK');
  assert.equal(spaceLine('/p', 'h', null, 100, 'prores-proxy').status, 'WARN');

  const worker = (current: number) => ({
    id: 'w',
    host: 'h',
    pid: 1,
    version: '1',
    protocol: PROTOCOL_VERSION,
    concurrency: 2,
    startedAt: 0,
    current: Array.from({ length: current }, (_, i) => ({ jobId: `j${i}`, source: '/s' })),
    seenAt: 0,
  });
  assert.equal(whyNotSent([], true, 'q'), null, 'an autoscaler starts a worker for the probe');
  assert.equal(whyNotSent([], false, 'q')?.outcome, 'no-worker');
  assert.equal(whyNotSent([worker(2)], false, 'q')?.outcome, 'busy');
  assert.equal(whyNotSent([worker(2), worker(1)], false, 'q'), null);
  assert.equal(
    whyNotSent([{ ...worker(0), protocol: 2 }], false, 'q')?.outcome,
    'no-worker',
    'a worker of another protocol takes none of these jobs',
  );

  const health = (version: string, protocol: number) => ({ ok: true, version, protocol });
  const { PROXIMA_VERSION } = await import('../core/version.ts');
  assert.equal(gatewayVersionLine('u', health(PROXIMA_VERSION, PROTOCOL_VERSION)).status, 'OK');
  assert.equal(gatewayVersionLine('u', health('0.0.1', PROTOCOL_VERSION)).status, 'WARN');
  assert.equal(
    gatewayVersionLine('u', health(PROXIMA_VERSION, PROTOCOL_VERSION - 1)).status,
    'FAIL',
  );
});

test('no gateway: the gateway FAILs with the fix and worker checks are not run; --resolve checks Resolve', async () => {
  const { installScene } = await import('./helpers/resolve-scene.ts');
  const box = await sandbox(`doctor-down-${process.pid}`);
  const scene = installScene({
    current_project: 'Feature',
    projects: {
      Feature: {
        current_timeline: 'Edit',
        timelines: [{ name: 'Edit', video_tracks: [] }],
        clips: {},
      },
    },
  });
  const r = await runCli(['doctor', '--resolve'], { env: { ...box.env, ...scene.env } });
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  assertLineShape(r.stdout);
  assert.match(
    r.stdout,
    new RegExp(`^OK {3}broker: reachable at redis://127\\.0\\.0\\.1:${redis.port}$`, 'm'),
  );
  assert.match(
    r.stdout,
    /^FAIL gateway: gateway not reachable at http:\/\/127\.0\.0\.1:\d+ -> start the local stack with `proxima up`, or set gateway\.url$/m,
  );
  assert.match(r.stdout, /^FAIL worker checks: not run: they need the gateway and its broker -> /m);
  assert.match(r.stdout, /^OK {3}resolve: \S.*, project Feature, timeline Edit$/m);

  // Resolve not running: the bridge's own error and fix.
  scene.write({ ...scene.read(), resolve_running: false } as never);
  const off = await runCli(['doctor', '--resolve'], { env: { ...box.env, ...scene.env } });
  assert.equal(off.code, 1);
  assert.match(off.stdout, /^FAIL resolve: .+ -> .+$/m);
});
