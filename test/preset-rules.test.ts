import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configSchema } from '../core/config/schema.ts';
import { isProximaError } from '../core/errors.ts';
import { presetsDigest } from '../core/job/job-id.ts';
import type { MediaInfo } from '../core/media/media-info.ts';
import { parseProbe } from '../core/media/parse-probe.ts';
import {
  choosePreset,
  describeRule,
  presetTableFrom,
  resolvePreset,
} from '../core/presets/choose-preset.ts';
import { jobPresets } from '../core/presets/job-presets.ts';
import { presetRulesSchema, type PresetRuleInput } from '../core/presets/rule-schema.ts';
import { judgeExistingProxy } from '../encoder-image/existing-proxy.ts';

/** Frozen ffprobe JSON of the sample kinds (see test/parse-probe.test.ts). */
function probe(name: string): MediaInfo {
  return parseProbe(
    JSON.parse(readFileSync(new URL(`./fixtures/probe/${name}.json`, import.meta.url), 'utf8')),
  );
}

const table = presetTableFrom(
  configSchema.parse({
    presets: { 'lt-small': { base: 'prores-lt', size: 540 } },
  }),
);

/** The preset name one rule alone picks for a source, or the fallback's. */
function pick(rule: PresetRuleInput['match'], name: string, file = `/media/${name}.mov`): string {
  const rules = presetRulesSchema.parse([{ preset: 'dnxhr-lb', match: rule }]);
  return choosePreset(probe(name), file, table, rules, 'prores-proxy').name;
}

const cases: [string, PresetRuleInput['match'], string, string?][] = [
  // [what, match, fixture that matches, fixture that does not]
  ['codec', { codec: 'mpeg2video' }, 'interlaced-mpeg2-mxf', 'h264-stereo'],
  ['codec list, any case', { codec: ['HEVC', 'MPEG2VIDEO'] }, 'interlaced-mpeg2-mxf', 'vfr'],
  ['width max', { width: { max: 240 } }, 'interlaced-mpeg2-mxf', 'h264-stereo'],
  ['height range', { height: { min: 180, max: 180 } }, 'h264-stereo', 'audio-only'],
  ['fps min', { fps: { min: 29 } }, 'no-audio', 'h264-stereo'],
  ['fps max catches 23.976', { fps: { max: 24 } }, 'h264-23976', 'h264-stereo'],
  ['bit_depth number', { bit_depth: 10 }, 'h264-10bit-422-4mono', 'h264-stereo'],
  ['bit_depth range', { bit_depth: { min: 9 } }, 'h264-10bit-422-4mono', 'no-audio'],
  ['bit_depth list', { bit_depth: [8, 12] }, 'h264-stereo', 'h264-10bit-422-4mono'],
  ['chroma', { chroma: '422' }, 'interlaced-mpeg2-mxf', 'h264-stereo'],
  ['chroma as a YAML number', { chroma: [444, 422] }, 'h264-10bit-422-4mono', 'vfr'],
];

for (const [what, match, yes, no] of cases) {
  test(`rule field ${what}: matches ${yes}, not ${no}`, () => {
    assert.equal(pick(match, yes), 'dnxhr-lb');
    if (no) assert.equal(pick(match, no), 'prores-proxy');
  });
}

test('rule fields extension and path look at the source path, not the probe', () => {
  assert.equal(pick({ extension: 'MXF' }, 'h264-stereo', '/m/A001.mxf'), 'dnxhr-lb');
  assert.equal(pick({ extension: ['.mxf'] }, 'h264-stereo', '/m/A001.mov'), 'prores-proxy');
  assert.equal(pick({ path: '**/RAW/**' }, 'h264-stereo', '/m/RAW/day1/A.mov'), 'dnxhr-lb');
  assert.equal(pick({ path: '**/RAW/**' }, 'h264-stereo', '/m/day1/A.mov'), 'prores-proxy');
  assert.equal(pick({ path: 'A0*.mov' }, 'h264-stereo', 'D:\\media\\A001.mov'), 'dnxhr-lb');
});

test('every field of a rule must match', () => {
  const both = { codec: 'h264', bit_depth: 10 };
  assert.equal(pick(both, 'h264-10bit-422-4mono'), 'dnxhr-lb');
  assert.equal(pick(both, 'h264-stereo'), 'prores-proxy');
  // A picture field never matches a file without video.
  assert.equal(pick({ width: { min: 0 } }, 'audio-only'), 'prores-proxy');
});

