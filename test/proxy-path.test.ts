import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { InputError } from '../core/errors.ts';
import { jobIdFor } from '../core/job/job-id.ts';
import { retryNote } from '../core/job/job-error.ts';
import { foldersBelowRoot, isWithin } from '../core/paths/proxy-folder.ts';
import { configSchema } from '../core/config/schema.ts';
import { toFarm } from '../core/paths/path-mapping.ts';
import {
  besideProxyPath,
  editorProxyPathFor,
  payloadProxyRoot,
  proxyPathFor,
} from '../core/paths/proxy-path.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { planEnqueue } from '../gateway/enqueue.ts';
import { formatBytes, storageProblemOf } from '../core/paths/storage-errors.ts';
import { parseTempName, STALE_TEMP_MS, staleReason, tempNameFor } from '../core/paths/temp-name.ts';

const cases: [source: string, expected: string][] = [
  ['/media/day1/A001.mp4', '/proxies/media/day1/A001.mov'],
  ['/Volumes/Footage/A001C003_220101.MXF', '/proxies/Volumes/Footage/A001C003_220101.mov'],
  ['D:\\media\\day 1\\A001.mp4', '/proxies/D/media/day 1/A001.mov'],
  ['d:/media/A001.mp4', '/proxies/D/media/A001.mov'],
  ['\\\\nas\\share\\day1\\A001.mov', '/proxies/nas/share/day1/A001.mov'],
  ['/media/Día 1 — cámara A.mov', '/proxies/media/Día 1 — cámara A.mov'],
  ['/media/noext', '/proxies/media/noext.mov'],
];

for (const [source, expected] of cases) {
  test(`proxy path of ${source}`, () => {
    assert.equal(proxyPathFor(source, '/proxies', { pathApi: path.posix }), expected);
  });
}

test('two sources with one stem in one folder get distinct names', () => {
  const a = proxyPathFor('/m/A001.mp4', '/p', { nameClash: true, pathApi: path.posix });
  const b = proxyPathFor('/m/A001.mxf', '/p', { nameClash: true, pathApi: path.posix });
  assert.equal(a, '/p/m/A001_mp4.mov');
  assert.equal(b, '/p/m/A001_mxf.mov');
});

test('relative and ".." paths are refused, never written outside the root', () => {
  for (const bad of ['media/A001.mp4', '/media/../../etc/passwd', 'C:\\..\\x.mov', '/']) {
    assert.throws(() => proxyPathFor(bad, '/proxies', { pathApi: path.posix }), InputError);
  }
});

const besideCases: [source: string, expected: string][] = [
  ['/media/day1/A001.mp4', '/media/day1/Proxy/A001.mov'],
  ['/Volumes/Footage/A001C003_220101.MXF', '/Volumes/Footage/Proxy/A001C003_220101.mov'],
  ['/media/Día 1 — cámara A.mov', '/media/Proxy/Día 1 — cámara A.mov'],
  ['/media/noext', '/media/Proxy/noext.mov'],
  // `\` is part of a POSIX file name, not a folder.
  ['/media/a\\b.mp4', '/media/Proxy/a\\b.mov'],
  ['/A001.mp4', '/Proxy/A001.mov'],
  ['R:\\Footage\\Day1\\A001.mp4', 'R:\\Footage\\Day1\\Proxy\\A001.mov'],
  ['d:/media/A001.mp4', 'd:\\media\\Proxy\\A001.mov'],
  ['D:\\A001.mp4', 'D:\\Proxy\\A001.mov'],
  ['\\\\nas\\share\\day1\\A001.mov', '\\\\nas\\share\\day1\\Proxy\\A001.mov'],
];

for (const [source, expected] of besideCases) {
  test(`beside proxy path of ${source}`, () => {
    assert.equal(besideProxyPath(source), expected);
    // The proxy root plays no part in it.
    assert.equal(proxyPathFor(source, '/proxies', { layout: 'beside' }), expected);
  });
}

test('beside: two sources with one stem in one folder keep their extensions, as with mirror', () => {
  assert.equal(besideProxyPath('/m/A001.mp4', { nameClash: true }), '/m/Proxy/A001_mp4.mov');
  assert.equal(besideProxyPath('/m/A001.MXF', { nameClash: true }), '/m/Proxy/A001_MXF.mov');
  assert.equal(
    besideProxyPath('R:\\Day1\\A001.mp4', { nameClash: true }),
    'R:\\Day1\\Proxy\\A001_mp4.mov',
  );
  // Same file name rule as mirror: only the folder differs.
  const mirror = proxyPathFor('/m/A001.mxf', '/p', { nameClash: true, pathApi: path.posix });
  assert.equal(
    path.basename(mirror),
    path.basename(besideProxyPath('/m/A001.mxf', { nameClash: true })),
  );
});

