import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};

/** What `npm pack` reads: the sources, the build script and its configs. */
const PACKED_FROM = [
  'package.json',
  'README.md',
  'tsconfig.json',
  'tsconfig.build.json',
  'bin',
  'cli',
  'core',
  'gateway',
  'encoder-image',
  'scripts',
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: 180_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('npm pack, then npm install -g of the tarball: the proxima command runs from its build', async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'proxima-pack-'));
  // Packed from a copy: `npm pack` builds dist/ afresh (the prepare script), and the
  // checkout's dist/ is in use by every other command run from it meanwhile.
  const src = path.join(work, 'src');
  mkdirSync(src);
  for (const entry of PACKED_FROM)
    cpSync(path.join(ROOT, entry), path.join(src, entry), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'), 'dir');
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };

  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], src, env);
  assert.equal(packed.code, 0, packed.stderr);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = info!.files.map((f) => f.path);
  for (const needed of ['bin/proxima.js', 'dist/.built', 'dist/cli-bundle/main.js']) {
    assert.ok(files.includes(needed), `${needed} is not in the tarball`);
  }
  assert.ok(files.includes('dist/gateway/main.js') && files.includes('dist/monitor/index.html'));
  assert.ok(files.includes('cli/resolve/bridge.py'));
  const extra = files.filter(
    (f) => f.endsWith('.ts') || f.endsWith('.map') || /^(test|docs)\//.test(f),
  );
  assert.deepEqual(extra, [], 'sources, maps, tests or docs in the tarball');

  // Offline-friendly: the dependencies come from the npm cache `npm ci` filled. Dependencies'
  // install scripts (native builds, downloads) are not what this test is about.
  const prefix = path.join(work, 'prefix');
  const installed = await run(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      path.join(work, info!.filename),
    ],
    work,
    env,
  );
  assert.equal(installed.code, 0, installed.stderr);

  const bin = path.join(prefix, 'bin', 'proxima');
  assert.ok(existsSync(bin), `${bin} was not installed`);
  const home = mkdtempSync(path.join(tmpdir(), 'proxima-home-'));
  const userEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOME: home, CI: '1' };
  const version = await run(bin, ['--version'], home, userEnv);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), pkg.version);

  const help = await run(bin, ['--help'], home, userEnv);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /Usage: proxima /);
  assert.match(help.stdout, /queue/);

  const configPath = await run(bin, ['config', 'path'], home, userEnv);
  assert.equal(configPath.code, 0, configPath.stderr);
  assert.equal(configPath.stdout.trim(), path.join(home, '.config', 'proxima', 'config.yaml'));
});
