import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, test } from 'node:test';
import { pino } from 'pino';
import type { ResolveEnv } from '../core/config/load.ts';
import { configSchema } from '../core/config/schema.ts';
import { isProximaError } from '../core/errors.ts';
import {
  openResolveBridge,
  type ResolveBridge,
  type ResolveClip,
} from '../cli/resolve/bridge-client.ts';
import { bridgeLaunch } from '../cli/resolve/locate-python.ts';
import {
  installScene,
  propertiesOfType,
  sampleScene,
  type Scene,
} from './helpers/resolve-scene.ts';

const media = '/media/day 1';
const work = mkdtempSync(path.join(tmpdir(), 'proxima-bridge-'));
const proxy = path.join(work, 'A001C001.mov');
writeFileSync(proxy, 'a finished proxy');

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

/** The scene installed like Resolve's module, and a way to open a bridge to it. */
function standIn(s: Scene, resolve: Record<string, unknown> = {}, scriptApi?: string) {
  const installed = installScene(s);
  // The stand-in finds its scene through its environment, which the bridge inherits.
  process.env.PROXIMA_RESOLVE_SCENE = installed.sceneFile;
  process.env.PROXIMA_RESOLVE_CALLS = installed.callsFile;
  const resolveEnv: ResolveEnv = {
    platform: process.platform,
    vars: { RESOLVE_SCRIPT_API: scriptApi ?? installed.scriptApi },
  };
  const config = configSchema.parse({ resolve: { timeout_seconds: 5, ...resolve } });
  const bridge = () =>
    openResolveBridge({ config, resolveEnv, searchPath: process.env.PATH ?? '', logger });
  return { installed, bridge };
}

async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    assert.ok(isProximaError(err), String(err));
    return { code: err.code, message: err.message, hint: err.hint };
  }
  assert.fail('expected an error');
}

function stringProps(props: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(props).map(([k, v]) => [k, typeof v === 'number' ? v.toFixed(1) : v]),
  );
}

function expectedClip(s: Scene, mediaId: string): ResolveClip {
  const clip = s.projects.Feature!.clips[mediaId]!;
  return {
    mediaId,
    uniqueId: clip.unique_id!,
    name: clip.name,
    properties: stringProps(clip.properties),
  };
}

test('hello, the timelines and a timeline item by item, as Resolve reports them', async () => {
  const s = sampleScene(media);
  const { bridge } = standIn(s);
  open = await bridge();
  assert.deepEqual(await open.hello(), {
    product: 'DaVinci Resolve Studio',
    version: '19.1.3.7',
    project: 'Feature',
    timeline: 'Edit',
    timelineId: 'tl-edit',
  });
  assert.deepEqual(await open.listTimelines(), [
    { name: 'Edit', uniqueId: 'tl-edit', index: 1 },
    { name: 'Trailer', uniqueId: 'tl-trailer', index: 2 },
  ]);
  const clip = (id: string) => expectedClip(s, id);
  assert.deepEqual(await open.readTimeline(), {
    name: 'Edit',
    uniqueId: 'tl-edit',
    project: 'Feature',
    videoTracks: [
      {
        index: 1,
        enabled: true,
        items: [
          { name: 'A001C001.mp4', start: 86400, end: 86425, enabled: true, clip: clip('m-a') },
          { name: 'Title', start: 86425, end: 86450, enabled: true, clip: null },
          { name: 'B001C001.mxf', start: 86450, end: 86475, enabled: true, clip: clip('m-b') },
          { name: 'poster.png', start: 86475, end: 86500, enabled: true, clip: clip('m-still') },
        ],
      },
      {
        index: 2,
        enabled: false,
        items: [
          {
            name: 'Compound Clip 1',
            start: 86400,
            end: 86450,
            enabled: true,
            clip: clip('m-compound'),
          },
          {
            name: 'Solid Color',
            start: 86450,
            end: 86460,
            enabled: true,
            clip: clip('m-generator'),
          },
          {
            name: 'Fusion Composition',
            start: 86460,
            end: 86470,
            enabled: true,
            clip: clip('m-fusion'),
          },
          { name: 'A001C001.mp4', start: 86470, end: 86480, enabled: false, clip: clip('m-a') },
        ],
      },
    ],
  });
  const a = clip('m-a').properties;
  // Resolve gives FPS as a float; the bridge hands every value on as a string.
  assert.equal(a.FPS, '25.0');
  assert.equal(a['File Path'], path.join(media, 'A001C001.mp4'));
  assert.equal(a.Proxy, 'None');
  assert.deepEqual(
    ['m-b', 'm-still', 'm-compound', 'm-generator', 'm-fusion'].map((id) => [
      clip(id).properties.Type,
      clip(id).properties['File Path'] === '',
    ]),
    [
      ['Video', false],
      ['Still', false],
      ['Compound', true],
      ['Generator', true],
      ['Fusion Composition', true],
    ],
  );
  const trailer = await open.readTimeline('Trailer');
  assert.deepEqual(
    trailer.videoTracks.map((t) => t.items.map((i) => i.clip?.mediaId)),
    [['m-c']],
  );
});

