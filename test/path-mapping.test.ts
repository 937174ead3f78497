import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../core/config/load.ts';
import { ConfigError } from '../core/errors.ts';
import { jobIdFor } from '../core/job/job-id.ts';
import { mtimeWindow, sameMtime } from '../core/paths/mtime.ts';
import { editorProxyPathFor } from '../core/paths/proxy-path.ts';
import {
  canonicalPath,
  pathStyle,
  toEditor,
  toFarm,
  type PathMapping,
} from '../core/paths/path-mapping.ts';

/** The example: Windows and Mac editors, one Linux farm. */
const mappings: PathMapping[] = [
  { editor: 'R:\\Footage', farm: '/mnt/media' },
  { editor: '/Volumes/Footage', farm: '/mnt/media' },
  { editor: 'P:\\Proxies', farm: '/mnt/proxies' },
  { editor: '/Volumes/Proxies', farm: '/mnt/proxies' },
  { editor: '\\\\nas\\Media', farm: '/mnt/nas' },
  // Longer than R:\Footage, so it wins below it.
  { editor: 'R:\\Footage\\VFX', farm: '/mnt/vfx' },
  { editor: '/Volumes/Footage2', farm: '/mnt/media2' },
];

const cafeNfd = 'Cafe\u0301';
const cafeNfc = 'Caf\u00e9';

test('editor paths map to the farm: drive letters, UNC, separators, case, NFD, boundaries', () => {
  const table: [string, string, string][] = [
    ['drive letter', 'R:\\Footage\\day1\\A001.mov', '/mnt/media/day1/A001.mov'],
    ['lower-case drive and prefix', 'r:\\footage\\day1\\A001.mov', '/mnt/media/day1/A001.mov'],
    ['forward slashes', 'R:/Footage/day1/A001.mov', '/mnt/media/day1/A001.mov'],
    ['mixed and doubled separators', 'R:\\Footage//day1\\/A001.mov', '/mnt/media/day1/A001.mov'],
    ['UNC', '\\\\nas\\Media\\day2\\B001.mxf', '/mnt/nas/day2/B001.mxf'],
    ['UNC in other case, forward slashes', '//NAS/media/day2/B001.mxf', '/mnt/nas/day2/B001.mxf'],
    ['macOS', '/Volumes/Footage/day1/A001.mov', '/mnt/media/day1/A001.mov'],
    ['macOS NFD name', `/Volumes/Footage/${cafeNfd}/A.mov`, `/mnt/media/${cafeNfc}/A.mov`],
    ['NFD prefix', `/Volumes/Footage/x.mov`.normalize('NFD'), '/mnt/media/x.mov'],
    ['longest prefix', 'R:\\Footage\\VFX\\shot1.mov', '/mnt/vfx/shot1.mov'],
    ['longest prefix, case', 'R:\\FOOTAGE\\vfx\\shot1.mov', '/mnt/vfx/shot1.mov'],
    ['boundary: a longer name is not below', 'R:\\Footage2\\A.mov', 'R:\\Footage2\\A.mov'],
    ['boundary on macOS', '/Volumes/Footage2/A.mov', '/mnt/media2/A.mov'],
    ['POSIX is case-sensitive', '/volumes/footage/A.mov', '/volumes/footage/A.mov'],
    ['no match: as it is', '/srv/media/A.mov', '/srv/media/A.mov'],
    ['no match on another drive', 'D:\\media\\A001.mp4', 'D:\\media\\A001.mp4'],
    ['the prefix itself', 'R:\\Footage', '/mnt/media'],
    ['a trailing separator', 'R:\\Footage\\', '/mnt/media'],
  ];
  for (const [what, editor, farm] of table) {
    assert.equal(toFarm(editor, mappings), farm, what);
  }
});

