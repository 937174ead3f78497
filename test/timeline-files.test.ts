import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.ts';
import { baseName, fileUrlToPath, mediaRefToPath } from '../cli/timeline/file-url.ts';
import { parseEdl } from '../cli/timeline/parse-edl.ts';
import { parseXmeml } from '../cli/timeline/parse-xmeml.ts';
import { readTimelineFile, type TimelineSources } from '../cli/timeline/read-timeline-file.ts';
import { indexMediaRoot, matchName } from '../cli/timeline/resolve-media-root.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/timelines/', import.meta.url));
const fx = (rel: string) => path.join(FIXTURES, rel);

const NO_ROOT =
  'the EDL gives a clip name, not a path: pass --media-root with the folder holding the clips';

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function tmp(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `proxima-timeline-${prefix}-`));
  made.push(dir);
  return dir;
}

/** Creates each file (parents too) under root and returns root. */
function tree(root: string, files: readonly string[]): string {
  for (const f of files) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), 'x');
  }
  return root;
}

function paths(r: TimelineSources): string[] {
  return r.sources.map((s) => s.path);
}

// ---------------------------------------------------------------------------------------------
// file URLs

const URL_CASES: {
  ref: string;
  expected: string | undefined;
  baseDir?: string;
  escaped?: boolean;
}[] = [
  { ref: 'file:///Volumes/Media/A001.mov', expected: '/Volumes/Media/A001.mov' },
  { ref: 'FILE:///Volumes/Media/A001.mov', expected: '/Volumes/Media/A001.mov' },
  { ref: 'file://localhost/Volumes/Media/A%20001.mov', expected: '/Volumes/Media/A 001.mov' },
  { ref: 'file:/Users/ed/a.mov', expected: '/Users/ed/a.mov' },
  { ref: 'file://localhost/D%3a/media/sc01.mov', expected: 'D:\\media\\sc01.mov' },
  { ref: 'file://localhost/D%3A/media/sc01.mov', expected: 'D:\\media\\sc01.mov' },
  { ref: 'file:///C:/Users/ed/clip.mp4', expected: 'C:\\Users\\ed\\clip.mp4' },
  { ref: 'file:///c|/Users/ed/clip.mp4', expected: 'c:\\Users\\ed\\clip.mp4' },
  { ref: 'file://C:/Users/ed/clip.mp4', expected: 'C:\\Users\\ed\\clip.mp4' },
  {
    ref: 'file://localhost/C:/Users/eryu/V1-0001_[orion%20origin]%20[1080p+].mp4',
    expected: 'C:\\Users\\eryu\\V1-0001_[orion origin] [1080p+].mp4',
  },
  { ref: 'file:///Volumes/Media/Take 1 [good].mov', expected: '/Volumes/Media/Take 1 [good].mov' },
  { ref: 'file:///Volumes/Media/Shot%20%231%3F.mov', expected: '/Volumes/Media/Shot #1?.mov' },
  { ref: 'file:///Volumes/Media/Shot #2?.mov', expected: '/Volumes/Media/Shot #2?.mov' },
  { ref: 'file:///Volumes/Media/100%.mov', expected: '/Volumes/Media/100%.mov' },
  { ref: 'file:///Volumes/Media/%E4%B8%AD%E6%96%87.mov', expected: '/Volumes/Media/中文.mov' },
  { ref: 'file:///Volumes/Media/%FF.mov', expected: '/Volumes/Media/%FF.mov' },
  { ref: 'file://nas/share/day1/A001.mov', expected: '\\\\nas\\share\\day1\\A001.mov' },
  { ref: 'file:////nas/share/A001.mov', expected: '\\\\nas\\share\\A001.mov' },
  {
    ref: 'file://VSD/Tools_Media/Avid%20MediaFiles/x.mxf',
    expected: '\\\\VSD\\Tools_Media\\Avid MediaFiles\\x.mxf',
  },
  { ref: '  file:///Volumes/A.mov\n  ', expected: '/Volumes/A.mov' },
  { ref: 'file://localhost/', expected: undefined },
  { ref: 'D:\\media\\A001.mp4', expected: 'D:\\media\\A001.mp4' },
  { ref: 'G:/中文/clip.mp4', expected: 'G:\\中文\\clip.mp4' },
  { ref: 'D:\\media\\100%20.mp4', expected: 'D:\\media\\100%20.mp4' },
  { ref: '\\\\nas\\share\\A001.mov', expected: '\\\\nas\\share\\A001.mov' },
  { ref: '//nas/share/A001.mov', expected: '\\\\nas\\share\\A001.mov' },
  { ref: '/Volumes/Media/A%20001.mov', expected: '/Volumes/Media/A 001.mov' },
  { ref: '/Volumes/Media/A%20001.mov', escaped: false, expected: '/Volumes/Media/A%20001.mov' },
  { ref: 'DuaLipa.mp4', baseDir: '/projects/cut', expected: '/projects/cut/DuaLipa.mp4' },
  {
    ref: 'clips/Beach%20Day.mp4',
    baseDir: '/projects/cut',
    expected: '/projects/cut/clips/Beach Day.mp4',
  },
  { ref: '../media/A.mov', baseDir: '/projects/cut', expected: '/projects/media/A.mov' },
  { ref: 'media/A.mov', baseDir: 'C:\\Projects\\Cut', expected: 'C:\\Projects\\Cut\\media\\A.mov' },
  { ref: 'https://example.com/a.mp4', expected: undefined },
  { ref: '', expected: undefined },
];

