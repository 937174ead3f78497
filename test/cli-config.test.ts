import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { configSchema } from '../core/config/schema.ts';
import { cliSandbox, runCli } from './helpers/cli-run.ts';

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
      `error: config file ${box.configFile}: key encoding.preset has bad value "h264", expected one of "prores-proxy", "dnxhr-lb"`,
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
  let r = await runCli(['queue', '--preset', 'h264', box.root], { env: box.env });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    'error: --preset "h264": expected one of prores-proxy, dnxhr-lb\nhint: see `proxima queue --help`\n',
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
