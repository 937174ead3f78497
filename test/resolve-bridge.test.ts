import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, test } from 'node:test';
import { pino } from 'pino';
import type { ResolveEnv } from '../core/config/load.ts';
import { configSchema } from '../core/config/schema.ts';
import { isProximaError } from '../core/errors.ts';
import { openResolveBridge, type ResolveBridge } from '../cli/resolve/bridge-client.ts';
import { bridgeLaunch } from '../cli/resolve/locate-python.ts';
import { clipProperties, installScene, type Scene } from './helpers/resolve-scene.ts';

const media = mkdtempSync(path.join(tmpdir(), 'proxima-bridge-media-'));
const proxy = path.join(media, 'A001C001.mov');
writeFileSync(proxy, 'not empty');

function scene(): Scene {
  return {
    current_project: 'Feature',
    projects: {
      Feature: {
        current_timeline: 'Edit v2',
        timelines: [
          { name: 'Edit v1', id: 'tl-1', video_tracks: [{ items: [] }] },
          {
            name: 'Edit v2',
            id: 'tl-2',
            video_tracks: [
              {
                items: [
                  { name: 'A001C001.mp4', clip: 'm-1', start: 86400, end: 86425 },
                  { name: 'Title', clip: null, start: 86425, end: 86450 },
                ],
              },
              {
                enabled: false,
                items: [{ name: 'B001C001.mp4', clip: 'm-2', start: 86400, end: 86410 }],
              },
            ],
          },
        ],
        clips: {
          'm-1': {
            name: 'A001C001.mp4',
            unique_id: 'u-1',
            folder: 'Master',
            properties: clipProperties('/media/day 1/A001C001.mp4'),
          },
          'm-2': {
            name: 'B001C001.mp4',
            unique_id: 'u-2',
            folder: 'Master/Day 2/B cam',
            refuse_link: true,
            properties: clipProperties('/media/day 2/B001C001.mp4', { Type: 'Video' }),
          },
        },
      },
      Other: { timelines: [], clips: {} },
    },
  };
}

const logger = pino({ level: 'silent' });
const saved = { ...process.env };
let open: ResolveBridge | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
  for (const k of ['PROXIMA_RESOLVE_SCENE', 'PROXIMA_RESOLVE_CALLS']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

async function bridgeFor(s: Scene, resolve: Record<string, unknown> = {}) {
  const installed = installScene(s);
  // The stand-in reads where its scene is from its environment, as Resolve's module reads its own.
  process.env.PROXIMA_RESOLVE_SCENE = installed.sceneFile;
  process.env.PROXIMA_RESOLVE_CALLS = installed.callsFile;
  const resolveEnv: ResolveEnv = {
    platform: 'linux',
    vars: { RESOLVE_SCRIPT_API: installed.scriptApi },
  };
  const config = configSchema.parse({ resolve: { timeout_seconds: 5, ...resolve } });
  const bridge = () =>
    openResolveBridge({ config, resolveEnv, searchPath: process.env.PATH ?? '', logger });
  return { installed, bridge };
}

async function failure(p: Promise<unknown>): Promise<{ code: string; hint: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(isProximaError(err), String(err));
    return { code: err.code, hint: err.hint };
  }
  assert.fail('expected an error');
}

test('hello, timelines and the current timeline as Resolve reports them', async () => {
  const { bridge } = await bridgeFor(scene());
  open = await bridge();
  assert.deepEqual(await open.hello(), {
    product: 'DaVinci Resolve Studio',
    version: '19.1.3.7',
    project: 'Feature',
    timeline: 'Edit v2',
    timelineId: 'tl-2',
  });
  assert.deepEqual(await open.listTimelines(), [
    { name: 'Edit v1', uniqueId: 'tl-1', index: 1 },
    { name: 'Edit v2', uniqueId: 'tl-2', index: 2 },
  ]);
  const tl = await open.readTimeline();
  assert.equal(tl.name, 'Edit v2');
  assert.equal(tl.project, 'Feature');
  assert.deepEqual(
    tl.videoTracks.map((t) => [t.index, t.enabled, t.items.map((i) => i.clip?.mediaId ?? null)]),
    [
      [1, true, ['m-1', null]],
      [2, false, ['m-2']],
    ],
  );
  const clip = tl.videoTracks[0]!.items[0]!.clip!;
  assert.equal(clip.uniqueId, 'u-1');
  assert.equal(clip.properties['File Path'], '/media/day 1/A001C001.mp4');
  // Every property arrives as a string, FPS included (Resolve gives a float).
  assert.equal(clip.properties.FPS, '25.0');
  assert.equal(clip.properties.Proxy, 'None');
  assert.equal((await open.readTimeline('Edit v1')).videoTracks[0]!.items.length, 0);
});

test('link and unlink call the media pool clip with the proxy path, and are recorded', async () => {
  const { installed, bridge } = await bridgeFor(scene());
  open = await bridge();
  assert.equal(await open.link('m-1', proxy, 'Feature'), true);
  // Found by walking the media pool folders, as it was not read from a timeline first.
  assert.equal(await open.link('m-2', proxy, 'Feature'), false);
  assert.equal(await open.link('m-1', path.join(media, 'missing.mov'), 'Feature'), false);
  assert.equal(await open.unlink('m-1', 'Feature'), true);
  assert.deepEqual(
    installed.calls().map((c) => [c.op, c.mediaId, c.path ?? null, c.result]),
    [
      ['LinkProxyMedia', 'm-1', proxy, true],
      ['LinkProxyMedia', 'm-2', proxy, false],
      ['LinkProxyMedia', 'm-1', path.join(media, 'missing.mov'), false],
      ['UnlinkProxyMedia', 'm-1', null, true],
    ],
  );
  const found = await open.findClips(['/media/day 2/B001C001.mp4', '/elsewhere.mov']);
  assert.deepEqual(
    found.map((c) => c.mediaId),
    ['m-2'],
  );
});

