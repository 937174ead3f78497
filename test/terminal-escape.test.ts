import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { renderBars } from '../cli/progress/render-progress.ts';
import { stateFromSnapshot } from '../cli/progress/batch-state.ts';
import { terminalJson, terminalText } from '../cli/terminal-text.ts';
import { proxyPathFor } from '../core/paths/proxy-path.ts';
import {
  cliSandbox,
  killCli,
  runCli,
  startCli,
  type CliSandbox,
  type RunningCli,
} from './helpers/cli-run.ts';
import { makeClip } from './helpers/cli-media.ts';
import { freePort, startRedis, type TestRedis } from './helpers/redis.ts';
import { clipProperties, installScene } from './helpers/resolve-scene.ts';

/** What a terminal acts on: C0 but \n, DEL, C1, and the bidi embeddings, overrides and isolates. */
const ACTS_ON = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/** ESC ] 0 ; title BEL retitles the window; ESC [ 2 J clears it; CR and U+202E disguise it. */
const HOSTILE = 'A001\u001b]0;pwned\u0007\u001b[2J\rB\u202eC';
const SHOWN = 'A001\\x1b]0;pwned\\x07\\x1b[2J\\rB\\u202eC';

test('control and bidi characters are shown as escapes; everything else is left alone', () => {
  assert.equal(terminalText(HOSTILE), SHOWN);
  assert.equal(
    terminalText('line\nbreak\ttab\u007f\u009b\u2066x\u2069'),
    'line\\nbreak\\ttab\\x7f\\x9b\\u2066x\\u2069',
  );
  const kept = 'Día 1/日本語/🎬 clip — “final” \\ C:\\media\\A001.mov';
  assert.equal(terminalText(kept), kept);
});

test('escaping leaves nothing a terminal acts on, is idempotent, and JSON stays the same value', () => {
  const anyText = fc.string({ unit: 'binary', maxLength: 200 });
  fc.assert(
    fc.property(anyText, (s) => {
      const shown = terminalText(s);
      assert.doesNotMatch(shown, /[\n]/);
      assert.doesNotMatch(shown, ACTS_ON);
      assert.equal(terminalText(shown), shown);
      const json = terminalJson({ name: s, list: [s] });
      assert.doesNotMatch(json, ACTS_ON);
      assert.deepEqual(JSON.parse(json), { name: s, list: [s] });
    }),
    { numRuns: 500 },
  );
});

test('a progress bar shows the escaped name and still fits the terminal', () => {
  const job = {
    id: 'j1',
    state: 'active' as const,
    source: `/m/${HOSTILE}.mov`,
    proxyPath: '/p/x.mov',
    preset: 'prores-proxy' as const,
    attempts: 1,
    progress: { pct: 40, frame: 10, fps: 25, speed: 2, outSec: 0.4 },
    result: null,
    error: null,
  };
  const state = stateFromSnapshot({
    id: 'b-1',
    createdAt: 1,
    label: null,
    preset: 'prores-proxy',
    counts: { total: 1, waiting: 0, active: 1, completed: 0, failed: 0 },
    jobs: [job],
    skipped: [],
  });
  for (const columns of [50, 80, 200]) {
    const lines = renderBars(state, columns);
    for (const line of lines) {
      assert.doesNotMatch(line, ACTS_ON);
      assert.ok(line.length < columns, `${line.length} < ${columns}: ${line}`);
    }
  }
  assert.match(renderBars(state, 200)[0]!, /^A001\\x1b\]0;pwned\\x07\\x1b\[2J\\rB\\u202eC\.mov +█/);
});

// The real CLI against a gateway and a worker, with a camera folder holding a clip whose name
// is hostile, and a worker whose instance name is.
let redis: TestRedis;
let box: CliSandbox;
let up: RunningCli;
let folder: string;
let hostileClip: string;
let goodClip: string;
const INSTANCE = `enc\u001b]0;owned\u0007\r\u202e1`;