test('an older Resolve without GetUniqueId and GetClipEnabled: ids are null, items enabled', async () => {
  const s = sampleScene(media);
  s.version = '17.4.6.4';
  const { bridge } = standIn(s);
  open = await bridge();
  const hello = await open.hello();
  assert.equal(hello.timelineId, null);
  assert.deepEqual(
    (await open.listTimelines()).map((t) => t.uniqueId),
    [null, null],
  );
  const tl = await open.readTimeline();
  assert.equal(tl.uniqueId, null);
  assert.deepEqual(
    tl.videoTracks[1]!.items.map((i) => i.enabled),
    [true, true, true, true],
  );
});

test('link and unlink reach the media pool clip, are recorded, and the next command sees them', async () => {
  const s = sampleScene(media);
  s.projects.Feature!.clips['m-b']!.refuse_link = true;
  const { installed, bridge } = standIn(s);
  open = await bridge();
  await open.readTimeline();
  assert.equal(await open.link('m-a', proxy, 'Feature'), true);
  // Not on the timeline read: found by walking the media pool's folders.
  assert.equal(await open.link('m-c', proxy, 'Feature'), true);
  assert.equal(await open.link('m-b', proxy, 'Feature'), false);
  await open.close();

  open = await bridge();
  const tl = await open.readTimeline();
  const a = tl.videoTracks[0]!.items[0]!.clip!;
  assert.deepEqual([a.properties.Proxy, a.properties['Proxy Media Path']], ['1280x720', proxy]);
  assert.equal(await open.unlink('m-a', 'Feature'), true);
  assert.equal(await open.unlink('m-a', 'Feature'), false);
  assert.deepEqual(
    installed.calls().map((c) => [c.op, c.mediaId, c.path ?? null, c.project, c.result]),
    [
      ['LinkProxyMedia', 'm-a', proxy, 'Feature', true],
      ['LinkProxyMedia', 'm-c', proxy, 'Feature', true],
      ['LinkProxyMedia', 'm-b', proxy, 'Feature', false],
      ['UnlinkProxyMedia', 'm-a', null, 'Feature', true],
      ['UnlinkProxyMedia', 'm-a', null, 'Feature', false],
    ],
  );
  const props = installed.read().projects.Feature!.clips['m-a']!.properties;
  assert.deepEqual([props.Proxy, props['Proxy Media Path']], ['None', '']);

  const err = await failure(open.link('m-gone', proxy, 'Feature'));
  assert.equal(err.code, 'CLIP_NOT_FOUND');
});