test('beside: relative and ".." paths are refused like mirror ones', () => {
  for (const bad of ['media/A001.mp4', '/media/../etc/passwd', 'C:\\..\\x.mov', '/']) {
    assert.throws(() => besideProxyPath(bad), InputError, bad);
  }
});

test('beside with path mapping: the Proxy folder on the farm is the one the editor sees', () => {
  const mappings = [
    { editor: 'R:\\Footage', farm: '/mnt/footage' },
    { editor: '/Volumes/Footage', farm: '/mnt/footage' },
  ];
  const editor = 'R:\\Footage\\Day1\\A001.mp4';
  assert.equal(toFarm(editor, mappings), '/mnt/footage/Day1/A001.mp4');
  assert.equal(
    editorProxyPathFor(editor, 'P:\\Proxies', mappings, { layout: 'beside' }),
    'R:\\Footage\\Day1\\Proxy\\A001.mov',
  );
  assert.equal(
    editorProxyPathFor('/Volumes/Footage/Day1/A001.mxf', '/Volumes/Proxies', mappings, {
      layout: 'beside',
      nameClash: true,
    }),
    '/Volumes/Footage/Day1/Proxy/A001_mxf.mov',
  );
  // The gateway: farm source, farm proxy beside it, shown back to each editor in its style.
  const config = configSchema.parse({
    paths: { proxy_root: '/proxies', layout: 'beside', mappings },
  });
  const plan = planEnqueue(
    {
      v: PROTOCOL_VERSION,
      sources: [
        { path: editor, size: 1, mtimeMs: 1 },
        { path: '/Volumes/Footage/Day2/B001.mov', size: 1, mtimeMs: 1, nameClash: true },
      ],
    },
    config,
  );
  assert.deepEqual(
    plan.jobs.map((j) => [j.source.path, j.proxyPath, j.editor.proxyPath]),
    [
      [
        '/mnt/footage/Day1/A001.mp4',
        '/mnt/footage/Day1/Proxy/A001.mov',
        'R:\\Footage\\Day1\\Proxy\\A001.mov',
      ],
      [
        '/mnt/footage/Day2/B001.mov',
        '/mnt/footage/Day2/Proxy/B001_mov.mov',
        '/Volumes/Footage/Day2/Proxy/B001_mov.mov',
      ],
    ],
  );
  assert.equal(
    payloadProxyRoot('beside', '/proxies', plan.jobs[0]!.proxyPath),
    '/mnt/footage/Day1/Proxy',
  );
  assert.equal(
    payloadProxyRoot('mirror', '/proxies', '/proxies/x/A.mov'),
    path.resolve('/proxies'),
  );
});

test('beside: two spellings of one proxy in one folder are refused by the gateway', () => {
  const config = configSchema.parse({ paths: { proxy_root: '/proxies', layout: 'beside' } });
  assert.throws(
    () =>
      planEnqueue(
        {
          v: PROTOCOL_VERSION,
          sources: [
            { path: '/m/A001.mp4', size: 1, mtimeMs: 1 },
            { path: '/m/A001.mxf', size: 2, mtimeMs: 1 },
          ],
        },
        config,
      ),
    (err: unknown) => err instanceof InputError && err.code === 'PROXY_PATH_CLASH',
  );
});

test('job ids are deterministic per file version and preset', () => {
  const src = { path: '/m/A001.mp4', size: 100, mtimeMs: 1700000000123.4 };
  const id = jobIdFor(src, 'prores-proxy');
  assert.match(id, /^px-[0-9a-f]{24}$/);
  assert.equal(jobIdFor({ ...src }, 'prores-proxy'), id);
  assert.notEqual(jobIdFor({ ...src, size: 101 }, 'prores-proxy'), id);
  assert.notEqual(jobIdFor({ ...src, mtimeMs: 1700000001000 }, 'prores-proxy'), id);
  assert.notEqual(jobIdFor(src, 'dnxhr-lb'), id);
});

