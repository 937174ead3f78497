import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../core/config/load.ts';
import { configSchema } from '../core/config/schema.ts';
import { ConfigError } from '../core/errors.ts';

function home(): string {
  return mkdtempSync(path.join(tmpdir(), 'proxima-home-'));
}

test('first run writes a commented default file whose values are the schema defaults', () => {
  const h = home();
  const loaded = loadConfig({ env: { HOME: h }, platform: 'linux' });
  assert.equal(loaded.file, path.join(h, '.config', 'proxima', 'config.yaml'));
  assert.equal(loaded.stateDir, path.join(h, '.local', 'state', 'proxima'));
  const text = readFileSync(loaded.file, 'utf8');
  assert.match(text, /^# Proxima configuration/);
  const fromFile = configSchema.parse(parse(text));
  assert.deepEqual(fromFile, configSchema.parse({}));
  assert.equal(loaded.config.paths.proxy_root, path.join(h, 'Proxima Proxies'));
});

test('config folders follow each OS', () => {
  const h = '/home/u';
  const mac = loadConfig({ env: { HOME: h }, platform: 'darwin', create: false });
  assert.equal(mac.file, '/home/u/Library/Application Support/proxima/config.yaml');
  const xdg = loadConfig({
    env: { HOME: h, XDG_CONFIG_HOME: '/cfg', XDG_STATE_HOME: '/st' },
    platform: 'linux',
    create: false,
  });
  assert.equal(xdg.file, '/cfg/proxima/config.yaml');
  assert.equal(xdg.stateDir, '/st/proxima');
});

test('environment variables override keys, parsed as YAML scalars', () => {
  const h = home();
  const { config } = loadConfig({
    env: {
      HOME: h,
      PROXIMA_PATHS__PROXY_ROOT: '/mnt/proxies',
      PROXIMA_WORKER__CONCURRENCY: '3',
      PROXIMA_FILTERS__EXTENSIONS: '[MOV, mxf]',
      PROXIMA_BROKER__URL: 'redis://farm:6379',
    },
  });
  assert.equal(config.paths.proxy_root, '/mnt/proxies');
  assert.equal(config.worker.concurrency, 3);
  assert.deepEqual(config.filters.extensions, ['mov', 'mxf']);
  assert.equal(config.broker.url, 'redis://farm:6379');
});

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

test('a bad value in the file names the file, the key, the value and what is allowed', () => {
  const h = home();
  const file = path.join(h, 'c.yaml');
  writeFileSync(file, 'encoding:\n  preset: h264\n');
  const err = errorOf(() => loadConfig({ env: { HOME: h, PROXIMA_CONFIG: file } }));
  assert.equal(err.exitCode, 2);
  assert.equal(
    err.message,
    `config file ${file}: key encoding.preset has bad value "h264", expected one of "prores-proxy", "prores-lt", "dnxhr-lb", "dnxhr-sq", "h264-intra"`,
  );
  assert.match(err.hint, /proxima config validate/);
});

test('a bad env override names the variable', () => {
  const err = errorOf(() => loadConfig({ env: { HOME: home(), PROXIMA_WORKER__NICE: '40' } }));
  assert.match(
    err.message,
    /^environment variable PROXIMA_WORKER__NICE: key worker.nice has bad value 40/,
  );
});

test('unknown keys, broken YAML and a missing PROXIMA_CONFIG file are named errors', () => {
  const h = home();
  const file = path.join(h, 'c.yaml');
  writeFileSync(file, 'worker:\n  concurency: 2\n');
  assert.match(
    errorOf(() => loadConfig({ env: { HOME: h, PROXIMA_CONFIG: file } })).message,
    /unknown key "worker.concurency"/,
  );
  writeFileSync(file, 'worker: [\n');
  assert.match(
    errorOf(() => loadConfig({ env: { HOME: h, PROXIMA_CONFIG: file } })).message,
    /not valid YAML/,
  );
  assert.match(
    errorOf(() => loadConfig({ env: { HOME: h, PROXIMA_CONFIG: path.join(h, 'nope.yaml') } }))
      .message,
    /does not exist/,
  );
});