test('Resolve refuses a link to a proxy that is missing, empty, unfinished or not a .mov', async () => {
  const { installed, bridge } = standIn(sampleScene(media));
  open = await bridge();
  const empty = path.join(work, 'empty.mov');
  writeFileSync(empty, '');
  const mp4 = path.join(work, 'A001C001.mp4');
  writeFileSync(mp4, 'a proxy with the wrong container');
  // ftyp, then an mdat whose size runs past the end, and no moov yet: still being written.
  const partial = path.join(work, 'partial.mov');
  const atom = (size: number, type: string) => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(size);
    b.write(type, 4, 'latin1');
    return b;
  };
  writeFileSync(
    partial,
    Buffer.concat([atom(16, 'ftyp'), Buffer.from('qt  \0\0\0\0'), atom(4096, 'mdat')]),
  );
  const whole = path.join(work, 'whole.mov');
  writeFileSync(
    whole,
    Buffer.concat([atom(16, 'ftyp'), Buffer.from('qt  \0\0\0\0'), atom(8, 'moov')]),
  );
  for (const p of [path.join(work, 'missing.mov'), empty, mp4, partial, 'relative/A001.mov']) {
    assert.equal(await open.link('m-a', p, 'Feature'), false, p);
  }
  assert.equal(await open.link('m-a', whole, 'Feature'), true);
  assert.deepEqual(
    installed.calls().map((c) => c.result),
    [false, false, false, false, false, true],
  );

  const busy = sampleScene(media);
  busy.project_manager_open = true;
  await open.close();
  open = await standIn(busy).bridge();
  assert.equal(await open.link('m-a', whole, 'Feature'), false);
});

test('a link after the project changed is refused with PROJECT_CHANGED and not made', async () => {
  const { installed, bridge } = standIn(sampleScene(media));
  open = await bridge();
  await open.readTimeline();
  const s = installed.read();
  s.current_project = 'Other';
  installed.write(s);
  const err = await failure(open.link('m-a', proxy, 'Feature'));
  assert.equal(err.code, 'PROJECT_CHANGED');
  assert.match(err.message, /"Other", not "Feature"/);
  assert.deepEqual(installed.calls(), []);
  assert.equal((await failure(open.unlink('m-a', 'Feature'))).code, 'PROJECT_CHANGED');
});

test('findClips matches media pool clips by file path', async () => {
  const { bridge } = standIn(sampleScene(media));
  open = await bridge();
  const found = await open.findClips([
    path.join(media, 'B001C001.mxf'),
    `${media}//./C001C001.mov`,
    '/elsewhere/A001C001.mp4',
    '',
  ]);
  assert.deepEqual(
    found.map((c) => [c.mediaId, c.name]),
    [
      ['m-b', 'B001C001.mxf'],
      ['m-c', 'C001C001.mov'],
    ],
  );
  assert.equal(found[0]!.properties.Type, 'Video');
});

test('each way of not reaching Resolve has its own error and fix', async () => {
  const off = sampleScene(media);
  off.external_scripting = 'None';
  let err = await failure(standIn(off).bridge());
  assert.equal(err.code, 'RESOLVE_NOT_RUNNING');
  assert.match(err.hint, /Preferences > System > General > External scripting using: Local/);

  const notRunning = sampleScene(media);
  notRunning.resolve_running = false;
  assert.equal((await failure(standIn(notRunning).bridge())).code, 'RESOLVE_NOT_RUNNING');

  err = await failure(standIn(sampleScene(media), { python: '/nonexistent/python3' }).bridge());
  assert.equal(err.code, 'PYTHON_NOT_FOUND');
  assert.match(err.message, /\/nonexistent\/python3/);
  assert.match(err.hint, /64-bit Python 3.*resolve\.python/);

  err = await failure(standIn(sampleScene(media), { python: 'no-such-python9' }).bridge());
  assert.equal(err.code, 'PYTHON_NOT_FOUND');
  assert.match(err.message, /no-such-python9/);

  const empty = mkdtempSync(path.join(tmpdir(), 'proxima-no-resolve-'));
  err = await failure(standIn(sampleScene(media), { script_api: empty }).bridge());
  assert.equal(err.code, 'RESOLVE_MODULE_NOT_FOUND');
  assert.ok(err.message.includes(path.join(empty, 'Modules')), err.message);
  assert.match(err.hint, /DaVinci Resolve Studio.*resolve\.script_api/);

  const noProject = sampleScene(media);
  noProject.current_project = null;
  err = await failure(standIn(noProject).bridge());
  assert.equal(err.code, 'NO_PROJECT');
  assert.match(err.hint, /open a project/);

  const noTimeline = sampleScene(media);
  noTimeline.projects.Feature!.current_timeline = null;
  open = await standIn(noTimeline).bridge();
  assert.equal((await open.hello()).timeline, null);
  err = await failure(open.readTimeline());
  assert.equal(err.code, 'NO_TIMELINE');
  assert.match(err.hint, /open a timeline/);
  err = await failure(open.readTimeline('Edit v9'));
  assert.equal(err.code, 'TIMELINE_NOT_FOUND');
  assert.match(err.message, /"Edit v9".*"Edit", "Trailer"/);
});