test('temp names are hidden, tied to their job, unguessable, and parsed back', () => {
  const id = 'px-0123456789abcdef01234567';
  const a = tempNameFor('A001', id);
  const b = tempNameFor('A001', id);
  assert.notEqual(a, b, 'two attempts never share a name');
  assert.match(a, /^\.A001\.px-0123456789abcdef01234567\.[0-9a-f]{32}\.partial$/);
  assert.deepEqual(parseTempName(a), { stem: 'A001', jobId: id });
  assert.deepEqual(parseTempName(tempNameFor('A.B 01', id)), { stem: 'A.B 01', jobId: id });
  // An id that cannot be part of a file name is hashed; its job is then unknown.
  const odd = tempNameFor('A001', 'a/b.c');
  assert.match(odd, /^\.A001\.=[0-9a-f]{16}\.[0-9a-f]{32}\.partial$/);
  assert.deepEqual(parseTempName(odd), { stem: 'A001', jobId: undefined });
  for (const other of [
    '.A001.partial',
    `.A001.${id}.partial`,
    'A001.mov',
    `.A001.${id}.xyz.partial`,
  ]) {
    assert.equal(parseTempName(other), undefined, other);
  }
});

test('a temp file is stale when unmodified for long, of an ended job, or of a lost attempt', () => {
  const name = tempNameFor('A001', 'px-1');
  const nowMs = 1_000_000_000;
  const fresh = { name, mtimeMs: nowMs - 1000, jobActive: true };
  assert.equal(staleReason(fresh, { nowMs }), undefined);
  assert.equal(staleReason({ ...fresh, jobActive: undefined }, { nowMs }), undefined);
  assert.equal(
    staleReason({ ...fresh, jobActive: false }, { nowMs }),
    'its job is no longer active',
  );
  assert.equal(
    staleReason({ ...fresh, mtimeMs: nowMs - STALE_TEMP_MS - 1 }, { nowMs }),
    'unmodified too long',
  );
  assert.equal(staleReason(fresh, { nowMs, lockedJob: 'px-1' }), 'an attempt that lost its lock');
  assert.equal(staleReason(fresh, { nowMs, lockedJob: 'px-2' }), undefined);
  assert.equal(staleReason({ ...fresh, jobActive: false }, { nowMs, keep: name }), undefined);
  assert.equal(
    staleReason({ ...fresh, name: '.x.partial', jobActive: false }, { nowMs }),
    undefined,
  );
});

test('the proxy folder is found below the root, never beside or above it', () => {
  assert.deepEqual(foldersBelowRoot('/p', '/p/media/day1/A001.mov'), ['media', 'day1']);
  assert.deepEqual(foldersBelowRoot('/p/', '/p/A001.mov'), []);
  assert.equal(foldersBelowRoot('/p', '/p'), undefined);
  assert.equal(foldersBelowRoot('/p', '/px/A001.mov'), undefined);
  assert.equal(foldersBelowRoot('/p', '/p/../etc/A001.mov'), undefined);
  assert.ok(isWithin('/p/..a/b', '/p'));
  assert.ok(!isWithin('/p/../b', '/p'));
  assert.ok(isWithin('/p', '/p'));
});

test('storage failures are named from errno codes and ffmpeg lines; sizes read like a person', () => {
  assert.equal(storageProblemOf('ENOSPC'), 'no-space');
  assert.equal(storageProblemOf('EDQUOT'), 'no-space');
  for (const c of ['EROFS', 'EACCES', 'EPERM']) assert.equal(storageProblemOf(c), 'read-only');
  assert.equal(
    storageProblemOf(undefined, 'Error writing trailer of x: No space left on device'),
    'no-space',
  );
  assert.equal(storageProblemOf(undefined, 'x: Read-only file system'), 'read-only');
  assert.equal(storageProblemOf('ENOENT', 'Invalid data found'), undefined);
  assert.equal(formatBytes(0), '0 bytes');
  assert.equal(formatBytes(12 * 1024), '12 KiB');
  assert.equal(formatBytes(1536 * 1024), '1.5 MiB');
  assert.equal(formatBytes(3 * 1024 ** 4), '3 TiB');
});

test('a retried failure says which attempt it was, and the last one that retries are over', () => {
  assert.equal(retryNote(0, 3), 'it is retried (attempt 1 of 3)');
  assert.equal(retryNote(1, 3), 'it is retried (attempt 2 of 3)');
  assert.equal(retryNote(2, 3), 'retries are over (attempt 3 of 3)');
  assert.equal(retryNote(0, undefined), 'retries are over (attempt 1 of 1)');
});