test('mediaRefToPath decodes every spelling of a media reference', () => {
  for (const c of URL_CASES) {
    const got = mediaRefToPath(c.ref, c.baseDir ?? '/timelines', { escaped: c.escaped });
    assert.equal(got, c.expected, `for ${JSON.stringify(c.ref)}`);
  }
});

test('fileUrlToPath takes only file: URLs; baseName splits POSIX and Windows paths', () => {
  assert.equal(fileUrlToPath('relative/name.mov'), undefined);
  assert.equal(fileUrlToPath('http://host/a.mov'), undefined);
  assert.equal(baseName('C:\\Users\\ed\\A 001.mov'), 'A 001.mov');
  assert.equal(baseName('\\\\nas\\share\\B.mxf'), 'B.mxf');
  assert.equal(baseName('/Volumes/Media/C:D.mov'), 'C:D.mov');
});

// ---------------------------------------------------------------------------------------------
// Every fixture and the exact sources it yields

const OTIO_FCPX = '/Volumes/Media/otio';
const PREMIERE = [
  'D:\\media\\sc01_sh010_anim.mov',
  'D:\\media\\sc01_sh020_anim.mov',
  'D:\\media\\sc01_sh030_anim.mov',
  'D:\\media\\sc01_master_layerA_sh030_temp.mov',
];