before(async () => {
  redis = await startRedis();
  const port = await freePort();
  box = cliSandbox({
    broker: { url: redis.url, queue: `terminal-escape-${process.pid}` },
    gateway: { listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` },
    worker: { attempts: 1 },
  });
  // The worker `proxima up` starts inherits the environment, and so the instance name.
  up = startCli(['up', '--workers', '1'], {
    env: { ...box.env, PROXIMA_ENCODER__INSTANCE: INSTANCE },
  });
  folder = path.join(box.root, 'media', 'card 1');
  [goodClip, hostileClip] = await Promise.all([
    makeClip(folder, 'A001', 'h264-stereo'),
    makeClip(folder, HOSTILE, 'h264-stereo'),
  ]);
  await up.waitFor(/gateway listening on/);
});

after(async () => {
  await killCli(up);
  await redis.stop();
});

function assertSafe(label: string, text: string) {
  const m = ACTS_ON.exec(text);
  assert.equal(m, null, `${label} holds U+${m?.[0].charCodeAt(0).toString(16)}:\n${text}`);
}

const hostileShown = terminalText(path.basename(HOSTILE));

test('queue: a hostile file name is skipped with an escaped note, the rest is encoded', async () => {
  const r = await runCli(['queue', '--wait', folder], { env: box.env });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assertSafe('stdout', r.stdout);
  assertSafe('stderr', r.stderr);
  assert.ok(
    r.stdout.includes(
      `note: skipped ${terminalText(hostileClip)} (control or text-direction characters in the name)\n`,
    ),
    r.stdout,
  );
  assert.ok(r.stdout.includes(`done      ${goodClip} -> `), r.stdout);
  assert.match(r.stdout, /\nsummary: 1 done, 0 failed of 1\n/);
  assert.ok(hostileShown.length > 0);
});

test('queue --json: exact JSON, the hostile name in `skipped` as it is on disk, and sent with the batch', async () => {
  const r = await runCli(['queue', '--json', folder], { env: box.env });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assertSafe('stdout', r.stdout);
  const out = JSON.parse(r.stdout) as {
    batch: string;
    jobs: { source: string }[];
    skipped: { path: string; reason: string }[];
  };
  assert.deepEqual(
    out.jobs.map((j) => j.source),
    [goodClip],
  );
  assert.deepEqual(out.skipped, [
    { path: hostileClip, reason: 'control or text-direction characters in the name' },
  ]);
  // The gateway keeps the list the CLI sent with the batch.
  const url = /gateway listening on (\S+)/.exec(up.stdout())![1]!;
  const view = (await (await fetch(`${url}/v1/batches/${out.batch}`)).json()) as {
    skipped?: { path: string; reason: string }[];
  };
  assert.deepEqual(view.skipped, out.skipped);
});

test('an error naming a hostile file is escaped, and --json reports it as JSON', async () => {
  const r = await runCli(['queue', hostileClip], { env: box.env });
  assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
  assertSafe('stderr', r.stderr);
  assert.match(
    r.stderr,
    /^error: no video files in .*A001\\x1b\]0;pwned\\x07\\x1b\[2J\\rB\\u202eC\.mov \(1 skipped: 1 control or text-direction characters in the name\)\nhint: /,
  );

  const missing = path.join(folder, `gone${HOSTILE}.mov`);
  const j = await runCli(['queue', '--json', missing], { env: box.env });
  assert.equal(j.code, 2, `${j.stdout}\n${j.stderr}`);
  assertSafe('stdout', j.stdout);
  assertSafe('stderr', j.stderr);
  const out = JSON.parse(j.stdout) as { batch: null; error: { code: string; message: string } };
  assert.equal(out.batch, null);
  assert.equal(out.error.code, 'SOURCE_NOT_FOUND');
  assert.ok(out.error.message.includes(missing), out.error.message);
});

test('status: a worker instance name with control characters is escaped; --json keeps it exact', async () => {
  const r = await runCli(['status'], { env: box.env });
  assert.equal(r.code, 0, r.stderr);
  assertSafe('stdout', r.stdout);
  assert.match(r.stdout, /\n {2}enc\\x1b\]0;owned\\x07\\r\\u202e1 on \S+ pid \d+ {2}0\/1 busy/);
  const j = await runCli(['status', '--json'], { env: box.env });
  assertSafe('stdout', j.stdout);
  const status = JSON.parse(j.stdout) as { workers: { instance?: string }[] };
  assert.deepEqual(
    status.workers.map((w) => w.instance),
    [INSTANCE],
  );
});

test('link --scan: clip, project and timeline names from Resolve are escaped', async () => {
  const clipFile = await makeClip(path.join(box.root, 'media', 'resolve'), 'R001', 'h264-stereo');
  const proxy = proxyPathFor(clipFile, box.proxyRoot);
  mkdirSync(path.dirname(proxy), { recursive: true });
  copyFileSync(clipFile, proxy);
  const project = 'Feature\u001b[2J';
  const timeline = 'Edit\u202ev3';
  const scene = installScene({
    current_project: project,
    projects: {
      [project]: {
        current_timeline: timeline,
        timelines: [
          {
            name: timeline,
            id: 'tl-1',
            video_tracks: [{ items: [{ name: 'R001', clip: 'm-r' }] }],
          },
        ],
        clips: {
          'm-r': { name: `R001\u001b]0;pwned\u0007.mov`, properties: clipProperties(clipFile) },
        },
      },
    },
  });
  const r = await runCli(['link', '--scan'], { env: { ...box.env, ...scene.env } });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assertSafe('stdout', r.stdout);
  assertSafe('stderr', r.stderr);
  assert.ok(
    r.stdout.includes('resolve: project Feature\\x1b[2J, Edit\\u202ev3: 1 to link\n'),
    r.stdout,
  );
  assert.ok(r.stdout.includes(`linked    R001\\x1b]0;pwned\\x07.mov -> ${proxy}\n`), r.stdout);
});
