import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS, commandsNeeded } from '../cli/command-loader.ts';
import { PROXIMA_VERSION } from '../core/version.ts';
import { cliSandbox, runCli } from './helpers/cli-run.ts';

const ALL = Object.keys(COMMANDS);

test('only the command named is loaded; help, typos and no command load them all', () => {
  assert.deepEqual(commandsNeeded(['status']), ['status']);
  assert.deepEqual(commandsNeeded(['--verbose', 'queue', 'a.mov', '--json']), ['queue']);
  assert.deepEqual(commandsNeeded(['queue', '--help']), ['queue']);
  assert.deepEqual(commandsNeeded(['help', 'work']), ['work']);
  assert.deepEqual(commandsNeeded(['config', 'show']), ['config']);
  assert.deepEqual(commandsNeeded(['--version']), []);
  assert.deepEqual(commandsNeeded([]), ALL);
  assert.deepEqual(commandsNeeded(['--help']), ALL);
  assert.deepEqual(commandsNeeded(['help']), ALL);
  assert.deepEqual(commandsNeeded(['stauts']), ALL);
  assert.deepEqual(commandsNeeded(['toString']), ALL);
});

test('the program help lists every command, a typo is answered with the nearest one', async () => {
  const box = cliSandbox();
  const help = await runCli(['--help'], { env: box.env });
  assert.equal(help.code, 0, help.stderr);
  for (const name of ALL) assert.match(help.stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
  const typo = await runCli(['stauts'], { env: box.env });
  assert.equal(typo.code, 2, 'a usage error');
  assert.match(typo.stderr, /unknown command 'stauts'/);
  assert.match(typo.stderr, /Did you mean status\?/);
});

test('--version prints the version; a command help shows its own options', async () => {
  const box = cliSandbox();
  const version = await runCli(['--version'], { env: box.env });
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), PROXIMA_VERSION);
  const queueHelp = await runCli(['queue', '--help'], { env: box.env });
  assert.equal(queueHelp.code, 0, queueHelp.stderr);
  assert.match(queueHelp.stdout, /--reencode/);
  assert.match(queueHelp.stdout, /--timeline-file/);
});