const WITH_SOURCES: [string, TimelineSources['format'], string[]][] = [
  // FCPXML 1.8: <asset src>; connected clips on lanes, a compound used twice, an asset used as
  // detached audio before its first picture use.
  [
    'fcpxml/fcpx_project.fcpxml',
    'fcpxml',
    [
      `${OTIO_FCPX}/IMG_0715.MOV`,
      `${OTIO_FCPX}/IMG_0513.MOV`,
      `${OTIO_FCPX}/IMG_0268.MOV`,
      `${OTIO_FCPX}/IMG_0740.MOV`,
      `${OTIO_FCPX}/IMG_0857.MOV`,
      `${OTIO_FCPX}/IMG_0233.MOV`,
      `${OTIO_FCPX}/IMG_0858.MOV`,
      `${OTIO_FCPX}/IMG_0687.MOV`,
    ],
  ],
  // No project: the exported compound clip and two browser clips.
  [
    'fcpxml/fcpx_clips.fcpxml',
    'fcpxml',
    [
      `${OTIO_FCPX}/IMG_0233.MOV`,
      `${OTIO_FCPX}/IMG_0268.MOV`,
      `${OTIO_FCPX}/IMG_0857.MOV`,
      `${OTIO_FCPX}/IMG_0858.MOV`,
    ],
  ],
  ['fcpxml/Structure.fcpxml', 'fcpxml', []],
  [
    'fcpxml/25i.fcpxml',
    'fcpxml',
    [
      '/Users/user/Desktop/Marker_Interlaced.fcpbundle/11-9-22/Original Media/Test Video (29.97 fps).mp4',
    ],
  ],
  [
    'fcpxml/24.fcpxml',
    'fcpxml',
    ['/Users/user/Movies/TestVideo.mp4', '/Users/user/Movies/TestVideo2.mp4'],
  ],
  [
    'fcpxml/SyncClip.fcpxml',
    'fcpxml',
    ['/Users/user/Movies/MyLibrary.fcpbundle/Test Event/Original Media/TestVideo.m4v'],
  ],
  [
    'fcpxml/MulticamMarkers.fcpxml',
    'fcpxml',
    [
      '/Users/user/Movies/Cam 1.mp4',
      '/Users/user/Movies/Cam 2.mp4',
      '/Users/user/Movies/Cam 3.mp4',
      '/Users/user/Movies/Cam 4.mp4',
    ],
  ],
  ['fcpxml/CompoundClips.fcpxml', 'fcpxml', []],
  ['fcpxml/AudioOnly.fcpxml', 'fcpxml', []],
  [
    'fcpxml/Complex.fcpxml',
    'fcpxml',
    [
      '/Volumes/Workspace/Dropbox/_coding/MarkersExtractor/FCP/Media/Nature Makes You Happy.mp4',
      '/Volumes/Workspace/Dropbox/_coding/MarkersExtractor/FCP/Media/Is This The Land of Fire or Ice.mp4',
    ],
  ],
  [
    'fcpxml/StandaloneAssetClip.fcpxml',
    'fcpxml',
    ['/Users/user/Movies/FCPXMLTest.fcpbundle/Test Event/Original Media/TestVideo.mov'],
  ],
  ['fcpxml/TransitionMarkers1.fcpxml', 'fcpxml', []],
  [
    'fcpxml/resolve-1.9.fcpxml',
    'fcpxml',
    [
      '/Volumes/Shoot Day 1/A001_C003_0712.mov',
      '/Volumes/Shoot Day 1/Café B-roll.mp4',
      '/Volumes/Shoot Day 2/B002_C001_0712.mov',
    ],
  ],
  ['fcpxml/bundle.fcpxmld', 'fcpxml', ['/Users/editor/Movies/Interview A #1.mov']],
  [
    'fcpxml/compound-multicam.fcpxml',
    'fcpxml',
    [
      '/Volumes/Media/Wide.mov',
      '/Volumes/Media/Insert.mov',
      '/Volumes/Media/Drone.mov',
      '/Volumes/Media/GFX/Logo.mov',
      '/Volumes/Media/Close.mov',
      '/Volumes/Media/Wide B.mov',
    ],
  ],
  ['xmeml/premiere_example.xml', 'xmeml', PREMIERE],
  ['xmeml/hiero_xml_export.xml', 'xmeml', ['/A160R0MN/A160R0MN/A160C005_171213_R0MN.mxf']],
  [
    'xmeml/resolve-windows.xml',
    'xmeml',
    [
      'C:\\Users\\editor\\Videos\\[Day 1] Interview [take 2].mp4',
      'C:\\Users\\editor\\Videos\\B-roll #1.mov',
      'D:\\Footage\\Drone_0042.MP4',
    ],
  ],
  ['xmeml/project-bin-relative.xml', 'xmeml', [fx('xmeml/clips/Beach Day.mp4')]],
  [
    'edl/avid_example.edl',
    'edl',
    ['S:\\path\\to\\ZZ100_501.take_1.0001.exr', 'S:\\path\\to\\ZZ100_502A.take_2.0101.exr'],
  ],
  [
    'edl/nucoda_example.edl',
    'edl',
    ['S:\\path\\to\\ZZ100_501.take_1.0001.exr', 'S:\\path\\to\\ZZ100_502A.take_2.0101.exr'],
  ],
  ['edl/TEST.edl', 'edl', []],
  ['edl/multi_audio.edl', 'edl', []],
  ['otio/premiere_example.otio', 'otio', PREMIERE],
  [
    'otio/simple_cut.otio',
    'otio',
    ['/folder/titles.mov', '/folder/wind-up.mov', '/folder/punchline.mov', '/folder/credits.mov'],
  ],
  ['otio/nested_example.otio', 'otio', []],
  ['otio/img_seq_media_reference.otio', 'otio', []],
];