test('the first matching rule wins, and the choice says which rule it was', () => {
  const rules = presetRulesSchema.parse([
    { preset: 'h264-intra', match: { codec: 'hevc' } },
    { preset: 'lt-small', match: { bit_depth: { min: 10 } } },
    { preset: 'dnxhr-sq', match: { codec: 'h264' } },
  ]);
  const ten = choosePreset(probe('h264-10bit-422-4mono'), '/m/a.mov', table, rules, 'dnxhr-lb');
  assert.equal(ten.name, 'lt-small');
  assert.deepEqual(ten.rule, { index: 1, description: 'rule 2: bit_depth >= 10 -> lt-small' });
  // The user preset, built from its definition: its base's codec, its own size.
  assert.equal(ten.preset.profile, 'LT');
  assert.equal(ten.preset.size, 540);

  const eight = choosePreset(probe('h264-stereo'), '/m/b.mov', table, rules, 'dnxhr-lb');
  assert.equal(eight.name, 'dnxhr-sq');
  assert.equal(eight.rule?.index, 2);
});

test('no rule matching: the fallback, with no rule', () => {
  const rules = presetRulesSchema.parse([{ preset: 'h264-intra', match: { codec: 'hevc' } }]);
  const choice = choosePreset(probe('h264-stereo'), '/m/a.mov', table, rules, 'lt-small');
  assert.equal(choice.name, 'lt-small');
  assert.equal(choice.rule, null);
  assert.equal(choice.preset.size, 540);
});

test("a request's explicit preset overrides the rules", () => {
  const rules = presetRulesSchema.parse([{ preset: 'h264-intra', match: {} }]);
  const byRules = jobPresets(table, rules, 'prores-proxy');
  assert.equal(
    choosePreset(probe('h264-stereo'), '/m/a.mov', table, byRules.rules, byRules.preset).name,
    'h264-intra',
  );
  const explicit = jobPresets(table, rules, 'prores-proxy', 'lt-small');
  assert.deepEqual(explicit.rules, []);
  assert.deepEqual(Object.keys(explicit.presets), ['lt-small']);
  const choice = choosePreset(
    probe('h264-stereo'),
    '/m/a.mov',
    table,
    explicit.rules,
    explicit.preset,
  );
  assert.equal(choice.name, 'lt-small');
  assert.equal(choice.rule, null);
});

test('an unknown preset name is one error naming it and the known ones', () => {
  assert.throws(
    () => jobPresets(table, [], 'prores-proxy', 'prores-hq'),
    (err: unknown) =>
      isProximaError(err) &&
      err.message ===
        'unknown preset "prores-hq" (known: prores-proxy, prores-lt, dnxhr-lb, dnxhr-sq, h264-intra, lt-small)',
  );
  assert.throws(() => resolvePreset(table, 'nope'), /unknown preset "nope"/);
  const bad = configSchema.safeParse({ encoding: { rules: [{ preset: 'nope', match: {} }] } });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues[0]?.path, ['encoding', 'rules', 0, 'preset']);
});

test('describeRule names each field given', () => {
  const [rule] = presetRulesSchema.parse([
    {
      preset: 'dnxhr-lb',
      match: {
        codec: ['hevc', 'h264'],
        width: { min: 1920, max: 4096 },
        fps: { max: 30 },
        chroma: '422',
        extension: 'MOV',
        path: '**/A-cam/**',
      },
    },
  ]);
  assert.equal(
    describeRule(rule!, 0),
    'rule 1: codec hevc|h264, width 1920-4096, fps <= 30, chroma 422, extension mov, path **/A-cam/** -> dnxhr-lb',
  );
  assert.equal(
    describeRule({ preset: 'dnxhr-lb', match: {} }, 4),
    'rule 5: any source -> dnxhr-lb',
  );
});

test('the presets digest: empty for a default config, stable, and changed by a rule', () => {
  assert.equal(presetsDigest([], {}), '');
  const rules = presetRulesSchema.parse([{ preset: 'dnxhr-lb', match: { codec: 'hevc' } }]);
  const again = presetRulesSchema.parse([{ match: { codec: 'HEVC' }, preset: 'dnxhr-lb' }]);
  assert.equal(presetsDigest(rules, {}), presetsDigest(again, {}));
  const other = presetRulesSchema.parse([{ preset: 'dnxhr-lb', match: { codec: 'h264' } }]);
  assert.notEqual(presetsDigest(rules, {}), presetsDigest(other, {}));
  assert.notEqual(presetsDigest([], table.user), '');
});

test("a built-in's proxy where a user preset of that base writes is another preset's, kept", () => {
  const source = probe('h264-stereo');
  // What ffprobe says of a ProRes Proxy proxy of this source.
  const proxy: MediaInfo = {
    ...source,
    video: { ...source.video!, codec: 'prores', profile: 'Proxy', rotation: 0 },
  };
  const hqTable = presetTableFrom(
    configSchema.parse({ presets: { hq: { base: 'prores-proxy', profile: 'hq' } } }),
  );
  const judged = judgeExistingProxy(source, proxy, resolvePreset(hqTable, 'hq'));
  assert.equal(judged.kind, 'other-preset');
  assert.equal(judged.kind === 'other-preset' && judged.preset.name, 'prores-proxy');
  assert.equal(
    judgeExistingProxy(source, proxy, resolvePreset(hqTable, 'prores-proxy')).kind,
    'reuse',
  );
});