/** A Modules folder holding `source` as DaVinciResolveScript.py. */
function fakeModule(source: string): string {
  const api = mkdtempSync(path.join(tmpdir(), 'proxima-fake-api-'));
  mkdirSync(path.join(api, 'Modules'));
  writeFileSync(path.join(api, 'Modules', 'DaVinciResolveScript.py'), source);
  return api;
}

test('a module that fails to load is named with Python’s reason and a fix that fits it', async () => {
  const s = sampleScene(media);
  let api = fakeModule('import sys\nsys.exit("Unable to find module fusionscript")\n');
  let err = await failure(standIn(s, {}, api).bridge());
  assert.equal(err.code, 'RESOLVE_MODULE_NOT_FOUND');
  assert.match(err.message, /SystemExit: Unable to find module fusionscript/);

  api = fakeModule('raise ModuleNotFoundError("No module named \'imp\'")\n');
  err = await failure(standIn(s, {}, api).bridge());
  assert.equal(err.code, 'RESOLVE_MODULE_NOT_FOUND');
  assert.match(err.hint, /Python 3\.11 or older/);
});

test('a module that prints to stdout does not disturb the bridge', async () => {
  const standin = readFileSync(
    new URL('./resolve-standin/DaVinciResolveScript.py', import.meta.url),
    'utf8',
  );
  const api = fakeModule(
    `import os\nprint("fusionscript says hello")\nos.write(1, b"and so does its C code\\n")\n${standin}`,
  );
  const { bridge } = standIn(sampleScene(media), {}, api);
  open = await bridge();
  assert.equal((await open.hello()).project, 'Feature');
  assert.equal((await open.readTimeline()).videoTracks.length, 2);
});

test('Resolve blocked by a dialog: the call times out with the fix, at start or mid-command', async () => {
  const atStart = sampleScene(media);
  atStart.hang_seconds = 30;
  let started = Date.now();
  let err = await failure(standIn(atStart, { timeout_seconds: 1 }).bridge());
  assert.equal(err.code, 'RESOLVE_TIMEOUT');
  assert.match(err.hint, /dialog.*resolve\.timeout_seconds/);
  // Well under the 30 s the stand-in hangs: the timeout ended it.
  assert.ok(Date.now() - started < 10_000);

  const midway = sampleScene(media);
  midway.hang_calls = { LinkProxyMedia: 30 };
  // Long enough for Python to start on a busy machine; far shorter than the hang.
  open = await standIn(midway, { timeout_seconds: 5 }).bridge();
  err = await failure(open.link('m-a', proxy, 'Feature'));
  assert.equal(err.code, 'RESOLVE_TIMEOUT');
  assert.match(err.message, /link/);
  started = Date.now();
  await open.close();
  open = undefined;
  // A bridge stuck in Resolve is stopped, not waited for (closing otherwise waits 2 s).
  assert.ok(Date.now() - started < 1500);
});

