import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResolveClip, ResolveItem, ResolveTimeline } from '../cli/resolve/bridge-client.ts';
import { parseChoice } from '../cli/resolve/pick-timelines.ts';
import { matchesAny } from '../core/paths/glob.ts';
import { planLine, selectClips, type SelectOptions } from '../cli/resolve/select-clips.ts';
import { configSchema } from '../core/config/schema.ts';
import { resolveRequest } from '../cli/sources/resolve-sources.ts';

const EXTENSIONS = configSchema.parse({}).filters.extensions;

function clip(mediaId: string, file: string, props: Record<string, string> = {}): ResolveClip {
  return {
    mediaId,
    uniqueId: `u-${mediaId}`,
    name: file.split('/').at(-1) ?? file,
    properties: {
      'File Path': file,
      Type: 'Video + Audio',
      Proxy: 'None',
      'Proxy Media Path': '',
      ...props,
    },
  };
}

function item(c: ResolveClip | null, name = c?.name ?? 'Title'): ResolveItem {
  return { name, start: 0, end: 25, enabled: true, clip: c };
}

function timeline(name: string, ...tracks: ResolveItem[][]): ResolveTimeline {
  return {
    name,
    uniqueId: `id-${name}`,
    project: 'Feature',
    videoTracks: tracks.map((items, i) => ({ index: i + 1, enabled: true, items })),
  };
}

const onDisk = new Set(['/proxies/media/B002.mov']);
function options(extra: Partial<SelectOptions> = {}): SelectOptions {
  return {
    force: false,
    reencode: false,
    extensions: EXTENSIONS,
    proxyPathFor: (source) => `/proxies${source.replace(/\.[^.]+$/, '.mov')}`,
    proxyExists: (p) => onDisk.has(p),
    ...extra,
  };
}

const a001 = clip('m1', '/media/A001.mp4');
const a001Again = clip('m1b', '/media/A001.mp4'); // the same file imported twice
const b002 = clip('m2', '/media/B002.mxf'); // its proxy is on disk, not linked
const linked = clip('m3', '/media/C003.mov', {
  Proxy: '1280x720',
  'Proxy Media Path': '/proxies/media/C003.mov',
});
const offline = clip('m4', '/media/D004.mov', {
  Proxy: 'Offline',
  'Proxy Media Path': '/proxies/media/D004.mov',
});
const still = clip('m5', '/media/poster.png', { Type: 'Still' });
const sound = clip('m6', '/media/room tone.wav', { Type: 'Audio' });
const fusion = clip('m7', '', { Type: 'Fusion Composition' });
const compound = clip('m8', '', { Type: 'Compound' });
const generator = clip('m9', '', { Type: 'Generator' });
const stillByName = clip('m10', '/media/frame.tif', { Type: 'Video' });
const unknownExt = clip('m11', '/media/notes.txt', { Type: 'Video' });

const edit = timeline(
  'Edit',
  [item(a001), item(null), item(b002), item(linked), item(a001)],
  [item(offline), item(still), item(sound), item(a001Again)],
  [item(fusion), item(compound), item(generator), item(stillByName), item(unknownExt)],
);

test('clips used on video tracks, once each, with a reason for every one left out', () => {
  const plan = selectClips([edit], options());
  assert.deepEqual(
    plan.encode.map((c) => [c.mediaId, c.path, c.proxyPath]),
    [
      ['m1', '/media/A001.mp4', '/proxies/media/A001.mov'],
      // An offline proxy is encoded again.
      ['m4', '/media/D004.mov', '/proxies/media/D004.mov'],
    ],
  );
  // The second media-pool clip of A001 gets no job of its own, but the same proxy linked.
  assert.deepEqual(plan.encode[0]?.sameFile, [{ mediaId: 'm1b', name: 'A001.mp4' }]);
  assert.deepEqual(
    plan.link.map((c) => [c.mediaId, c.proxyPath]),
    [['m2', '/proxies/media/B002.mov']],
  );
  assert.deepEqual(
    plan.skipped.map((s) => [s.name, s.reason]),
    [
      ['Title', 'no media (title or generator)'],
      ['C003.mov', 'proxy linked'],
      ['poster.png', 'still image'],
      ['room tone.wav', 'audio only'],
      ['', 'generated'],
      ['', 'compound clip'],
      ['', 'generated'],
      ['frame.tif', 'still image'],
      ['notes.txt', 'not a video extension'],
    ],
  );
  assert.equal(
    planLine(plan),
    'plan: 2 to encode, 1 to link, 9 skipped (1 no media (title or generator), 1 proxy linked, ' +
      '2 still image, 1 audio only, 2 generated, 1 compound clip, 1 not a video extension)',
  );
});