for (const [rel, format, expected] of WITH_SOURCES) {
  test(`${rel}: ${expected.length} sources, none unresolved`, async () => {
    const r = await readTimelineFile(fx(rel));
    assert.equal(r.format, format);
    assert.equal(r.file, fx(rel));
    assert.deepEqual(paths(r), expected);
    assert.deepEqual(
      r.sources.map((s) => s.name),
      expected.map((p) => p.split(/[\\/]/).pop()),
    );
    assert.deepEqual(r.unresolved, []);
  });
}

test('otio/clip2-media-references.otio: the active reference, nested video tracks, no audio', async () => {
  const r = await readTimelineFile(fx('otio/clip2-media-references.otio'));
  assert.equal(r.format, 'otio');
  assert.deepEqual(paths(r), [
    '/Volumes/RAID/Interview A.mov',
    'G:\\Footage\\Drone 02.mp4',
    fx('otio/media/B roll.mov'),
  ]);
  assert.deepEqual(r.unresolved, [
    {
      name: 'Stock shot',
      reason: 'the media is not a local file: https://example.com/stock/beach.mp4',
    },
  ]);
});

// ---------------------------------------------------------------------------------------------
// EDLs: names only, without and with a media root

const EDL_NAMES: [string, string[]][] = [
  [
    'edl/resolve-names.edl',
    [
      'A001_C003_0712.mov',
      'B002_C001_0712.MOV',
      'Drone 01.mp4',
      'Missing clip.mov',
      'C0001.MP4',
      'a001_c003_0712.MOV',
    ],
  ],
  [
    'edl/cmx3600.edl',
    [
      'ACC112 WARBIRDS',
      'IMG_6348',
      'BOONE SMITH ON CAMERA HOST_-720P',
      'DTB RE EDIT - HD 720P VIDEO SHARING',
      '00004',
      'KIRA PASTA',
    ],
  ],
  [
    'edl/file32.edl',
    [
      'ACC112 WARBIRDS',
      'IMG_6348',
      'BOONE SMITH ON CAMERA HOST_-720P',
      'DTB RE EDIT - HD 720P VIDEO SHARING',
      '00004',
      'KIRA PASTA',
    ],
  ],
  ['edl/premiere_example.edl', ['ZZ100_501.take_1.0001.exr', 'ZZ100_502A.take_2.0101.exr']],
  ['edl/cdl.edl', ['ZZ100_501.LAY3.01']],
  [
    'edl/speed_effects_small.edl',
    [
      'Z677_4C (ANIM10)',
      'Z682_156 (LAY3) FF',
      'Z682_157 (LAY2) FF',
      'Z682_157 (LAY2)',
      'Z686_5A (LAY2) (47.56 FPS)',
    ],
  ],
  ['edl/pull001_201109_exr.edl', ['A036C010_191203', 'A066C008_191219', 'A152C002_200208']],
  ['edl/test_25.edl', ['Jellyfish.jpg', 'Test rename', 'Black Video']],
  [
    'edl/ISSUE_14_conform_edl_issue_03.edl',
    [
      'AP002A-3*',
      'AP002-4*',
      'AP002E-3-A*',
      'AP002F-4-A*',
      'AP002G-2-A',
      'AP002F-4-B*',
      'AP002H-4-B*',
      'AP002M-1-A',
      'AP002Q-1-A',
      'AP002N-2',
      'AP002Q-2-A*',
      'AP002N-1*',
      'AP002Q-1-B',
      'AP002M-2-A*',
      'AP002K-2-B',
      'AP002M-2-B*',
      'AP002M-1-B',
      'AP002L-1-B',
      '13-1-SER-1-M MOS',
      '26H-3-A*',
    ],
  ],
  ['edl/fcp-edlx-reels.edl', ['BEACH_A7S3_0001.MP4', '002']],
];

