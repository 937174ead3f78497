import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_FILE } from '../core/config/default-file.ts';
import { configSchema } from '../core/config/schema.ts';
import { cliSandbox, runCli, type CliSandbox } from './helpers/cli-run.ts';

test('config path prints the file PROXIMA_CONFIG names', async () => {
  const box = cliSandbox();
  const r = await runCli(['config', 'path'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${box.configFile}\n`);
});

test('config path without PROXIMA_CONFIG writes the commented default under XDG_CONFIG_HOME', async () => {
  const box = cliSandbox();
  const env = { ...box.env };
  delete env.PROXIMA_CONFIG;
  const r = await runCli(['config', 'path'], { env });
  assert.equal(r.code, 0, r.stderr);
  const file = path.join(box.root, 'xdg-config', 'proxima', 'config.yaml');
  assert.equal(r.stdout, `${file}\n`);
  assert.match(readFileSync(file, 'utf8'), /^# Proxima configuration/);
});

test('config show prints the effective config, env overrides applied, token hidden', async () => {
  const box = cliSandbox({ worker: { concurrency: 3 }, gateway: { token: 's3cret' } });
  const r = await runCli(['config', 'show'], {
    env: { ...box.env, PROXIMA_ENCODING__PRESET: 'dnxhr-lb' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.startsWith(`# ${box.configFile}\n`));
  const shown = parse(r.stdout) as Record<string, Record<string, unknown>>;
  assert.equal(shown.worker?.concurrency, 3);
  assert.equal(shown.encoding?.preset, 'dnxhr-lb');
  assert.equal(shown.paths?.proxy_root, box.proxyRoot);
  assert.doesNotMatch(r.stdout, /s3cret/);
  // Every key is there, so the output documents the whole effective config.
  assert.deepEqual(Object.keys(shown).sort(), Object.keys(configSchema.parse({})).sort());
});

test('config validate says ok with the file', async () => {
  const box = cliSandbox();
  const r = await runCli(['config', 'validate'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `ok: ${box.configFile}\n`);
});

test('a bad value in the file exits 2 with one error line naming file, key and what is allowed', async () => {
  const box = cliSandbox();
  writeFileSync(box.configFile, 'encoding:\n  preset: h264\n');
  for (const args of [['config', 'validate'], ['config', 'show'], ['status']]) {
    const r = await runCli(args, { env: box.env });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.equal(
      lines[0],
      `error: config file ${box.configFile}: key encoding.preset has bad value "h264", expected one of "prores-proxy", "prores-lt", "dnxhr-lb", "dnxhr-sq", "h264-intra"`,
    );
    assert.match(lines[1]!, /^hint: /);
  }
});

test('a bad env override exits 2 naming the variable, the key and what is allowed', async () => {
  const box = cliSandbox();
  const r = await runCli(['config', 'validate'], {
    env: { ...box.env, PROXIMA_WORKER__NICE: '40' },
  });
  assert.equal(r.code, 2);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(
    lines[0],
    'error: environment variable PROXIMA_WORKER__NICE: key worker.nice has bad value 40, expected a value of at most 19',
  );
  assert.equal(lines.length, 2);
});

test('an unknown key and broken YAML are config errors too', async () => {
  const box = cliSandbox();
  writeFileSync(box.configFile, 'worker:\n  concurency: 2\n');
  let r = await runCli(['config', 'validate'], { env: box.env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: config file .*: unknown key "worker.concurency"\n/);
  writeFileSync(box.configFile, 'worker: [\n');
  r = await runCli(['config', 'validate'], { env: box.env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not valid YAML/);
});

test('bad command options are one error naming the option (exit 2)', async () => {
  const box = cliSandbox();
  // Whether a well-formed name is known is the gateway's to say (its presets: are its own).
  let r = await runCli(['queue', '--preset', 'H264', box.root], { env: box.env });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    'error: --preset "H264": expected a preset name (lower-case letters, digits, _ and -)\nhint: see `proxima queue --help`\n',
  );
  r = await runCli(['up', '--workers', 'lots'], { env: box.env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: --workers "lots": expected a whole number from 0 to 256\n/);
  r = await runCli(['queue'], { env: box.env });
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^error: PATHS: give files or folders, --resolve, --timeline NAME, --all-timelines, --select or --timeline-file FILE\n/,
  );
});

/** A sandbox whose config file is the commented default one, written as on first run. */
function defaultFileSandbox(): CliSandbox {
  const box = cliSandbox();
  writeFileSync(box.configFile, DEFAULT_CONFIG_FILE);
  return box;
}

/** The lines of `after` that differ from `before`, which must have as many lines. */
function changedLines(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  assert.equal(b.length, a.length, `line count changed:\n${after}`);
  return b.filter((line, i) => line !== a[i]);
}

async function get(box: CliSandbox, key: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await runCli(['config', 'get', key], { env: { ...box.env, ...env } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout;
}

test('config get prints a default, a file and an env value bare, lists as one JSON line', async () => {
  const box = cliSandbox({ worker: { concurrency: 3 }, filters: { include: ['**/A*'] } });
  assert.equal(await get(box, 'worker.concurrency'), '3\n');
  assert.equal(await get(box, 'worker.nice'), '10\n');
  assert.equal(await get(box, 'worker.nice', { PROXIMA_WORKER__NICE: '4' }), '4\n');
  assert.equal(await get(box, 'paths.proxy_root'), `${box.proxyRoot}\n`);
  assert.equal(await get(box, 'chunking.enabled'), 'true\n');
  assert.equal(await get(box, 'filters.include'), '["**/A*"]\n');
  const extensions = await get(box, 'filters.extensions');
  assert.equal(extensions.split('\n').length, 2, extensions);
  assert.deepEqual(JSON.parse(extensions), configSchema.parse({}).filters.extensions);
  assert.deepEqual(JSON.parse(await get(box, 'encoding')), {
    preset: 'prores-proxy',
    size: 720,
    rules: [],
  });
});

test('config get of an unknown key is one error naming the key', async () => {
  const box = cliSandbox();
  for (const key of [
    'worker.concurency',
    'wokrer.concurrency',
    'worker.concurrency.x',
    'toString',
  ]) {
    const r = await runCli(['config', 'get', key], { env: box.env });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines[0], `error: unknown config key "${key}"`);
    assert.match(lines[1]!, /^hint: (keys of worker|sections): /);
    assert.equal(lines.length, 2);
  }
});

test('config set then get: only the one line changes, every comment and the key order kept', async () => {
  const box = defaultFileSandbox();
  const cases: [string, string, string, string][] = [
    ['worker.concurrency', '2', '  concurrency: 2', '2\n'],
    ['paths.media_roots', '[/a, /b]', '  media_roots: [/a, /b]', '["/a","/b"]\n'],
    ['app.check_for_updates', 'false', '  check_for_updates: false', 'false\n'],
    [
      'filters.exclude',
      '["**/VFX/**"]',
      '  exclude: ["**/VFX/**"] # e.g. ["**/VFX/**", "*_graphics.mov"]',
      '["**/VFX/**"]\n',
    ],
    // A text that YAML would read as a number stays text for a key that takes text.
    ['gateway.token', '12345', '  token: "12345"', '12345\n'],
  ];
  for (const [key, value, line, got] of cases) {
    const before = readFileSync(box.configFile, 'utf8');
    const r = await runCli(['config', 'set', key, value], { env: box.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `set ${key} in ${box.configFile}\n`);
    assert.deepEqual(changedLines(before, readFileSync(box.configFile, 'utf8')), [line]);
    assert.equal(await get(box, key), got);
  }
  assert.equal(readdirSync(box.root).filter((f) => f.endsWith('.tmp')).length, 0);
});

test('config set with a bad value is refused naming the key and what is allowed; file byte-identical', async () => {
  const box = defaultFileSandbox();
  const before = readFileSync(box.configFile);
  const cases: [string[], string][] = [
    [
      ['worker.concurrency', 'lots'],
      'key worker.concurrency has bad value "lots", expected a number',
    ],
    [['worker.nice', '40'], 'key worker.nice has bad value 40, expected a value of at most 19'],
    [
      ['encoding.preset', 'h264'],
      'key encoding.preset has bad value "h264", expected one of "prores-proxy", "prores-lt", "dnxhr-lb", "dnxhr-sq", "h264-intra"',
    ],
    [['paths.media_roots', '[/a, '], 'value for paths.media_roots is not valid YAML'],
    [['worker.concurency', '2'], 'unknown config key "worker.concurency"'],
    [['worker', '2'], 'config key "worker" is a section, give SECTION.KEY'],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(['config', 'set', ...args], { env: box.env });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.ok(lines[0]!.startsWith(`error: ${message}`), r.stderr);
    assert.match(lines[1]!, /^hint: /);
    assert.equal(lines.length, 2, r.stderr);
    assert.ok(readFileSync(box.configFile).equals(before), `${args.join(' ')} changed the file`);
  }
});

test('config set fixes a file that does not load, when the result is valid', async () => {
  const box = cliSandbox();
  writeFileSync(box.configFile, 'encoding:\n  preset: h264 # typo\n');
  const r = await runCli(['config', 'set', 'encoding.preset', 'dnxhr-lb'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(box.configFile, 'utf8'), 'encoding:\n  preset: dnxhr-lb # typo\n');
});

test('config unset removes the key and its default applies again; comments and the rest kept', async () => {
  const box = defaultFileSandbox();
  let r = await runCli(['config', 'set', 'worker.nice', '12'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await get(box, 'worker.nice'), '12\n');
  r = await runCli(['config', 'unset', 'worker.nice'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `removed worker.nice from ${box.configFile}; its default applies\n`);
  assert.equal(await get(box, 'worker.nice'), '10\n');
  const withoutNice = DEFAULT_CONFIG_FILE.split('\n').filter((l) => l !== '  nice: 10');
  assert.equal(readFileSync(box.configFile, 'utf8'), withoutNice.join('\n'));

  // A key the file did not have: set adds it, unset gives back the same bytes.
  const small = cliSandbox();
  const before = readFileSync(small.configFile, 'utf8');
  r = await runCli(['config', 'set', 'log.level', 'debug'], { env: small.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await get(small, 'log.level'), 'debug\n');
  r = await runCli(['config', 'unset', 'log.level'], { env: small.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(small.configFile, 'utf8'), before);
  assert.equal(await get(small, 'log.level'), 'info\n');
  r = await runCli(['config', 'unset', 'log.level'], { env: small.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `log.level is not in ${small.configFile}; its default applies\n`);
});

test('config reset writes the default file and keeps the old one as a dated backup', async () => {
  const box = cliSandbox({ worker: { concurrency: 3 } });
  // Even a file that no longer loads can be reset.
  writeFileSync(box.configFile, `${readFileSync(box.configFile, 'utf8')}worker: [\n`);
  const old = readFileSync(box.configFile);
  const r = await runCli(['config', 'reset'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  const m = /^old file kept as (.+)\nwrote the default config to (.+)\n$/.exec(r.stdout);
  assert.ok(m, r.stdout);
  const backup = m[1]!;
  assert.equal(m[2], box.configFile);
  assert.equal(path.dirname(backup), box.root);
  assert.match(path.basename(backup), /^config\.yaml\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.bak$/);
  assert.ok(readFileSync(backup).equals(old));
  assert.equal(readFileSync(box.configFile, 'utf8'), DEFAULT_CONFIG_FILE);
  assert.equal(await get(box, 'worker.concurrency'), '0\n');
  // A second reset within the same second does not overwrite the first backup.
  const again = await runCli(['config', 'reset'], { env: box.env });
  assert.equal(again.code, 0, again.stderr);
  assert.ok(readFileSync(backup).equals(old));
  assert.equal(readdirSync(box.root).filter((f) => f.endsWith('.bak')).length, 2);
});

test('config show marks each value default, file or the env variable that set it', async () => {
  const box = cliSandbox({ worker: { concurrency: 3 }, gateway: { token: 's3cret' } });
  const r = await runCli(['config', 'show'], {
    env: { ...box.env, PROXIMA_WORKER__NICE: '4', PROXIMA_GATEWAY__TOKEN: 'other' },
  });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.ok(lines.includes('  concurrency: 3 # file'), r.stdout);
  assert.ok(lines.includes('  nice: 4 # env PROXIMA_WORKER__NICE'), r.stdout);
  assert.ok(lines.includes('  attempts: 3 # default'), r.stdout);
  assert.ok(lines.includes(`  proxy_root: ${box.proxyRoot} # file`), r.stdout);
  assert.ok(lines.includes('  token: (set, hidden) # env PROXIMA_GATEWAY__TOKEN'), r.stdout);
  assert.doesNotMatch(r.stdout, /s3cret|other/);
  // Every key is on a line of its own that says where its value came from.
  const keyLines = lines.filter((l) => l.startsWith('  '));
  const keyCount = Object.values(configSchema.parse({})).reduce(
    (n, section) => n + Object.keys(section).length,
    0,
  );
  assert.equal(keyLines.length, keyCount, r.stdout);
  for (const line of keyLines) assert.match(line, /^ {2}\w+: .* # (default|file|env PROXIMA_\w+)$/);
});
