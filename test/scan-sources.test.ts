import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  classifyFile,
  markNameClashes,
  scanSources,
  skipNoteLines,
  summarizeSkipped,
} from '../cli/sources/scan-sources.ts';
import { statInput } from '../cli/stat-input.ts';
import { readTimelineFile } from '../cli/timeline/read-timeline-file.ts';
import { InputError } from '../core/errors.ts';

const EXTS = ['mov', 'mp4', 'mxf', 'mts'];

test('classifyFile: configured extensions case-insensitively, audio and stills by extension', () => {
  assert.equal(classifyFile('/a/A001.MP4', EXTS), 'video');
  assert.equal(classifyFile('/a/A001.mov', EXTS), 'video');
  assert.equal(classifyFile('/a/sound.WAV', EXTS), 'audio');
  assert.equal(classifyFile('/a/take.aiff', EXTS), 'audio');
  assert.equal(classifyFile('/a/still.JPG', EXTS), 'still');
  assert.equal(classifyFile('/a/frame.dng', EXTS), 'still');
  assert.equal(classifyFile('/a/frame.exr', EXTS), 'still');
  assert.equal(classifyFile('/a/clip.avi', EXTS), 'other');
  assert.equal(classifyFile('/a/README', EXTS), 'other');
  // A still stays a still even when someone lists its extension as video.
  assert.equal(classifyFile('/a/x.png', [...EXTS, 'png']), 'still');
});

test('markNameClashes flags every file sharing a stem in one folder, and only those', () => {
  const out = markNameClashes([
    { path: '/m/day1/A001.MP4', size: 1, mtimeMs: 1 },
    { path: '/m/day1/a001.mxf', size: 1, mtimeMs: 1 },
    { path: '/m/day1/A002.mp4', size: 1, mtimeMs: 1 },
    { path: '/m/day2/A002.mxf', size: 1, mtimeMs: 1 },
  ]);
  assert.deepEqual(
    out.map((s) => [s.path, s.nameClash]),
    [
      ['/m/day1/A001.MP4', true],
      ['/m/day1/a001.mxf', true],
      ['/m/day1/A002.mp4', false],
      ['/m/day2/A002.mxf', false],
    ],
  );
});

function tree(): { root: string; proxyRoot: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'proxima-scan-'));
  const files: Record<string, string> = {
    'card/A001.MP4': 'x'.repeat(10),
    'card/A001.mxf': 'xx',
    'card/A002.mov': 'xxx',
    'card/sub/deeper/B001.MTS': 'xxxx',
    'card/sub/sound.wav': 'a',
    'card/sub/still.JPG': 's',
    'card/sub/notes.txt': 'n',
    'card/.DS_Store': 'h',
    'card/._A002.mov': 'h',
    'card/.hidden/C001.mov': 'h',
    'card/proxies/card/A002.mov': 'p',
  };
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(root, rel);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return { root, proxyRoot: path.join(root, 'card', 'proxies') };
}

test('scanSources walks folders, skips hidden entries and the proxy root, notes the rest', async () => {
  const { root, proxyRoot } = tree();
  const when = new Date('2024-05-01T10:00:00Z');
  utimesSync(path.join(root, 'card/A002.mov'), when, when);
  const result = await scanSources(['card'], { extensions: EXTS, proxyRoot, cwd: root });

  assert.deepEqual(
    result.sources.map((s) => [path.relative(root, s.path), s.size, s.nameClash]),
    [
      ['card/A001.MP4', 10, true],
      ['card/A001.mxf', 2, true],
      ['card/A002.mov', 3, false],
      ['card/sub/deeper/B001.MTS', 4, false],
    ],
  );
  for (const s of result.sources) assert.ok(path.isAbsolute(s.path));
  const a002 = result.sources.find((s) => s.path.endsWith('A002.mov'));
  assert.equal(a002?.mtimeMs, when.getTime());

  assert.deepEqual(
    result.skipped.map((s) => [path.relative(root, s.path), s.reason]),
    [
      ['card/sub/notes.txt', 'not a video extension'],
      ['card/sub/sound.wav', 'audio only'],
      ['card/sub/still.JPG', 'still image'],
    ],
  );
  assert.equal(
    summarizeSkipped(result.skipped),
    '3 skipped: 1 not a video extension, 1 audio only, 1 still image',
  );
});

test('scanSources takes files given directly, once each, and notes hidden or proxy-root ones', async () => {
  const { root, proxyRoot } = tree();
  const result = await scanSources(
    [
      path.join(root, 'card/A002.mov'),
      'card/A002.mov',
      'card',
      'card/._A002.mov',
      'card/proxies/card/A002.mov',
      'card/sub/still.JPG',
    ],
    { extensions: EXTS, proxyRoot, cwd: root },
  );
  assert.equal(result.sources.length, 4);
  assert.equal(new Set(result.sources.map((s) => s.path)).size, 4);
  const reasons = Object.fromEntries(
    result.skipped.map((s) => [path.relative(root, s.path), s.reason]),
  );
  assert.equal(reasons['card/._A002.mov'], 'hidden file');
  assert.equal(reasons['card/proxies/card/A002.mov'], 'inside the proxy root');
  assert.equal(reasons['card/sub/still.JPG'], 'still image');
});

test('scanSources follows a symlinked folder once, even through a loop', async () => {
  const { root, proxyRoot } = tree();
  symlinkSync(path.join(root, 'card'), path.join(root, 'card/sub/loop'));
  const result = await scanSources(['card'], { extensions: EXTS, proxyRoot, cwd: root });
  assert.equal(result.sources.length, 4);
});

