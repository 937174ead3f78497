import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_CONFIG_FILE } from '../core/config/default-file.ts';
import { BIN, cliSandbox, runCli, type CliSandbox } from './helpers/cli-run.ts';
import { startPty } from './helpers/pty.ts';

/**
 * An editor: an executable node script that sets worker.nice in the file it is given to the
 * value named for this run (`editor 70 7`: 70 the first time it is opened, 7 the second).
 */
function editorScript(box: CliSandbox, name: string): string {
  const file = path.join(box.root, name);
  writeFileSync(
    file,
    `#!${process.execPath}
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
const [values, target] = [process.argv.slice(2, -1), process.argv.at(-1)];
const runs = ${JSON.stringify(`${file}.runs`)};
const run = existsSync(runs) ? Number(readFileSync(runs, 'utf8')) : 0;
writeFileSync(runs, String(run + 1));
const nice = values[Math.min(run, values.length - 1)];
writeFileSync(target, readFileSync(target, 'utf8').replace(/^  nice: .*$/m, '  nice: ' + nice));
`,
  );
  chmodSync(file, 0o755);
  return file;
}

function defaultFileSandbox(): CliSandbox {
  const box = cliSandbox();
  writeFileSync(box.configFile, DEFAULT_CONFIG_FILE);
  return box;
}

function runs(editor: string): number {
  return Number(readFileSync(`${editor}.runs`, 'utf8'));
}

test('config edit opens $VISUAL (a command with arguments) and keeps a valid change', async () => {
  const box = defaultFileSandbox();
  const editor = editorScript(box, 'editor.mjs');
  const r = await runCli(['config', 'edit'], { env: { ...box.env, VISUAL: `${editor}  7` } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `ok: ${box.configFile}\n`);
  assert.equal(runs(editor), 1);
  assert.equal(
    readFileSync(box.configFile, 'utf8'),
    DEFAULT_CONFIG_FILE.replace('  nice: 10\n', '  nice: 7\n'),
  );
  const got = await runCli(['config', 'get', 'worker.nice'], { env: box.env });
  assert.equal(got.stdout, '7\n');
});

test('config edit prefers $VISUAL to $EDITOR, and uses $EDITOR alone', async () => {
  const box = defaultFileSandbox();
  const visual = editorScript(box, 'visual.mjs');
  const editor = editorScript(box, 'editor.mjs');
  let r = await runCli(['config', 'edit'], {
    env: { ...box.env, VISUAL: `${visual} 5`, EDITOR: `${editor} 6` },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(box.configFile, 'utf8'), /^ {2}nice: 5$/m);
  r = await runCli(['config', 'edit'], { env: { ...box.env, EDITOR: `${editor} 6` } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(box.configFile, 'utf8'), /^ {2}nice: 6$/m);
  assert.equal(runs(visual), 1);
  assert.equal(runs(editor), 1);
});

test('config edit without a terminal: an invalid edit is an error, exit 2, the file as written', async () => {
  const box = defaultFileSandbox();
  const editor = editorScript(box, 'editor.mjs');
  const r = await runCli(['config', 'edit'], { env: { ...box.env, VISUAL: `${editor} 70` } });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(
    lines[0],
    `error: config file ${box.configFile}: key worker.nice has bad value 70, expected a value of at most 19`,
  );
  assert.match(lines[1]!, /^hint: /);
  assert.equal(lines.length, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /reopen/);
  assert.equal(runs(editor), 1);
  assert.equal(
    readFileSync(box.configFile, 'utf8'),
    DEFAULT_CONFIG_FILE.replace('  nice: 10\n', '  nice: 70\n'),
  );
});

test('config edit with an editor that cannot start or fails says so', async () => {
  const box = defaultFileSandbox();
  const missing = path.join(box.root, 'no-such-editor');
  let r = await runCli(['config', 'edit'], { env: { ...box.env, VISUAL: missing } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^error: editor ${missing} could not be started`));
  // An editor quit without saving (vi's :cq) exits non-zero: nothing is checked or claimed.
  const quits = path.join(box.root, 'quits.mjs');
  writeFileSync(quits, `#!${process.execPath}\nprocess.exit(3);\n`);
  chmodSync(quits, 0o755);
  r = await runCli(['config', 'edit'], { env: { ...box.env, VISUAL: quits } });
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.split('\n')[0],
    `error: editor ${quits} ended with exit code 3; ${box.configFile} was not checked`,
  );
  assert.equal(readFileSync(box.configFile, 'utf8'), DEFAULT_CONFIG_FILE);
});

test('config edit at a terminal: an invalid edit asks to reopen; yes opens it again, then it is saved', async () => {
  const box = defaultFileSandbox();
  const editor = editorScript(box, 'editor.mjs');
  const pty = startPty([process.execPath, BIN, 'config', 'edit'], {
    ...box.env,
    VISUAL: `${editor} 70 7`,
  });
  try {
    await pty.waitFor(/reopen\? \[Y\/n\] /, 20_000);
    assert.match(pty.output(), /error: .*key worker\.nice has bad value 70/);
    pty.type('\r');
    const result = await pty.done;
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, new RegExp(`ok: ${box.configFile}\n`));
  } finally {
    pty.kill();
  }
  assert.equal(runs(editor), 2);
  assert.match(readFileSync(box.configFile, 'utf8'), /^ {2}nice: 7$/m);
});

test('config edit at a terminal: answering n stops with exit 2 and leaves the file as written', async () => {
  const box = defaultFileSandbox();
  const editor = editorScript(box, 'editor.mjs');
  const pty = startPty([process.execPath, BIN, 'config', 'edit'], {
    ...box.env,
    VISUAL: `${editor} 70 7`,
  });
  try {
    await pty.waitFor(/reopen\? \[Y\/n\] /, 20_000);
    pty.type('n\r');
    const result = await pty.done;
    assert.equal(result.code, 2, result.output);
  } finally {
    pty.kill();
  }
  assert.equal(runs(editor), 1);
  assert.match(readFileSync(box.configFile, 'utf8'), /^ {2}nice: 70$/m);
});