for (const [rel, names] of EDL_NAMES) {
  test(`${rel} without --media-root: ${names.length} names unresolved, no sources`, async () => {
    const r = await readTimelineFile(fx(rel));
    assert.equal(r.format, 'edl');
    assert.deepEqual(paths(r), []);
    assert.deepEqual(
      r.unresolved,
      names.map((name) => ({ name, reason: NO_ROOT })),
    );
  });
}

test('edl/ToD_R4_LOCK3.1_030618_Video.edl: every SOURCE FILE once, in order', async () => {
  const text = readFileSync(fx('edl/ToD_R4_LOCK3.1_030618_Video.edl'), 'latin1');
  const expected = [
    ...new Set([...text.matchAll(/^\* SOURCE FILE: *(.*?) *\r?$/gm)].map((m) => m[1]!)),
  ];
  assert.equal(expected.length, 207);
  assert.deepEqual(expected.slice(0, 3), [
    'START LEADER 1920X1080 2398 DNXHD80.MOV',
    'A026C019_170614_R287',
    'B027C005_170615_R6L6',
  ]);
  const r = await readTimelineFile(fx('edl/ToD_R4_LOCK3.1_030618_Video.edl'));
  assert.deepEqual(paths(r), []);
  assert.deepEqual(
    r.unresolved.map((u) => u.name),
    expected,
  );
});

test('a Resolve EDL finds its clips under --media-root by name, case-insensitively', async () => {
  const root = tree(tmp('resolve-root'), [
    'day1/A001_C003_0712.mov',
    'day1/A001_C003_0712.xml',
    'day1/B002_C001_0712.mov',
    'day2/Drone 01.mp4',
    'cardA/C0001.MP4',
    'cardB/C0001.MP4',
    'sound/Room tone.wav',
    '.trash/Missing clip.mov',
  ]);
  const r = await readTimelineFile(fx('edl/resolve-names.edl'), { mediaRoot: root });
  assert.deepEqual(paths(r), [
    path.join(root, 'day1/A001_C003_0712.mov'),
    path.join(root, 'day1/B002_C001_0712.mov'),
    path.join(root, 'day2/Drone 01.mp4'),
  ]);
  assert.deepEqual(r.unresolved, [
    { name: 'Missing clip.mov', reason: `no file named "Missing clip.mov" under ${root}` },
    {
      name: 'C0001.MP4',
      reason: `2 files under ${root} match "C0001.MP4": cardA/C0001.MP4, cardB/C0001.MP4`,
    },
  ]);
});

test('an Avid EDL names clips without extension; sidecars and sound give way to the clip', async () => {
  const root = tree(tmp('avid-root'), [
    'ACC112 WARBIRDS.mxf',
    'ACC112 WARBIRDS.wav',
    'card/IMG_6348.MOV',
    'card/IMG_6348.THM',
    'KIRA PASTA.mov',
    'sub/00004.MTS',
    'other/00004.MTS',
  ]);
  const r = await readTimelineFile(fx('edl/cmx3600.edl'), { mediaRoot: root });
  assert.deepEqual(paths(r), [
    path.join(root, 'ACC112 WARBIRDS.mxf'),
    path.join(root, 'card/IMG_6348.MOV'),
    path.join(root, 'KIRA PASTA.mov'),
  ]);
  assert.deepEqual(r.unresolved, [
    {
      name: 'BOONE SMITH ON CAMERA HOST_-720P',
      reason:
        'no file named "BOONE SMITH ON CAMERA HOST_-720P" or "BOONE SMITH ON CAMERA HOST_-720P.NEW.01"' +
        ` or "BOONE_SM" under ${root}`,
    },
    {
      name: 'DTB RE EDIT - HD 720P VIDEO SHARING',
      reason:
        'no file named "DTB RE EDIT - HD 720P VIDEO SHARING" or "DTB RE EDIT - HD 720P VIDEO SHARING.NEW.01"' +
        ` or "AQ100" under ${root}`,
    },
    {
      name: '00004',
      reason: `2 files under ${root} match "00004": other/00004.MTS, sub/00004.MTS`,
    },
  ]);
});