test('a link after the project changed is refused with PROJECT_CHANGED, not made', async () => {
  const { installed, bridge } = await bridgeFor(scene());
  open = await bridge();
  const s = installed.read();
  s.current_project = 'Other';
  installed.write(s);
  const err = await failure(open.link('m-1', proxy, 'Feature'));
  assert.equal(err.code, 'PROJECT_CHANGED');
  assert.deepEqual(installed.calls(), []);
});

test('each way of not reaching Resolve has its own error and fix', async () => {
  const off = scene();
  off.external_scripting = 'None';
  let r = await bridgeFor(off);
  let err = await failure(r.bridge());
  assert.equal(err.code, 'RESOLVE_NOT_RUNNING');
  assert.match(err.hint, /External scripting using: Local/);

  const notRunning = scene();
  notRunning.resolve_running = false;
  r = await bridgeFor(notRunning);
  assert.equal((await failure(r.bridge())).code, 'RESOLVE_NOT_RUNNING');

  r = await bridgeFor(scene(), { python: '/nonexistent/python3' });
  err = await failure(r.bridge());
  assert.equal(err.code, 'PYTHON_NOT_FOUND');
  assert.match(err.hint, /resolve\.python/);

  const empty = mkdtempSync(path.join(tmpdir(), 'proxima-no-resolve-'));
  r = await bridgeFor(scene(), { script_api: empty });
  err = await failure(r.bridge());
  assert.equal(err.code, 'RESOLVE_MODULE_NOT_FOUND');
  assert.match(err.hint, /resolve\.script_api/);

  const noProject = scene();
  noProject.current_project = null;
  r = await bridgeFor(noProject);
  open = await r.bridge();
  assert.equal((await failure(open.readTimeline())).code, 'NO_PROJECT');
  await open.close();

  const noTimeline = scene();
  noTimeline.projects.Feature!.current_timeline = null;
  r = await bridgeFor(noTimeline);
  open = await r.bridge();
  assert.equal((await failure(open.readTimeline())).code, 'NO_TIMELINE');
  const missing = await failure(open.readTimeline('Edit v9'));
  assert.equal(missing.code, 'TIMELINE_NOT_FOUND');
});

test('Resolve blocked by a dialog: the call times out with the fix', async () => {
  const hang = scene();
  hang.hang_seconds = 30;
  const r = await bridgeFor(hang, { timeout_seconds: 1 });
  const err = await failure(r.bridge());
  assert.equal(err.code, 'RESOLVE_TIMEOUT');
  assert.match(err.hint, /dialog/);
});

test('where the bridge looks for Python and the module, per OS', () => {
  const cfg = configSchema.parse({}).resolve;
  const which = (found: string[]) => (p: string) => (found.includes(p) ? `/usr/bin/${p}` : null);
  const mac = bridgeLaunch(cfg, { platform: 'darwin', vars: {} }, which(['python3']));
  assert.ok(!('missing' in mac));
  assert.equal(mac.python, '/usr/bin/python3');
  assert.equal(
    mac.modulesDir,
    '/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting/Modules',
  );
  assert.equal(
    mac.env.RESOLVE_SCRIPT_LIB,
    '/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so',
  );

  const win = bridgeLaunch(
    cfg,
    { platform: 'win32', vars: { PROGRAMDATA: 'C:\\ProgramData', PYTHONPATH: 'C:\\py' } },
    which(['py', 'python']),
  );
  assert.ok(!('missing' in win));
  assert.deepEqual([win.python, win.pythonArgs], ['/usr/bin/py', ['-3']]);
  assert.equal(
    win.env.PYTHONPATH,
    'C:\\ProgramData\\Blackmagic Design\\DaVinci Resolve\\Support\\Developer\\Scripting\\Modules;C:\\py',
  );
  assert.equal(
    win.env.RESOLVE_SCRIPT_LIB,
    'C:\\Program Files\\Blackmagic Design\\DaVinci Resolve\\fusionscript.dll',
  );

  const linux = bridgeLaunch(
    { ...cfg, script_lib: '/custom/fusionscript.so' },
    { platform: 'linux', vars: { RESOLVE_SCRIPT_API: '/home/resolve/Developer/Scripting' } },
    which(['python']),
  );
  assert.ok(!('missing' in linux));
  assert.equal(linux.python, '/usr/bin/python');
  assert.equal(linux.env.PYTHONPATH, '/home/resolve/Developer/Scripting/Modules');
  assert.equal(linux.env.RESOLVE_SCRIPT_LIB, '/custom/fusionscript.so');

  const configured = bridgeLaunch(
    { ...cfg, python: '/opt/py/bin/python3.11', script_api: '/srv/Scripting' },
    { platform: 'linux', vars: { RESOLVE_SCRIPT_API: '/ignored' } },
    which([]),
  );
  assert.ok(!('missing' in configured));
  assert.equal(configured.python, '/opt/py/bin/python3.11');
  assert.equal(configured.modulesDir, '/srv/Scripting/Modules');

  assert.deepEqual(bridgeLaunch(cfg, { platform: 'linux', vars: {} }, which([])), {
    missing: 'python',
    tried: ['python3', 'python'],
  });
});