test('the stand-in answers like Resolve: 1-based indexes, None on failure, dir() not hasattr()', () => {
  const { installed } = standIn(sampleScene(media));
  const script = `
import json, DaVinciResolveScript as dvr
r = dvr.scriptapp("Resolve")
p = r.GetProjectManager().GetCurrentProject()
tl = p.GetTimelineByIndex(1)
item = tl.GetItemListInTrack("video", 1)[0]
clip = item.GetMediaPoolItem()
print(json.dumps([
  p.GetTimelineByIndex(0), p.GetTimelineByIndex(3) is None, tl.GetName(),
  tl.GetItemListInTrack("video", 0), tl.GetTrackCount("video"), tl.GetTrackCount("audio"),
  tl.GetIsTrackEnabled("video", 2), hasattr(tl, "NoSuchMethod"), tl.NoSuchMethod(1),
  "NoSuchMethod" in dir(tl), "GetItemListInTrack" in dir(tl),
  type(clip.GetClipProperty()["FPS"]).__name__, clip.GetClipProperty("FPS"),
  clip.GetClipProperty("Type"), tl.GetItemListInTrack("video", 1)[1].GetMediaPoolItem(),
  dvr.scriptapp("Fusion"), r.GetVersion(), p.GetSetting("timelineFrameRate"),
  item.GetSourceStartFrame(), item.GetDuration(),
]))
`;
  const out = execFileSync('python3', ['-c', script], {
    env: { ...process.env, PYTHONPATH: path.join(installed.scriptApi, 'Modules') },
    encoding: 'utf8',
  });
  assert.deepEqual(JSON.parse(out), [
    null,
    true,
    'Edit',
    null,
    2,
    1,
    false,
    true,
    null,
    false,
    true,
    'float',
    '25.0',
    'Video + Audio',
    null,
    null,
    [19, 1, 3, 7, ''],
    '25',
    0,
    25,
  ]);
});