test('reels stand in for clip names: camera clips named after the reel resolve', async () => {
  const reels = [
    'A_0113C007_250602_103141_h1D4P',
    'A_0113C004_250602_101043_h1D4P',
    'A_0113C018_250602_122238_h1D4P',
    'A_0113C022_250602_125451_h1D4P',
    'A_0113C024_250602_132048_h1D4P',
    'B_0098C009_250602_115121_h1EZ3',
    'B_0099C004_250602_133201_h1EZ3',
    'A_0114C009_250602_161406_h1D4P',
    'A_0115C001_250602_172408_h1D4P',
    'B_0099C019_250602_153856_h1EZ3',
    'A_0115C002_250602_172803_h1D4P',
    'B_0099C018_250602_153023_h1EZ3',
    'B_0100C001_250602_162041_h1EZ3',
    'A_0114C010_250602_162156_h1D4P',
    'B_0099C007_250602_140229_h1EZ3',
    'B_0099C017_250602_151824_h1EZ3',
    'B_0099C016_250602_151038_h1EZ3',
    'B_0099C015_250602_150046_h1EZ3',
    'M018C0005_240925_1F4L13',
    'A_0022C009_241003_141208_h1EHP',
  ];
  const files = reels.map((r) => `${r[0]}/${r}.mov`);
  const root = tree(tmp('reel-root'), files);
  const r = await readTimelineFile(fx('edl/ISSUE_14_conform_edl_issue_03.edl'), {
    mediaRoot: root,
  });
  assert.deepEqual(
    paths(r),
    files.map((f) => path.join(root, f)),
  );
  assert.deepEqual(r.unresolved, []);
});

test("FCP's EDL-X reel table maps shortened reels to file names; UMIDs are not names", async () => {
  const root = tree(tmp('edlx-root'), ['A7S3/BEACH_A7S3_0001.MP4', '002.mov']);
  const r = await readTimelineFile(fx('edl/fcp-edlx-reels.edl'), { mediaRoot: root });
  assert.deepEqual(paths(r), [
    path.join(root, 'A7S3/BEACH_A7S3_0001.MP4'),
    path.join(root, '002.mov'),
  ]);
  assert.deepEqual(r.unresolved, []);
});

test('an EDL path from SOURCE FILE or FROM FILE wins over the clip name; audio events are not sources', () => {
  const text = [
    'TITLE: Paths',
    '001  A001     V     C        00:00:00:00 00:00:01:00 01:00:00:00 01:00:01:00',
    '* FROM CLIP NAME:  A001 WIDE',
    '* SOURCE FILE: /Volumes/Card/A001.MXF',
    '002  A002     A     C        00:00:00:00 00:00:01:00 01:00:01:00 01:00:02:00',
    '* SOURCE FILE: /Volumes/Card/A002.MXF',
    '003  A003     AA/V  C        00:00:00:00 00:00:01:00 01:00:02:00 01:00:03:00',
    '*FROM CLIP NAME: A003',
    '*FROM FILE: E:\\Card\\A003.MXF',
    '004  A004     B     C        00:00:00:00 00:00:01:00 01:00:03:00 01:00:04:00',
    '* FROM CLIP: file:///Volumes/Card/A004%20B.MXF',
    '005  BL       V     C        00:00:00:00 00:00:01:00 01:00:04:00 01:00:05:00',
    '006  AX       V     C        00:00:00:00 00:00:01:00 01:00:05:00 01:00:06:00',
    '',
  ].join('\n');
  const out = parseEdl(text, { file: 'paths.edl', baseDir: '/edl' });
  assert.deepEqual(out, [
    { kind: 'path', path: '/Volumes/Card/A001.MXF', event: '001', line: 2 },
    { kind: 'path', path: 'E:\\Card\\A003.MXF', event: '003', line: 7 },
    { kind: 'path', path: '/Volumes/Card/A004 B.MXF', event: '004', line: 10 },
    { kind: 'names', names: [], event: '006', line: 13 },
  ]);
});

test('an EDL event with no clip name is reported by its event number', async () => {
  const dir = tmp('unnamed');
  const file = path.join(dir, 'unnamed.edl');
  writeFileSync(
    file,
    'TITLE: Unnamed\r\n001  AX       V     C        00:00:00:00 00:00:01:00 01:00:00:00 01:00:01:00\r\n',
  );
  const r = await readTimelineFile(file);
  assert.deepEqual(r.unresolved, [
    { name: 'event 001', reason: 'the EDL names no clip or file for the event at line 2' },
  ]);
});