test('farm paths map back in the style of the editor that queued them', () => {
  const table: [string, string, ReturnType<typeof pathStyle>, string][] = [
    [
      'Windows editor',
      '/mnt/proxies/mnt/media/A001.mov',
      'drive',
      'P:\\Proxies\\mnt\\media\\A001.mov',
    ],
    [
      'Mac editor',
      '/mnt/proxies/mnt/media/A001.mov',
      'posix',
      '/Volumes/Proxies/mnt/media/A001.mov',
    ],
    ['no style: the first listed', '/mnt/proxies/A.mov', null, 'P:\\Proxies\\A.mov'],
    [
      'UNC editor, no UNC mapping: a Windows one',
      '/mnt/proxies/A.mov',
      'unc',
      'P:\\Proxies\\A.mov',
    ],
    ['UNC editor', '/mnt/nas/day2/B001.mov', 'unc', '\\\\nas\\Media\\day2\\B001.mov'],
    ['only one mapping has the farm prefix', '/mnt/nas/B.mov', 'posix', '\\\\nas\\Media\\B.mov'],
    ['boundary', '/mnt/proxies2/A.mov', 'drive', '/mnt/proxies2/A.mov'],
    ['no match: as it is', '/srv/proxies/A.mov', 'drive', '/srv/proxies/A.mov'],
    ['longest farm prefix', '/mnt/vfx/shot1.mov', 'drive', 'R:\\Footage\\VFX\\shot1.mov'],
  ];
  for (const [what, farm, style, editor] of table) {
    assert.equal(toEditor(farm, mappings, style), editor, what);
  }
  // Listed first or not, a POSIX prefix is the last choice for a Windows (UNC) editor.
  const macFirst = [
    { editor: '/Volumes/Proxies', farm: '/mnt/proxies' },
    { editor: 'P:\\Proxies', farm: '/mnt/proxies' },
  ];
  assert.equal(toEditor('/mnt/proxies/A.mov', macFirst, 'unc'), 'P:\\Proxies\\A.mov');
  assert.equal(toEditor('/mnt/proxies/A.mov', macFirst, 'drive'), 'P:\\Proxies\\A.mov');
  assert.equal(toEditor('/mnt/proxies/A.mov', macFirst, 'posix'), '/Volumes/Proxies/A.mov');
});

test('a path goes to the farm and back unchanged, up to spelling', () => {
  const paths = [
    'R:\\Footage\\day1\\A001.mov',
    '/Volumes/Footage/day1/A001.mov',
    '\\\\nas\\Media\\day2\\B001.mxf',
    'R:\\Footage\\VFX\\shot1.mov',
    `/Volumes/Footage/${cafeNfc}/A.mov`,
    'P:\\Proxies\\mnt\\media\\A001.mov',
    '/srv/unmapped/A.mov',
  ];
  for (const p of paths) {
    assert.equal(toEditor(toFarm(p, mappings), mappings, pathStyle(p)), p, p);
  }
  // Other spellings come back in the mapping's own.
  assert.equal(
    toEditor(toFarm('r:/footage/day1/A001.mov', mappings), mappings, 'drive'),
    'R:\\Footage\\day1\\A001.mov',
  );
  assert.equal(
    toEditor(toFarm(`/Volumes/Footage/${cafeNfd}/A.mov`, mappings), mappings, 'posix'),
    `/Volumes/Footage/${cafeNfc}/A.mov`,
  );
});

test('mappings to a Windows farm use its separators', () => {
  const toWindows = [{ editor: '/Volumes/Footage', farm: 'E:\\Media' }];
  assert.equal(toFarm('/Volumes/Footage/day1/A.mov', toWindows), 'E:\\Media\\day1\\A.mov');
  assert.equal(toEditor('e:/media/day1/A.mov', toWindows, 'posix'), '/Volumes/Footage/day1/A.mov');
  // `\` is a character of a POSIX name, not a separator.
  assert.equal(toFarm('/Volumes/Footage/a\\b.mov', toWindows), 'E:\\Media\\a\\b.mov');
  assert.equal(toFarm('/Volumes/Footage\\x.mov', toWindows), '/Volumes/Footage\\x.mov');
});

test('no mappings: every path as it is', () => {
  for (const p of ['/m/A.mov', 'D:\\m\\A.mov', '\\\\nas\\s\\A.mov']) {
    assert.equal(toFarm(p, []), p);
    assert.equal(toEditor(p, [], 'drive'), p);
  }
});

test('one file spelt two ways is one job; the rest of a name keeps its case', () => {
  assert.equal(canonicalPath('d:/media//A001.mp4'), 'D:\\media\\A001.mp4');
  assert.equal(canonicalPath('//NAS/Share/x/A.mov'), '\\\\nas\\share\\x\\A.mov');
  assert.equal(canonicalPath(`/m/${cafeNfd}.mov`), `/m/${cafeNfc}.mov`);
  const src = { size: 100, mtimeMs: 1_700_000_000_000 };
  const id = jobIdFor({ ...src, path: 'D:\\media\\A001.mp4' }, 'prores-proxy', 2);
  assert.equal(jobIdFor({ ...src, path: 'd:/media/A001.mp4' }, 'prores-proxy', 2), id);
  assert.notEqual(jobIdFor({ ...src, path: 'D:\\media\\a001.mp4' }, 'prores-proxy', 2), id);
  assert.notEqual(jobIdFor({ ...src, path: 'D:\\media\\A001.mp4' }, 'dnxhr-lb', 2), id);
});