test('a missing path is an input error naming it', async () => {
  const { root, proxyRoot } = tree();
  await assert.rejects(
    scanSources(['card', 'nope/A009.mov'], { extensions: EXTS, proxyRoot, cwd: root }),
    (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.code, 'SOURCE_NOT_FOUND');
      assert.match(err.message, /nope\/A009\.mov does not exist/);
      assert.equal(err.exitCode, 2);
      return true;
    },
  );
});

test('a file queued alone still keeps its extension when a same-stem video sits beside it', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'proxima-clash-'));
  mkdirSync(path.join(root, 'card'));
  for (const f of ['A001.MP4', 'A001.mxf', 'A002.mov', 'A002.wav', 'A003.mov', '.A003.mp4']) {
    writeFileSync(path.join(root, 'card', f), 'x');
  }
  const proxyRoot = path.join(root, 'proxies');
  const one = async (name: string) =>
    (await scanSources([path.join('card', name)], { extensions: EXTS, proxyRoot, cwd: root }))
      .sources[0]!.nameClash;
  // Queued one at a time (a timeline that uses only one of them), the two A001 files must not
  // both write A001.mov: the second would replace the first's proxy.
  assert.equal(await one('A001.MP4'), true);
  assert.equal(await one('A001.mxf'), true);
  // Sound and hidden files beside a clip are not clips.
  assert.equal(await one('A002.mov'), false);
  assert.equal(await one('A003.mov'), false);
});

test('FIFOs and devices are never queued: a folder walk and named paths skip them with a note', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'proxima-fifo-'));
  mkdirSync(path.join(root, 'card'));
  writeFileSync(path.join(root, 'card', 'A001.mp4'), 'x');
  execFileSync('mkfifo', [path.join(root, 'card', 'A001.mxf'), path.join(root, 'pipe.mov')]);
  const result = await scanSources(['card', 'pipe.mov', '/dev/null'], {
    extensions: [...EXTS, 'null'],
    proxyRoot: path.join(root, 'proxies'),
    cwd: root,
  });
  assert.deepEqual(
    result.sources.map((s) => [path.relative(root, s.path), s.nameClash]),
    [['card/A001.mp4', false]],
    'a FIFO beside a clip is no name clash either',
  );
  assert.deepEqual(
    result.skipped.map((s) => [s.path, s.reason]),
    [
      [path.join(root, 'card', 'A001.mxf'), 'not a regular file'],
      [path.join(root, 'pipe.mov'), 'not a regular file'],
      ['/dev/null', 'not a regular file'],
    ],
  );
  assert.match(
    skipNoteLines(result.skipped)[1]!,
    /^note: skipped .*pipe\.mov \(not a regular file\)$/,
  );
});

test('a FIFO given as a timeline file is refused at once with its kind, not read for ever', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'proxima-fifo-'));
  const fifo = path.join(root, 'edit.fcpxml');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(readTimelineFile(fifo), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.equal(err.code, 'NOT_A_REGULAR_FILE');
    assert.equal(err.message, `timeline file ${fifo} is a FIFO (named pipe), not a regular file`);
    assert.equal(err.exitCode, 2);
    return true;
  });
  await assert.rejects(statInput('/dev/zero', 'path', 'SOURCE_NOT_FOUND'), /a character device/);
});

function besideTree(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'proxima-scan-beside-'));
  for (const rel of [
    'day1/A001.mp4',
    'day1/A001.mxf',
    'day1/A002.MOV',
    'day1/Proxy/A001_mp4.mov',
    'day1/Proxy/A001_mxf.mov',
    'day1/Proxy/a002.mov',
    // A camera's own folder that happens to be called Proxy: none of it is a proxy of ours.
    'cam/Proxy/X001.mov',
  ]) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), 'x');
  }
  return root;
}

test('with layout beside, Proxy folders of proxies are skipped with a note, given or walked', async () => {
  const root = besideTree();
  const proxyRoot = path.join(root, 'elsewhere');
  const result = await scanSources(['.'], {
    extensions: EXTS,
    proxyRoot,
    cwd: root,
    layout: 'beside',
  });
  assert.deepEqual(
    result.sources.map((s) => [path.relative(root, s.path), s.nameClash]),
    [
      ['cam/Proxy/X001.mov', false],
      ['day1/A001.mp4', true],
      ['day1/A001.mxf', true],
      ['day1/A002.MOV', false],
    ],
  );
  assert.deepEqual(
    result.skipped.map((s) => [path.relative(root, s.path), s.reason]),
    [['day1/Proxy', 'proxies beside their sources']],
  );
  assert.match(
    skipNoteLines(result.skipped)[0]!,
    /^note: skipped .*day1\/Proxy \(proxies beside their sources\)$/,
  );

  const given = await scanSources(['day1/Proxy', 'day1/Proxy/A001_mp4.mov'], {
    extensions: EXTS,
    proxyRoot,
    cwd: root,
    layout: 'beside',
  });
  assert.deepEqual(given.sources, []);
  assert.deepEqual(
    given.skipped.map((s) => [path.relative(root, s.path), s.reason]),
    [
      ['day1/Proxy', 'proxies beside their sources'],
      ['day1/Proxy/A001_mp4.mov', 'proxies beside their sources'],
    ],
  );
});

test('with layout mirror, a Proxy folder is walked like any other', async () => {
  const root = besideTree();
  const result = await scanSources(['day1'], {
    extensions: EXTS,
    proxyRoot: path.join(root, 'elsewhere'),
    cwd: root,
  });
  assert.equal(result.sources.filter((s) => s.path.includes('/Proxy/')).length, 3);
  assert.deepEqual(result.skipped, []);
});