test('matchName prefers the whole name, then the stem, and never guesses between two', async () => {
  const root = tree(tmp('match'), ['a/Clip.mov', 'b/Clip.mov.mxf', 'c/Other.MXF', 'c/other.mov']);
  const index = await indexMediaRoot(root);
  assert.deepEqual(matchName(index, ['clip.MOV']), { path: path.join(root, 'a/Clip.mov') });
  assert.deepEqual(matchName(index, ['C:\\Media\\Clip.mov']), {
    path: path.join(root, 'a/Clip.mov'),
  });
  assert.deepEqual(matchName(index, ['other']), {
    reason: `2 files under ${root} match "other": c/Other.MXF, c/other.mov`,
  });
  assert.deepEqual(matchName(index, ['nothing', 'Other.mxf']), {
    path: path.join(root, 'c/Other.MXF'),
  });
});

test('a --media-root that is not a folder is an input error', async () => {
  await assert.rejects(
    readTimelineFile(fx('edl/resolve-names.edl'), { mediaRoot: fx('edl/nope') }),
    (err: unknown) => err instanceof InputError && err.code === 'MEDIA_ROOT_NOT_FOUND',
  );
});

// ---------------------------------------------------------------------------------------------
// xmeml rules best shown on a small document

test('xmeml: a file without <video> in its <media> is not a source; one without <media> is', () => {
  const text = `<?xml version="1.0"?>
<xmeml version="4">
  <sequence id="s">
    <media>
      <video>
        <track>
          <clipitem id="c1"><file id="f1"><pathurl>file:///m/tone.wav</pathurl><media><audio/></media></file></clipitem>
          <clipitem id="c2"><file id="f2"><pathurl>file:///m/bare.mov</pathurl></file></clipitem>
          <clipitem id="c3"><file id="f1"/></clipitem>
          <clipitem id="c4"><file id="f3"><pathurl>file:///m/Tom%20&amp;%20Jerry&#39;s&#x20;cut.mov</pathurl></file></clipitem>
        </track>
      </video>
    </media>
  </sequence>
</xmeml>`;
  const r = parseXmeml(text, { file: 'x.xml', baseDir: '/' });
  assert.deepEqual(
    r.sources.map((s) => s.path),
    ['/m/bare.mov', "/m/Tom & Jerry's cut.mov"],
  );
});

test('an EDL written in Latin-1 keeps its accented clip names', async () => {
  const dir = tmp('latin1');
  const file = path.join(dir, 'latin1.edl');
  writeFileSync(
    file,
    Buffer.from(
      'TITLE: Caf\xe9\n001  AX       V     C        00:00:00:00 00:00:01:00 01:00:00:00 01:00:01:00\n* FROM CLIP NAME: Caf\xe9 1.mov\n',
      'latin1',
    ),
  );
  const r = await readTimelineFile(file);
  assert.deepEqual(
    r.unresolved.map((u) => u.name),
    ['Caf\u00e9 1.mov'],
  );
});

// ---------------------------------------------------------------------------------------------
// Detection by extension and by content

test('the format comes from the content when the extension says little', async () => {
  const dir = tmp('detect');
  const copies: [string, string, TimelineSources['format'], string[]][] = [
    ['fcpxml/fcpx_clips.fcpxml', 'export.xml', 'fcpxml', [`${OTIO_FCPX}/IMG_0233.MOV`]],
    [
      'xmeml/hiero_xml_export.xml',
      'timeline.txt',
      'xmeml',
      ['/A160R0MN/A160R0MN/A160C005_171213_R0MN.mxf'],
    ],
    ['otio/simple_cut.otio', 'cut.json', 'otio', ['/folder/titles.mov']],
    ['edl/avid_example.edl', 'cut.txt', 'edl', ['S:\\path\\to\\ZZ100_501.take_1.0001.exr']],
  ];
  for (const [from, to, format, first] of copies) {
    copyFileSync(fx(from), path.join(dir, to));
    const r = await readTimelineFile(path.join(dir, to));
    assert.equal(r.format, format, to);
    assert.deepEqual(paths(r).slice(0, 1), first, to);
  }
});