test('--force encodes linked clips too; --reencode encodes what is on disk', () => {
  const forced = selectClips([edit], options({ force: true }));
  assert.deepEqual(
    forced.encode.map((c) => c.mediaId),
    ['m1', 'm2', 'm3', 'm4'],
  );
  assert.deepEqual(forced.link, []);
  const again = selectClips([edit], options({ reencode: true }));
  assert.deepEqual(
    again.encode.map((c) => c.mediaId),
    ['m1', 'm2', 'm4'],
  );
  assert.deepEqual(
    again.skipped.filter((s) => s.reason === 'proxy linked').map((s) => s.name),
    ['C003.mov'],
  );
});

test('a clip on several timelines is queued once and names them all', () => {
  const other = timeline('Trailer', [item(b002), item(a001)]);
  const plan = selectClips([edit, other], options());
  assert.deepEqual(
    plan.encode.map((c) => [c.mediaId, c.timelines]),
    [
      ['m1', ['Edit', 'Trailer']],
      ['m4', ['Edit']],
    ],
  );
  assert.deepEqual(plan.link[0]?.timelines, ['Edit', 'Trailer']);
});

test('chosen tracks only', () => {
  const plan = selectClips([edit], options({ tracks: { Edit: [2] } }));
  assert.deepEqual(
    plan.encode.map((c) => c.mediaId),
    ['m4', 'm1b'],
  );
  assert.deepEqual(
    plan.skipped.map((s) => s.reason),
    ['still image', 'audio only'],
  );
});

test('nothing to do is a plan too', () => {
  const plan = selectClips([timeline('Empty', [])], options());
  assert.deepEqual(plan, { encode: [], link: [], skipped: [] });
  assert.equal(planLine(plan), 'plan: 0 to encode, 0 to link, 0 skipped');
});

test('picker answers: numbers and ranges, empty for all, a bad part named', () => {
  assert.deepEqual(parseChoice('', 3), [1, 2, 3]);
  assert.deepEqual(parseChoice('3, 1', 3), [1, 3]);
  assert.deepEqual(parseChoice('2-4 1', 5), [1, 2, 3, 4]);
  assert.throws(() => parseChoice('0', 3), /"0" is not a number or range between 1 and 3/);
  assert.throws(() => parseChoice('2-9', 3), /"2-9"/);
  assert.throws(() => parseChoice('two', 3), /"two"/);
});

test('path globs: ** spans folders, * stays in one name, a bare pattern matches the name', () => {
  const table: [string, string, boolean][] = [
    ['**/VFX/**', '/media/VFX/shot1/a.mov', true],
    ['**/VFX/**', '/media/vfx/a.mov', false],
    ['/media/**/*.mxf', '/media/day1/cam a/A001.mxf', true],
    ['/media/**/*.mxf', '/media/A001.mxf', true],
    ['/media/*.mxf', '/media/day1/A001.mxf', false],
    ['*_graphics.mov', '/work/gfx/title_graphics.mov', true],
    ['A00?.mov', '/m/A001.mov', true],
    ['A00?.mov', '/m/A0010.mov', false],
    ['D:/Footage/**', 'D:\\Footage\\day 1\\A001.mov', true],
    ['clip (1).mov', '/m/clip (1).mov', true],
    ['(1).mov', '/m/clip (1).mov', false],
  ];
  for (const [glob, file, expected] of table) {
    assert.equal(matchesAny(file, [glob]), expected, `${glob} ~ ${file}`);
  }
});

test('filters.include and filters.exclude leave clips out with the reason', () => {
  const plan = selectClips(
    [edit],
    options({ include: ['/media/**'], exclude: ['**/B002.*', 'D004.mov'] }),
  );
  assert.deepEqual(
    plan.encode.map((c) => c.mediaId),
    ['m1'],
  );
  assert.deepEqual(
    plan.skipped.filter((s) => s.reason.startsWith('excluded')).map((s) => s.name),
    ['B002.mxf', 'D004.mov'],
  );
  const only = selectClips([edit], options({ include: ['**/D004.mov'] }));
  assert.deepEqual(
    only.encode.map((c) => c.mediaId),
    ['m4'],
  );
  assert.ok(
    only.skipped.some((s) => s.name === 'A001.mp4' && s.reason === 'not in filters.include'),
  );
});

test('the batch record names every media-pool clip: queued ones by source, found ones by proxy', () => {
  const plan = selectClips([edit], options());
  const rp = { project: 'Feature', timelines: ['Edit'], plan, offline: [], compound: null };
  // D004 did not make it into the batch (the scan left it out): no clip of it is recorded.
  const queued = new Map([['/media/A001.mp4', '/media/A001.mp4']]);
  assert.deepEqual(
    resolveRequest(rp, (p) => queued.get(p)),
    {
      project: 'Feature',
      timelines: ['Edit'],
      clips: [
        { mediaId: 'm1', name: 'A001.mp4', source: '/media/A001.mp4', timelines: ['Edit'] },
        { mediaId: 'm1b', name: 'A001.mp4', source: '/media/A001.mp4', timelines: ['Edit'] },
        {
          mediaId: 'm2',
          name: 'B002.mxf',
          source: '/media/B002.mxf',
          timelines: ['Edit'],
          proxyPath: '/proxies/media/B002.mov',
        },
      ],
    },
  );
});