test('modification times within the tolerance are one', () => {
  const t = 1_700_000_000_000;
  assert.equal(sameMtime(t, t + 1999, 2), true);
  assert.equal(sameMtime(t + 1999, t, 2), true);
  assert.equal(sameMtime(t, t + 2000, 2), true);
  assert.equal(sameMtime(t, t + 2001, 2), false);
  assert.equal(sameMtime(t, t + 0.4, 0), true, '0 s compares whole ms');
  assert.equal(sameMtime(t, t + 1, 0), false);
  // FAT's even seconds and SMB's truncation of one file land in one window of the id.
  const ntfs = t + 1_734.5;
  assert.equal(mtimeWindow(ntfs, 2), mtimeWindow(t + 1_000, 2));
  assert.equal(mtimeWindow(ntfs, 2), mtimeWindow(t, 2));
  const src = { path: '/m/A.mov', size: 1 };
  assert.equal(
    jobIdFor({ ...src, mtimeMs: ntfs }, 'prores-proxy', 2),
    jobIdFor({ ...src, mtimeMs: t + 1_000 }, 'prores-proxy', 2),
  );
  assert.notEqual(
    jobIdFor({ ...src, mtimeMs: t + 10_000 }, 'prores-proxy', 2),
    jobIdFor({ ...src, mtimeMs: t }, 'prores-proxy', 2),
  );
  assert.notEqual(
    jobIdFor({ ...src, mtimeMs: t + 1 }, 'prores-proxy', 0),
    jobIdFor({ ...src, mtimeMs: t }, 'prores-proxy', 0),
  );
});

test('PROXIMA_PATHS__MAPPINGS takes JSON, backslashes escaped as JSON escapes them', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'proxima-home-'));
  const file = path.join(home, 'config.yaml');
  writeFileSync(file, '');
  // What a shell passes for PROXIMA_PATHS__MAPPINGS='[{"editor":"R:\\Footage","farm":"/mnt/media"}]'.
  const value = String.raw`[{"editor":"R:\\Footage","farm":"/mnt/media"},{"editor":"/Volumes/Footage","farm":"/mnt/media"}]`;
  const { config } = loadConfig({
    env: { HOME: home, PROXIMA_CONFIG: file, PROXIMA_PATHS__MAPPINGS: value },
    platform: 'linux',
  });
  assert.deepEqual(config.paths.mappings, [
    { editor: 'R:\\Footage', farm: '/mnt/media' },
    { editor: '/Volumes/Footage', farm: '/mnt/media' },
  ]);
  assert.equal(toFarm('R:\\Footage\\A.mov', config.paths.mappings), '/mnt/media/A.mov');

  // And in the file, in YAML's own spelling.
  writeFileSync(
    file,
    "paths:\n  mappings:\n    - { editor: 'R:\\Footage', farm: /mnt/media }\n    - editor: /Volumes/Footage\n      farm: /mnt/media\n",
  );
  const fromFile = loadConfig({ env: { HOME: home, PROXIMA_CONFIG: file }, platform: 'linux' });
  assert.deepEqual(fromFile.config.paths.mappings, config.paths.mappings);

  assert.throws(
    () =>
      loadConfig({
        env: {
          HOME: home,
          PROXIMA_CONFIG: file,
          PROXIMA_PATHS__MAPPINGS: '[{"editor":"R:\\\\x"}]',
        },
        platform: 'linux',
      }),
    (err: unknown) =>
      err instanceof ConfigError &&
      /PROXIMA_PATHS__MAPPINGS.*paths\.mappings\.0\.farm/.test(err.message),
  );
  // A relative prefix would match nothing without a word: refused, naming the key and the fix.
  assert.throws(
    () =>
      loadConfig({
        env: {
          HOME: home,
          PROXIMA_CONFIG: file,
          PROXIMA_PATHS__MAPPINGS: '[{"editor":"Footage","farm":"/mnt/media"}]',
        },
        platform: 'linux',
      }),
    (err: unknown) =>
      err instanceof ConfigError &&
      /key paths\.mappings\.0\.editor has bad value "Footage", expected an absolute path/.test(
        err.message,
      ),
  );
});

test('an editor finds a proxy where the farm mirrored it, under its own names', () => {
  // The editor's proxy_root is its name for the farm's (P:\Proxies is /mnt/proxies).
  assert.equal(
    editorProxyPathFor('R:\\Footage\\day1\\A001.mov', 'P:\\Proxies', mappings),
    'P:\\Proxies\\mnt\\media\\day1\\A001.mov',
  );
  assert.equal(
    editorProxyPathFor('/Volumes/Footage/day1/A001.mxf', '/Volumes/Proxies', mappings, {
      nameClash: true,
    }),
    '/Volumes/Proxies/mnt/media/day1/A001_mxf.mov',
  );
  // Without mappings: the editor's path mirrored below its own root, as ever.
  assert.equal(
    editorProxyPathFor('/media/day1/A001.mov', '/proxies', []),
    path.resolve('/proxies/media/day1/A001.mov'),
  );
});
