import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildFfmpegArgs } from '../core/ffmpeg/build-args.ts';
import { parseProbe } from '../core/media/parse-probe.ts';
import { resolveUserPreset, userPresetsSchema } from '../core/presets/user-presets.ts';

const media = parseProbe(
  JSON.parse(readFileSync(new URL('./fixtures/probe/h264-stereo.json', import.meta.url), 'utf8')),
);
const io = { input: '/media/in.mov', output: '/proxies/out.partial' };

/** The first problem as `presets.<key path>: <message>`, as a config error names it. */
function refusal(presets: unknown): string {
  const r = userPresetsSchema.safeParse(presets);
  assert.equal(r.success, false, 'refused');
  const issue = r.error!.issues[0]!;
  return `presets.${issue.path.join('.')}: ${issue.message}`;
}

test('hostile user presets are refused with the key named', () => {
  assert.match(
    refusal({ tiny: { base: 'prores-proxy', options: { '-i': '/etc/passwd' } } }),
    /^presets\.tiny\.options\.-i: not an allowed encoder option \(allowed: -qscale:v, /,
  );
  for (const key of ['-vf', '-f', '-map', '-y', '; rm -rf /']) {
    assert.match(
      refusal({ tiny: { base: 'prores-proxy', options: { [key]: 'x' } } }),
      new RegExp(
        `^presets\\.tiny\\.options\\.${key.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')}: not an allowed encoder option`,
      ),
    );
  }
  assert.equal(
    refusal({ tiny: { base: 'dnxhr-lb', options: { '-crf': 20 } } }),
    'presets.tiny.options.-crf: not an option of dnxhd, which dnxhr-lb uses',
  );
  assert.match(
    refusal({ tiny: { base: 'prores-proxy', options: { '-qscale:v': 'eleven' } } }),
    /^presets\.tiny\.options\.-qscale:v: /,
  );
  assert.match(
    refusal({ tiny: { base: 'prores-proxy', options: { '-qscale:v': 99 } } }),
    /^presets\.tiny\.options\.-qscale:v: /,
  );
  assert.equal(
    refusal({ 'prores-lt': { base: 'prores-proxy' } }),
    'presets.prores-lt: a name no built-in preset has',
  );
  assert.equal(
    refusal({ tiny: { base: 'prores-proxy', profile: '4444' } }),
    'presets.tiny.profile: a profile of prores_ks: proxy, lt, standard, hq',
  );
  assert.match(
    refusal({ tiny: { base: 'h264-intra', pix_fmt: 'rgb24' } }),
    /^presets\.tiny\.pix_fmt: a pixel format of libx264/,
  );
  // Formats the encoder has but the profile cannot carry: ffmpeg would refuse them mid-batch.
  assert.equal(
    refusal({ tiny: { base: 'h264-intra', pix_fmt: 'yuv422p' } }),
    'presets.tiny.pix_fmt: a pixel format of libx264 profile high: yuv420p',
  );
  assert.equal(
    refusal({ tiny: { base: 'dnxhr-lb', profile: 'dnxhr_sq', pix_fmt: 'yuv422p10le' } }),
    'presets.tiny.pix_fmt: a pixel format of dnxhd profile dnxhr_sq: yuv422p',
  );
  assert.match(
    refusal({ tiny: { base: 'h264-intra', audio: { streams: 'some' } } }),
    /^presets\.tiny\.audio\.streams: all, or first-N/,
  );
  assert.match(refusal({ tiny: { base: 'ffv1' } }), /^presets\.tiny\.base: /);
  assert.match(refusal({ tiny: { base: 'prores-proxy', shell: 'x' } }), /^presets\.tiny: /);
});

test('a user preset: its options replace the base encoder options in place, after -c:v', () => {
  const parsed = userPresetsSchema.parse({
    hq: {
      base: 'prores-proxy',
      profile: 'hq',
      size: 1080,
      options: { '-qscale:v': 4 },
      audio: { codec: 'aac', streams: 'first-1' },
    },
  });
  const preset = resolveUserPreset('hq', parsed.hq!, 720);
  assert.equal(preset.fourcc, 'apch');
  assert.equal(preset.profile, 'HQ');
  assert.equal(preset.size, 1080);
  assert.deepEqual(preset.audio, { codec: 'aac', streams: 1 });
  const args = buildFfmpegArgs(media, preset, io);
  const at = args.indexOf('-c:v');
  assert.deepEqual(args.slice(at, at + 10), [
    ...['-c:v', 'prores_ks', '-profile:v', '3', '-vendor', 'apl0', '-qscale:v', '4'],
    ...['-pix_fmt', 'yuv422p10le'],
  ]);
  const x264 = resolveUserPreset(
    'small',
    userPresetsSchema.parse({
      small: { base: 'h264-intra', options: { '-crf': 26, '-tune': 'fastdecode' } },
    }).small!,
    'half',
  );
  assert.deepEqual(x264.videoArgs, [
    ...['libx264', '-profile:v', 'high', '-g', '1', '-preset', 'veryfast', '-crf', '26'],
    ...['-tune', 'fastdecode'],
  ]);
  assert.equal(x264.size, 'half');
});
