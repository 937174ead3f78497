import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { LINK_REFUSED_CAUSES } from '../cli/resolve/link-proxies.ts';
import { configSchema } from '../core/config/schema.ts';
import { proxyPathFor } from '../core/paths/proxy-path.ts';
import { startGateway } from '../gateway/server.ts';
import {
  BIN,
  cliSandbox,
  killCli,
  runCli,
  startCli,
  type CliSandbox,
  type RunningCli,
} from './helpers/cli-run.ts';
import { makeClip } from './helpers/cli-media.ts';
import { silentLogger } from './helpers/gateway-fixture.ts';
import { probeFile } from './helpers/media.ts';
import { startProxyWorker } from './helpers/proxy-worker.ts';
import { freePort, startRedis, type TestRedis } from './helpers/redis.ts';
import { clipProperties, installScene, type InstalledScene } from './helpers/resolve-scene.ts';

let redis: TestRedis;
let box: CliSandbox;
let up: RunningCli;
let scene: InstalledScene;
/** The batch `queue --resolve` made, whose record says which clip each proxy is for. */
let resolveBatch = '';
const files: Record<string, string> = {};

before(async () => {
  redis = await startRedis();
  const port = await freePort();
  box = cliSandbox({
    broker: { url: redis.url, queue: `cli-resolve-${process.pid}` },
    gateway: { listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` },
    worker: { attempts: 1 },
  });
  up = startCli(['up', '--workers', '2'], { env: box.env });
  const media = path.join(box.root, 'media');
  const [a, b, c, d, e] = await Promise.all([
    makeClip(media, 'A001', 'h264-stereo'),
    makeClip(media, 'B001', 'no-audio'),
    makeClip(media, 'C001', 'h264-stereo'),
    makeClip(media, 'D001', 'h264-23976'),
    makeClip(media, 'E001', 'h264-stereo'),
  ]);
  Object.assign(files, { a, b, c, d, e });
  // E001 already has a proxy on disk that Resolve does not know about yet.
  const eProxy = proxyPathFor(e!, box.proxyRoot);
  mkdirSync(path.dirname(eProxy), { recursive: true });
  writeFileSync(eProxy, 'a proxy from an earlier run');

  scene = installScene({
    current_project: 'Feature',
    projects: {
      Feature: {
        current_timeline: 'Edit',
        timelines: [
          {
            name: 'Edit',
            id: 'tl-1',
            video_tracks: [
              {
                items: [
                  { name: 'A001', clip: 'm-a' },
                  { name: 'Title', clip: null },
                  { name: 'B001', clip: 'm-b' },
                  { name: 'poster', clip: 'm-still' },
                  { name: 'A001 imported twice', clip: 'm-a2' },
                  { name: 'Solid Color', clip: 'm-generator' },
                ],
              },
              {
                items: [
                  { name: 'C001', clip: 'm-c' },
                  { name: 'D001', clip: 'm-d' },
                  { name: 'E001', clip: 'm-e' },
                  { name: 'tone', clip: 'm-audio' },
                  { name: 'Fusion', clip: 'm-fusion' },
                  { name: 'A001 again', clip: 'm-a' },
                ],
              },
            ],
          },
          { name: 'Trailer', id: 'tl-2', video_tracks: [{ items: [{ name: 'B', clip: 'm-b' }] }] },
        ],
        clips: {
          'm-a': { name: 'A001.mov', properties: clipProperties(a!) },
          // The same file imported a second time: its own media-pool clip, the same proxy.
          'm-a2': { name: 'A001 copy.mov', folder: 'Master/Copy', properties: clipProperties(a!) },
          'm-b': { name: 'B001.mov', properties: clipProperties(b!), refuse_link: true },
          'm-c': {
            name: 'C001.mov',
            properties: clipProperties(c!, {
              Proxy: '1280x720',
              'Proxy Media Path': '/proxies/C001.mov',
            }),
          },
          'm-d': {
            name: 'D001.mov',
            properties: clipProperties(d!, {
              Proxy: 'Offline',
              'Proxy Media Path': '/gone/D001.mov',
            }),
          },
          'm-e': { name: 'E001.mov', properties: clipProperties(e!) },
          'm-still': {
            name: 'poster.png',
            properties: clipProperties(path.join(media, 'poster.png'), { Type: 'Still' }),
          },
          'm-audio': {
            name: 'tone.wav',
            properties: clipProperties(path.join(media, 'tone.wav'), { Type: 'Audio' }),
          },
          'm-generator': {
            name: 'Solid Color',
            properties: { 'File Path': '', Type: 'Generator' },
          },
          'm-fusion': {
            name: 'Fusion Composition',
            properties: { 'File Path': '', Type: 'Fusion Composition' },
          },
        },
      },
      Other: { current_timeline: null, timelines: [], clips: {} },
    },
  });
  Object.assign(box.env, scene.env);
  await up.waitFor(/gateway listening on/);
});

after(async () => {
  await killCli(up);
  await redis.stop();
});

test('queue --resolve --dry-run prints the plan and changes nothing', async () => {
  const r = await runCli(['queue', '--resolve', '--dry-run'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.deepEqual(lines, [
    'resolve: project Feature, timeline Edit',
    'plan: 3 to encode, 1 to link, 6 skipped (1 no media (title or generator), 1 still image, 2 generated, 1 proxy linked, 1 audio only)',
    `encode  ${files.a}`,
    `encode  ${files.b}`,
    `encode  ${files.d}`,
    `link    ${files.e} -> ${proxyPathFor(files.e!, box.proxyRoot)}`,
  ]);
  assert.deepEqual(scene.calls(), []);
});

test('queue --resolve encodes, links each proxy as it is done, and reports a refused link', async () => {
  const r = await runCli(['queue', '--resolve', '--wait'], { env: box.env, timeoutMs: 180_000 });
  // B001's link is refused by Resolve: reported, the others still linked, exit 1.
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /not linked B001\.mov: Resolve refused .*Project Manager window/);
  assert.match(r.stdout, /summary: 3 done, 0 failed of 3/);

  resolveBatch = /queued 3 files as batch (\S+) /.exec(r.stdout)?.[1] ?? '';
  assert.ok(resolveBatch, r.stdout);

  const calls = scene.calls();
  const byMedia = new Map(calls.map((c) => [c.mediaId, c]));
  assert.equal(calls.length, 5);
  assert.deepEqual([...byMedia.keys()].sort(), ['m-a', 'm-a2', 'm-b', 'm-d', 'm-e']);
  for (const [id, key] of [
    ['m-a', 'a'],
    ['m-a2', 'a'],
    ['m-b', 'b'],
    ['m-d', 'd'],
    ['m-e', 'e'],
  ] as const) {
    const call = byMedia.get(id)!;
    assert.equal(call.op, 'LinkProxyMedia');
    assert.equal(call.project, 'Feature');
    assert.equal(call.path, proxyPathFor(files[key]!, box.proxyRoot));
    assert.equal(call.result, id !== 'm-b');
  }
  // The existing proxy was linked before anything was queued.
  assert.equal(calls[0]?.mediaId, 'm-e');
  // The linked proxies are real: ProRes with the source's frame count.
  for (const key of ['a', 'd'] as const) {
    const proxy = await probeFile(proxyPathFor(files[key]!, box.proxyRoot));
    const source = await probeFile(files[key]!);
    assert.equal(proxy.video?.codec, 'prores');
    assert.equal(proxy.video?.frameCount, source.video?.frameCount);
  }
  const after = scene.read().projects.Feature!.clips;
  assert.equal(after['m-a']!.properties['Proxy Media Path'], proxyPathFor(files.a!, box.proxyRoot));
  assert.equal(after['m-b']!.properties['Proxy Media Path'], '');
});

test('queueing the timeline again: linked clips are skipped, the refused one is retried', async () => {
  const before = scene.calls().length;
  const r = await runCli(['queue', '--timeline', 'Edit', '--dry-run'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  // Counted per media-pool clip: both clips of A001 have their proxy linked.
  assert.match(
    r.stdout,
    /plan: 0 to encode, 1 to link, 10 skipped \(5 proxy linked, 1 no media \(title or generator\), 1 still image, 2 generated, 1 audio only\)\n/,
  );
  assert.match(r.stdout, new RegExp(`link {4}${files.b!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.equal(scene.calls().length, before);

  // Nothing to encode: the one link is tried, refused again, and reported in the JSON.
  const json = await runCli(['queue', '--timeline', 'Edit', '--json'], { env: box.env });
  assert.equal(json.code, 1, json.stderr);
  const proxy = proxyPathFor(files.b!, box.proxyRoot);
  assert.deepEqual(JSON.parse(json.stdout), {
    batch: null,
    links: [
      {
        mediaId: 'm-b',
        name: 'B001.mov',
        proxyPath: proxy,
        linked: false,
        error: `Resolve refused ${proxy} (${LINK_REFUSED_CAUSES})`,
      },
    ],
  });
});

test('Resolve unreachable: one clear error and the fix, exit 1', async () => {
  const s = scene.read();
  s.external_scripting = 'None';
  scene.write(s);
  try {
    const r = await runCli(['queue', '--resolve'], { env: box.env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: DaVinci Resolve did not answer\n/);
    assert.match(r.stderr, /hint: .*External scripting using: Local/);
  } finally {
    s.external_scripting = 'Local';
    scene.write(s);
  }
});

test('unlink removes the links; link relinks from the batch record in Redis, skipping newer plain batches', async () => {
  let before = scene.calls().length;
  const un = await runCli(['unlink'], { env: box.env });
  assert.equal(un.code, 0, `${un.stdout}\n${un.stderr}`);
  assert.deepEqual(
    scene
      .calls()
      .slice(before)
      .map((c) => [c.op, c.mediaId, c.result]),
    [
      ['UnlinkProxyMedia', 'm-a', true],
      ['UnlinkProxyMedia', 'm-a2', true],
      ['UnlinkProxyMedia', 'm-c', true],
      ['UnlinkProxyMedia', 'm-d', true],
      ['UnlinkProxyMedia', 'm-e', true],
    ],
  );

  // A newer batch of plain files has no Resolve record: `link` passes over it.
  const plain = await runCli(['queue', '--wait', files.c!], { env: box.env });
  assert.equal(plain.code, 0, plain.stderr);
  const linkCalls = () =>
    scene
      .calls()
      .slice(before)
      .map((c) => [c.mediaId, c.path, c.result]);
  const expected = [
    ['m-a', proxyPathFor(files.a!, box.proxyRoot), true],
    ['m-a2', proxyPathFor(files.a!, box.proxyRoot), true],
    ['m-b', proxyPathFor(files.b!, box.proxyRoot), false],
    ['m-d', proxyPathFor(files.d!, box.proxyRoot), true],
    ['m-e', proxyPathFor(files.e!, box.proxyRoot), true],
  ];
  for (const args of [['link'], ['link', '--batch', resolveBatch]]) {
    before = scene.calls().length;
    const r = await runCli(args, { env: box.env });
    // B001 is still refused by Resolve: reported, exit 1; the others are linked.
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `batch ${resolveBatch}: project Feature, Edit: 5 to link`);
    assert.match(r.stdout, /^not linked B001\.mov: Resolve refused .*Project Manager window/m);
    assert.equal(lines.at(-1), 'linked 4, not linked 1');
    assert.deepEqual(linkCalls(), expected);
  }

  // --timeline keeps to that timeline's clips; a timeline no batch was queued for is an error.
  const none = await runCli(['link', '--timeline', 'Trailer'], { env: box.env });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^error: no recent batch was queued from Resolve for Trailer\n/);
  const notResolve = /queued 1 file as batch (\S+) /.exec(plain.stdout)?.[1] ?? '';
  const wrong = await runCli(['link', '--batch', notResolve], { env: box.env });
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /was not queued from Resolve.*\nhint: use `proxima link --scan`/);
});

test('link refuses when another project is open in Resolve', async () => {
  const s = scene.read();
  s.current_project = 'Other';
  scene.write(s);
  const before = scene.calls().length;
  try {
    const r = await runCli(['link'], { env: box.env });
    assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stderr,
      /^error: batch \S+ was queued from project "Feature", but "Other" is open in Resolve\nhint: open "Feature" in Resolve/,
    );
    assert.equal(scene.calls().length, before);
  } finally {
    s.current_project = 'Feature';
    scene.write(s);
  }
});

test('link --scan finds proxies at their mirrored path, then by name anywhere under the root', async () => {
  const s = scene.read();
  const clips = s.projects.Feature!.clips;
  clips['m-b']!.refuse_link = false;
  // E001's proxy was moved to another folder and its link dropped.
  Object.assign(clips['m-e']!.properties, { Proxy: 'None', 'Proxy Media Path': '' });
  scene.write(s);
  const moved = path.join(box.proxyRoot, 'moved', 'E001.mov');
  mkdirSync(path.dirname(moved), { recursive: true });
  renameSync(proxyPathFor(files.e!, box.proxyRoot), moved);

  const before = scene.calls().length;
  const r = await runCli(['link', '--scan'], { env: box.env });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  // C001 has a proxy from the plain batch now; it is found at its mirrored path.
  assert.deepEqual(
    scene
      .calls()
      .slice(before)
      .map((c) => [c.mediaId, c.path, c.result]),
    [
      ['m-b', proxyPathFor(files.b!, box.proxyRoot), true],
      ['m-c', proxyPathFor(files.c!, box.proxyRoot), true],
      ['m-e', moved, true],
    ],
  );
  assert.match(r.stdout, /^linked 3, not linked 0$/m);
});

test('queue --timeline-file takes the media an exported timeline uses', async () => {
  const fcpxml = path.join(box.root, 'edit.fcpxml');
  const url = (p: string) => `file://${p.split('/').map(encodeURIComponent).join('/')}`;
  writeFileSync(
    fcpxml,
    `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.10">
  <resources>
    <format id="r1" frameDuration="1/25s" width="320" height="180"/>
    <asset id="r2" name="B001" start="0s" duration="1s" hasVideo="1" format="r1">
      <media-rep kind="original-media" src="${url(files.b!)}"/>
    </asset>
    <asset id="r3" name="Z999" start="0s" duration="1s" hasVideo="1" format="r1">
      <media-rep kind="original-media" src="${url(path.join(box.root, 'media', 'Z999.mov'))}"/>
    </asset>
  </resources>
  <library>
    <event name="Day 1">
      <project name="Edit">
        <sequence format="r1" duration="2s" tcStart="0s">
          <spine>
            <asset-clip ref="r2" offset="0s" name="B001" duration="1s"/>
            <asset-clip ref="r3" offset="1s" name="Z999" duration="1s"/>
          </spine>
        </sequence>
      </project>
    </event>
  </library>
</fcpxml>
`,
  );
  const r = await runCli(['queue', '--timeline-file', fcpxml, '--dry-run'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trimEnd().split('\n'), [
    `${fcpxml}: 2 source files (fcpxml)`,
    `note: skipped ${path.join(box.root, 'media', 'Z999.mov')} (media file missing)`,
    `encode  ${files.b}`,
  ]);
});

test('queue --select at a terminal: pick a timeline and a track; refused without a terminal', async () => {
  const piped = await runCli(['queue', '--select'], { env: box.env });
  assert.equal(piped.code, 2);
  assert.match(
    piped.stderr,
    /^error: --select asks questions, but standard input is not a terminal\n/,
  );

  // A pseudo-terminal, as an editor's shell gives: the answers are typed after each question.
  const child = spawn(
    'python3',
    [
      '-c',
      'import pty, sys; pty.spawn(sys.argv[1:])',
      process.execPath,
      BIN,
      'queue',
      '--select',
      '--dry-run',
      '--force',
    ],
    { env: box.env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  const answered = new Set<string>();
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const answer = (prompt: string, text: string) => {
      if (out.includes(prompt) && !answered.has(prompt)) {
        answered.add(prompt);
        child.stdin.write(text);
      }
    };
    answer('timelines (e.g. 1,3-4; empty: all): ', '1\n');
    answer('video tracks of Edit (empty: all): ', '2\n');
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 0, out);
  assert.match(out, /1\) Edit\r?\n {2}2\) Trailer/);
  assert.match(out, /V1: 6 items\r?\n {2}V2: 6 items/);
  // Track 2 only, with --force (every proxy is linked by now): B001, only on V1, stays out.
  assert.match(out, /plan: 4 to encode, 0 to link, 2 skipped \(1 audio only, 1 generated\)\r?\n/);
  const encoded = out.split(/\r?\n/).filter((l) => l.startsWith('encode  '));
  assert.deepEqual(encoded, [
    `encode  ${files.c}`,
    `encode  ${files.d}`,
    `encode  ${files.e}`,
    `encode  ${files.a}`,
  ]);
});

test('the clips inside a compound clip are read from an FCPXML export and queued', async () => {
  const f = await makeClip(path.join(box.root, 'media', 'nested'), 'F001', 'h264-stereo');
  const s = scene.read();
  const project = s.projects.Feature!;
  project.clips['m-f'] = { name: 'F001.mov', folder: 'Master/VFX', properties: clipProperties(f) };
  project.clips['m-comp'] = {
    name: 'Compound Clip 1',
    inner: ['m-f', 'm-a'],
    properties: { 'File Path': '', Type: 'Compound', 'Clip Name': 'Compound Clip 1' },
  };
  project.timelines.push({
    name: 'Nested',
    id: 'tl-3',
    video_tracks: [{ items: [{ name: 'Compound Clip 1', clip: 'm-comp' }] }],
  });
  scene.write(s);
  const r = await runCli(['queue', '--timeline', 'Nested', '--dry-run'], { env: box.env });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual(r.stdout.trimEnd().split('\n'), [
    'resolve: project Feature, timeline Nested',
    // A001 is in the media pool twice: both of its clips are found, both linked already.
    'plan: 1 to encode, 0 to link, 3 skipped (1 compound clip, 2 proxy linked)',
    'compound clips: 3 clips inside them, read from an FCPXML export',
    `encode  ${f}`,
  ]);
});

test('link gets the proxy as the editor sees it when the farm sees the storage elsewhere', async () => {
  // One machine plays both: the farm's folders are real, the editor's are links to them, so
  // Resolve (which checks a proxy exists) accepts only a path that exists on the editor's side.
  const farm = path.join(box.root, 'farm');
  const editor = path.join(box.root, 'editor-view');
  const farmMedia = path.join(farm, 'media');
  const farmProxies = path.join(farm, 'proxies');
  mkdirSync(farmProxies, { recursive: true });
  mkdirSync(editor, { recursive: true });
  const clip = await makeClip(farmMedia, 'M001', 'h264-stereo');
  symlinkSync(farmMedia, path.join(editor, 'Footage'));
  symlinkSync(farmProxies, path.join(editor, 'Proxies'));
  const editorClip = path.join(editor, 'Footage', 'M001.mov');

  const mapped = await startGateway({
    config: configSchema.parse({
      broker: { url: redis.url, queue: `cli-resolve-mapped-${process.pid}` },
      gateway: { listen: '127.0.0.1:0' },
      paths: {
        proxy_root: farmProxies,
        mappings: [
          { editor: path.join(editor, 'Footage'), farm: farmMedia },
          { editor: path.join(editor, 'Proxies'), farm: farmProxies },
        ],
      },
      log: { level: 'silent' },
    }),
    logger: silentLogger,
    brokerUrl: redis.url,
  });
  const worker = await startProxyWorker(redis.url, `cli-resolve-mapped-${process.pid}`, {
    id: 'mapped-farm',
  });
  const s = scene.read();
  const wasOpen = s.current_project;
  s.projects.Mapped = {
    current_timeline: 'Cut',
    timelines: [{ name: 'Cut', video_tracks: [{ items: [{ name: 'M001', clip: 'm-m' }] }] }],
    clips: { 'm-m': { name: 'M001.mov', properties: clipProperties(editorClip) } },
  };
  s.current_project = 'Mapped';
  scene.write(s);
  const env = { ...box.env, PROXIMA_GATEWAY__URL: mapped.url };
  try {
    const q = await runCli(['queue', '--resolve', '--no-wait'], { env });
    assert.equal(q.code, 0, `${q.stdout}\n${q.stderr}`);
    const batchId = /queued 1 file as batch (\S+) /.exec(q.stdout)?.[1] ?? '';
    assert.ok(batchId, q.stdout);
    const farmProxy = proxyPathFor(clip, farmProxies);
    const editorProxy = path.join(editor, 'Proxies', path.relative(farmProxies, farmProxy));
    // `queue --json` of the same file: done already, reported on both sides.
    const json = await runCli(['queue', '--wait', '--json', editorClip], {
      env,
      timeoutMs: 180_000,
    });
    assert.equal(json.code, 0, `${json.stdout}\n${json.stderr}`);
    const summary = JSON.parse(json.stdout) as { jobs: Record<string, unknown>[] };
    assert.deepEqual(
      [
        summary.jobs[0]!.source,
        summary.jobs[0]!.proxyPath,
        summary.jobs[0]!.farmSource,
        summary.jobs[0]!.farmProxyPath,
      ],
      [editorClip, editorProxy, clip, farmProxy],
    );

    const before = scene.calls().length;
    const r = await runCli(['link', '--batch', batchId], { env });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(
      scene
        .calls()
        .slice(before)
        .map((c) => [c.mediaId, c.path, c.result]),
      [['m-m', editorProxy, true]],
    );
    const proxy = await probeFile(editorProxy);
    assert.equal(proxy.video?.codec, 'prores');

    // An editor whose config maps like the gateway's finds the proxy at its mirrored path by
    // itself: the plan links it instead of encoding it, and `link --scan` links it.
    const unlinked = scene.read();
    Object.assign(unlinked.projects.Mapped!.clips['m-m']!.properties, {
      Proxy: 'None',
      'Proxy Media Path': '',
    });
    scene.write(unlinked);
    const editorEnv = {
      ...env,
      PROXIMA_PATHS__PROXY_ROOT: path.join(editor, 'Proxies'),
      PROXIMA_PATHS__MAPPINGS: JSON.stringify([
        { editor: path.join(editor, 'Footage'), farm: farmMedia },
        { editor: path.join(editor, 'Proxies'), farm: farmProxies },
      ]),
    };
    const plan = await runCli(['queue', '--resolve', '--dry-run'], { env: editorEnv });
    assert.equal(plan.code, 0, `${plan.stdout}\n${plan.stderr}`);
    assert.match(plan.stdout, /^plan: 0 to encode, 1 to link/m);
    assert.ok(plan.stdout.includes(`link    ${editorClip} -> ${editorProxy}\n`), plan.stdout);
    const scanFrom = scene.calls().length;
    const scan = await runCli(['link', '--scan'], { env: editorEnv });
    assert.equal(scan.code, 0, `${scan.stdout}\n${scan.stderr}`);
    assert.deepEqual(
      scene
        .calls()
        .slice(scanFrom)
        .map((c) => [c.mediaId, c.path, c.result]),
      [['m-m', editorProxy, true]],
    );
  } finally {
    const back = scene.read();
    back.current_project = wasOpen;
    scene.write(back);
    await worker.close();
    await mapped.close();
  }
});