test('AAF is refused with the formats to export instead, by extension and by content', async () => {
  const dir = tmp('aaf');
  copyFileSync(fx('aaf/one_clip.aaf'), path.join(dir, 'renamed.bin'));
  for (const file of [fx('aaf/one_clip.aaf'), path.join(dir, 'renamed.bin')]) {
    await assert.rejects(readTimelineFile(file), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.code, 'UNSUPPORTED_TIMELINE');
      assert.match(err.message, /AAF/);
      assert.ok(err.message.includes(path.basename(file)));
      assert.match(err.hint, /FCPXML.*Final Cut Pro 7 XML.*EDL.*OTIO/);
      return true;
    });
  }
});

test('a folder that is not an .fcpxmld bundle, a missing file and an empty file are refused', async () => {
  const dir = tmp('refuse');
  mkdirSync(path.join(dir, 'Cut.fcpxmld'));
  writeFileSync(path.join(dir, 'empty.fcpxml'), '');
  const cases: [string, string][] = [
    [path.join(dir, 'Cut.fcpxmld'), 'BAD_TIMELINE'],
    [path.join(dir, 'missing.fcpxml'), 'TIMELINE_NOT_FOUND'],
    [path.join(dir, 'empty.fcpxml'), 'BAD_TIMELINE'],
  ];
  for (const [file, code] of cases) {
    await assert.rejects(readTimelineFile(file), (err: unknown) => {
      assert.ok(err instanceof InputError, file);
      assert.equal(err.code, code, file);
      assert.ok(err.message.includes(path.basename(file)), err.message);
      return true;
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Malformed files: code, file name, line or element, and a hint naming the formats

const MALFORMED: [string, RegExp][] = [
  ['fcpxml/malformed-unclosed.fcpxml', /line 13: bad XML: Expected closing tag 'asset-clip'/],
  ['fcpxml/malformed-wrong-root.fcpxml', /line 3: the root element is <plist>; expected an FCPXML/],
  [
    'fcpxml/malformed-dangling-ref.fcpxml',
    /<asset-clip name="B" ref="r9"> at line 13: ref="r9" names no resource/,
  ],
  [
    'fcpxml/malformed-no-src.fcpxml',
    /<asset id="r1" name="Orphan"> at line 5: the asset used by <asset-clip name="Orphan" ref="r1"> at line 12 names no media file/,
  ],
  ['xmeml/malformed-bad-xml.xml', /line 11: bad XML: Expected closing tag 'clipitem'/],
  [
    'xmeml/malformed-dangling-file.xml',
    /<file id="file-7"> at line 11: the clip <clipitem id="clipitem-1"> at line 9 refers to a file that is never written in full/,
  ],
  ['edl/malformed-event.edl', /line 7: the event line "002 .*" does not end in four timecodes/],
  ['edl/malformed-not-an-edl.edl', /line 1: no TITLE: line and no event lines/],
  ['otio/malformed-json.otio', /line 8: bad JSON: /],
  ['otio/malformed-wrong-root.otio', /the root object: it is a Clip\.1; expected .* Timeline/],
  [
    'otio/malformed-active-key.otio',
    /Track 1 "V1" > Clip 2 "Broken Clip": active_media_reference_key "high_res" is not a key of media_references/,
  ],
];

for (const [rel, where] of MALFORMED) {
  test(`${rel} is refused as BAD_TIMELINE naming the file and where`, async () => {
    await assert.rejects(readTimelineFile(fx(rel)), (err: unknown) => {
      assert.ok(err instanceof InputError, String(err));
      assert.equal(err.code, 'BAD_TIMELINE');
      assert.equal(err.exitCode, 2);
      assert.ok(err.message.includes(path.basename(rel)), err.message);
      assert.match(err.message, where);
      assert.doesNotMatch(err.message, /\n/);
      assert.match(err.hint, /re-export/);
      assert.match(err.hint, /FCPXML.*Final Cut Pro 7 XML.*EDL.*OpenTimelineIO/);
      return true;
    });
  });
}
