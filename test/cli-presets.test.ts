import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { truncatedCopy } from './helpers/cli-media.ts';
import { probeFile, runFfmpeg } from './helpers/media.ts';
import { cliSandbox, runCli } from './helpers/cli-run.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'proxima-cli-presets-'));
/** A 1 s 640x360 H.264 clip with a stereo tone. */
const clip = path.join(dir, 'A001.mp4');

before(async () => {
  await runFfmpeg([
    ...['-hide_banner', '-v', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=1'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=1'],
    ...['-ac', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-shortest', clip],
  ]);
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** A user preset of ProRes HQ at 1080, chosen by a rule for anything at most 400 lines tall. */
const withUserPreset = {
  encoding: { size: 540, rules: [{ preset: 'small-hq', match: { height: { max: 400 } } }] },
  presets: { 'small-hq': { base: 'prores-proxy', profile: 'hq', size: 1080 } },
};

function rowOf(stdout: string, name: string): string {
  const row = stdout.split('\n').find((l) => l.split(/\s+/)[0] === name);
  assert.ok(row, `no row for ${name} in:\n${stdout}`);
  return row;
}

test('presets list shows the five built-ins with codec, profile and size, the default marked', async () => {
  const box = cliSandbox({ encoding: { preset: 'dnxhr-lb' } });
  const r = await runCli(['presets', 'list'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(rowOf(r.stdout, 'prores-proxy'), /prores Proxy \(apco\)\s+720p\s+yuv422p10le/);
  assert.match(rowOf(r.stdout, 'prores-lt'), /prores LT \(apcs\)\s+720p/);
  assert.match(rowOf(r.stdout, 'dnxhr-lb'), /^dnxhr-lb \*\s+dnxhd DNXHR LB \(AVdh\)\s+720p/);
  assert.match(rowOf(r.stdout, 'dnxhr-sq'), /dnxhd DNXHR SQ \(AVdh\)\s+720p\s+yuv422p /);
  assert.match(rowOf(r.stdout, 'h264-intra'), /h264 High \(avc1\)\s+720p\s+yuv420p/);
  assert.doesNotMatch(rowOf(r.stdout, 'prores-proxy'), /\*/);
  assert.doesNotMatch(r.stdout, /encoding\.rules/);
});

test('presets list shows user presets at their own size, built-ins at encoding.size, and the rules', async () => {
  const box = cliSandbox(withUserPreset);
  const r = await runCli(['presets', 'list'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    rowOf(r.stdout, 'small-hq'),
    /prores HQ \(apch\)\s+1080p\s+.*user, from prores-proxy/,
  );
  assert.match(rowOf(r.stdout, 'prores-lt'), /\s540p\s/);
  assert.match(r.stdout, /^ {2}rule 1: height <= 400 -> small-hq$/m);

  const j = await runCli(['presets', 'list', '--json'], { env: box.env });
  assert.equal(j.code, 0, j.stderr);
  const listed = JSON.parse(j.stdout) as {
    default: string;
    presets: { name: string; size: unknown; profile: string; base: string | null }[];
    rules: { index: number; description: string }[];
  };
  assert.equal(listed.default, 'prores-proxy');
  assert.deepEqual(
    listed.presets.map((p) => p.name),
    ['prores-proxy', 'prores-lt', 'dnxhr-lb', 'dnxhr-sq', 'h264-intra', 'small-hq'],
  );
  const user = listed.presets.find((p) => p.name === 'small-hq')!;
  assert.deepEqual([user.size, user.profile, user.base], [1080, 'HQ', 'prores-proxy']);
  assert.equal(listed.presets[0]!.size, 540);
  assert.deepEqual(listed.rules, [{ index: 0, description: 'rule 1: height <= 400 -> small-hq' }]);
});

test('presets explain prints the probe, the preset, the size and an argv ffmpeg turns into that proxy', async () => {
  const box = cliSandbox();
  const r = await runCli(['presets', 'explain', clip], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^probe +h264, 640x360, 25 fps, 8-bit 4:2:0, 1\.00 s, 1 audio stream/m);
  assert.match(r.stdout, /^rule +no rule matches: encoding\.preset prores-proxy$/m);
  assert.match(r.stdout, /^preset +prores-proxy: ProRes 422 Proxy/m);
  assert.match(r.stdout, /^proxy +640x360, about [\d.]+ Mbit\/s of video \(an estimate\)$/m);
  const proxyPath = path.join(box.proxyRoot, path.dirname(clip).slice(1), 'A001.mov');
  assert.match(
    r.stdout,
    new RegExp(`^writes +${proxyPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
  );

  const args = JSON.parse(r.stdout.trimEnd().split('\n').pop()!) as string[];
  assert.equal(args.at(-1), proxyPath);
  assert.equal(args[args.indexOf('-i') + 1], clip);
  const out = path.join(dir, 'from-explain.mov');
  await runFfmpeg([...args.slice(0, -1), out]);
  const made = await probeFile(out);
  assert.equal(made.video?.codec, 'prores');
  assert.equal(made.video?.profile, 'Proxy');
  assert.deepEqual([made.video?.width, made.video?.height], [640, 360]);
  assert.equal(made.audio.length, 1);
  assert.equal(existsSync(proxyPath), false, 'explain writes nothing');
});

test('presets explain names the matching rule, and --preset overrides it; --json is one object', async () => {
  const box = cliSandbox(withUserPreset);
  const r = await runCli(['presets', 'explain', clip], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^rule +rule 1: height <= 400 -> small-hq$/m);
  assert.match(r.stdout, /^preset +small-hq: .*prores HQ \(apch\)/m);
  // 1080 asked, never larger than the source.
  assert.match(r.stdout, /^proxy +640x360,/m);

  const j = await runCli(['presets', 'explain', clip, '--preset', 'dnxhr-lb', '--json'], {
    env: box.env,
  });
  assert.equal(j.code, 0, j.stderr);
  const x = JSON.parse(j.stdout) as {
    rule: unknown;
    preset: { name: string; forced: boolean; profile: string };
    proxy: { width: number; height: number; estimatedVideoBitrate: number };
    media: { video: { width: number } };
    ffmpeg: { args: string[] };
  };
  assert.equal(x.rule, null);
  assert.deepEqual(
    [x.preset.name, x.preset.forced, x.preset.profile],
    ['dnxhr-lb', true, 'DNXHR LB'],
  );
  // encoding.size 540 asked of a 360-line source: its own size.
  assert.deepEqual([x.proxy.width, x.proxy.height], [640, 360]);
  assert.ok(x.proxy.estimatedVideoBitrate > 0);
  assert.equal(x.media.video.width, 640);
  assert.equal(x.ffmpeg.args[x.ffmpeg.args.indexOf('-profile:v') + 1], 'dnxhr_lb');

  const unknown = await runCli(['presets', 'explain', clip, '--preset', 'nope'], { env: box.env });
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /^error: unknown preset "nope" \(known: .*small-hq\)\n/);
});

test('presets explain of a missing, a text or a corrupt file, or a folder: one error naming it, non-zero exit', async () => {
  const box = cliSandbox();
  const text = path.join(dir, 'notes.mov');
  writeFileSync(text, 'not a video\n');
  const missing = path.join(dir, 'gone.mov');
  // Its index is at the end, so nothing reads the first 40%.
  const corrupt = truncatedCopy(clip, path.join(dir, 'cut.mp4'));
  for (const [file, reason] of [
    [missing, /does not exist or cannot be read/],
    [text, /cannot be read as media: Invalid data found/],
    [corrupt, /cannot be read as media: /],
    [dir, /is not a regular file/],
  ] as const) {
    const r = await runCli(['presets', 'explain', file], { env: box.env });
    assert.notEqual(r.code, 0, file);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.ok(lines[0]!.startsWith(`error: ${file} `), lines[0]);
    assert.match(lines[0]!, reason);
    assert.match(lines[1]!, /^hint: /);
  }
});