test('where the bridge looks for Python and the module, per OS', () => {
  const cfg = configSchema.parse({}).resolve;
  const which = (found: string[]) => (p: string) => (found.includes(p) ? `/usr/bin/${p}` : null);
  const none = () => false;
  const cases: {
    os: string;
    launch: ReturnType<typeof bridgeLaunch>;
    want: { python: string; args: string[]; api: string; lib: string; pythonPath: string };
  }[] = [
    {
      os: 'macOS, python3 on PATH',
      launch: bridgeLaunch(cfg, { platform: 'darwin', vars: {} }, which(['python3']), none),
      want: {
        python: '/usr/bin/python3',
        args: [],
        api: '/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting',
        lib: '/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so',
        pythonPath:
          '/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting/Modules',
      },
    },
    {
      os: 'Windows, py launcher, PYTHONPATH kept after Modules',
      launch: bridgeLaunch(
        cfg,
        { platform: 'win32', vars: { PROGRAMDATA: 'D:\\ProgramData', PYTHONPATH: 'C:\\py' } },
        which(['py', 'python']),
        none,
      ),
      want: {
        python: '/usr/bin/py',
        args: ['-3'],
        api: 'D:\\ProgramData\\Blackmagic Design\\DaVinci Resolve\\Support\\Developer\\Scripting',
        lib: 'C:\\Program Files\\Blackmagic Design\\DaVinci Resolve\\fusionscript.dll',
        pythonPath:
          'D:\\ProgramData\\Blackmagic Design\\DaVinci Resolve\\Support\\Developer\\Scripting\\Modules;C:\\py',
      },
    },
    {
      os: 'Windows, only python',
      launch: bridgeLaunch(cfg, { platform: 'win32', vars: {} }, which(['python']), none),
      want: {
        python: '/usr/bin/python',
        args: [],
        api: 'C:\\ProgramData\\Blackmagic Design\\DaVinci Resolve\\Support\\Developer\\Scripting',
        lib: 'C:\\Program Files\\Blackmagic Design\\DaVinci Resolve\\fusionscript.dll',
        pythonPath:
          'C:\\ProgramData\\Blackmagic Design\\DaVinci Resolve\\Support\\Developer\\Scripting\\Modules',
      },
    },
    {
      os: 'Linux, /opt/resolve by default',
      launch: bridgeLaunch(
        cfg,
        { platform: 'linux', vars: {} },
        which(['python3', 'python']),
        none,
      ),
      want: {
        python: '/usr/bin/python3',
        args: [],
        api: '/opt/resolve/Developer/Scripting',
        lib: '/opt/resolve/libs/Fusion/fusionscript.so',
        pythonPath: '/opt/resolve/Developer/Scripting/Modules',
      },
    },
    {
      os: 'Linux, installed in /home/resolve',
      launch: bridgeLaunch(
        cfg,
        { platform: 'linux', vars: {} },
        which(['python']),
        (p) => p === '/home/resolve/Developer/Scripting',
      ),
      want: {
        python: '/usr/bin/python',
        args: [],
        api: '/home/resolve/Developer/Scripting',
        lib: '/home/resolve/libs/Fusion/fusionscript.so',
        pythonPath: '/home/resolve/Developer/Scripting/Modules',
      },
    },
    {
      os: 'Linux, RESOLVE_SCRIPT_API and RESOLVE_SCRIPT_LIB set',
      launch: bridgeLaunch(
        cfg,
        {
          platform: 'linux',
          vars: { RESOLVE_SCRIPT_API: '/srv/api', RESOLVE_SCRIPT_LIB: '/srv/fusionscript.so' },
        },
        which(['python3']),
        () => true,
      ),
      want: {
        python: '/usr/bin/python3',
        args: [],
        api: '/srv/api',
        lib: '/srv/fusionscript.so',
        pythonPath: '/srv/api/Modules',
      },
    },
    {
      os: 'config keys over the environment; a bare resolve.python is looked up on PATH',
      launch: bridgeLaunch(
        { ...cfg, python: 'python3.11', script_api: '/cfg/api', script_lib: '/cfg/lib.so' },
        { platform: 'linux', vars: { RESOLVE_SCRIPT_API: '/env/api', RESOLVE_SCRIPT_LIB: '/x' } },
        which(['python3.11', 'python3']),
        none,
      ),
      want: {
        python: '/usr/bin/python3.11',
        args: [],
        api: '/cfg/api',
        lib: '/cfg/lib.so',
        pythonPath: '/cfg/api/Modules',
      },
    },
  ];
  for (const { os, launch, want } of cases) {
    assert.ok(!('missing' in launch), os);
    assert.deepEqual(
      {
        python: launch.python,
        args: launch.pythonArgs,
        api: launch.env.RESOLVE_SCRIPT_API,
        lib: launch.env.RESOLVE_SCRIPT_LIB,
        pythonPath: launch.env.PYTHONPATH,
      },
      want,
      os,
    );
  }
  const configured = bridgeLaunch(
    { ...cfg, python: '/opt/py/bin/python3' },
    { platform: 'darwin', vars: {} },
    which([]),
    none,
  );
  assert.ok(!('missing' in configured));
  assert.equal(configured.python, '/opt/py/bin/python3');

  assert.deepEqual(bridgeLaunch(cfg, { platform: 'linux', vars: {} }, which([]), none), {
    missing: 'python',
    tried: ['python3', 'python'],
  });
  assert.deepEqual(bridgeLaunch(cfg, { platform: 'win32', vars: {} }, which([]), none), {
    missing: 'python',
    tried: ['py', 'python', 'python3'],
  });
  assert.deepEqual(
    bridgeLaunch({ ...cfg, python: 'python9' }, { platform: 'linux', vars: {} }, which([]), none),
    { missing: 'python', tried: ['python9'] },
  );
});
