import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { InputError } from '../core/errors.ts';
import { jobIdFor } from '../core/job/job-id.ts';
import { proxyPathFor } from '../core/paths/proxy-path.ts';

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

test('job ids are deterministic per file version and preset', () => {
  const src = { path: '/m/A001.mp4', size: 100, mtimeMs: 1700000000123.4 };
  const id = jobIdFor(src, 'prores-proxy');
  assert.match(id, /^px-[0-9a-f]{24}$/);
  assert.equal(jobIdFor({ ...src }, 'prores-proxy'), id);
  assert.notEqual(jobIdFor({ ...src, size: 101 }, 'prores-proxy'), id);
  assert.notEqual(jobIdFor({ ...src, mtimeMs: 1700000001000 }, 'prores-proxy'), id);
  assert.notEqual(jobIdFor(src, 'dnxhr-lb'), id);
});
