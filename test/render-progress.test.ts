import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyEvent,
  stateChanges,
  stateFromSnapshot,
  succeeded,
} from '../cli/progress/batch-state.ts';
import { createProgressView } from '../cli/progress/progress-view.ts';
import {
  commonDir,
  fitName,
  renderBar,
  renderBars,
  renderConnectionNote,
  renderJobLine,
  renderSummary,
} from '../cli/progress/render-progress.ts';
import type { BatchView, EncodeResult, JobView } from '../core/job/contract.ts';

function job(id: string, source: string, over: Partial<JobView> = {}): JobView {
  return {
    id,
    state: 'waiting',
    source,
    proxyPath: `/p${source.replace(/\.\w+$/, '.mov')}`,
    preset: 'prores-proxy',
    attempts: 0,
    progress: null,
    result: null,
    error: null,
    ...over,
  };
}

function result(proxyPath: string, reused = false): EncodeResult {
  return {
    proxyPath,
    reused,
    codec: 'prores',
    width: 640,
    height: 360,
    frames: 48,
    audioStreams: 1,
    timecode: '01:00:00:00',
    encodeSeconds: 1.5,
    worker: 'w1',
  };
}

function batch(jobs: JobView[]): BatchView {
  return {
    id: 'b-1',
    createdAt: 0,
    label: null,
    preset: 'prores-proxy',
    counts: { total: jobs.length, waiting: jobs.length, active: 0, completed: 0, failed: 0 },
    jobs,
    skipped: [],
  };
}

const progress = (pct: number, speed: number) => ({ pct, frame: 10, fps: 24, speed, outSec: 1 });

function sampleState() {
  let s = stateFromSnapshot(
    batch([
      job('j1', '/m/day1/A001.MP4'),
      job('j2', '/m/day1/A002_with_a_rather_long_name_from_camera_b.MOV'),
      job('j3', '/m/day1/A003.mxf'),
      job('j4', '/m/day2/A004.mov'),
    ]),
  );
  s = applyEvent(s, { type: 'active', jobId: 'j1' });
  s = applyEvent(s, { type: 'progress', jobId: 'j1', progress: progress(42.7, 2.34) });
  s = applyEvent(s, { type: 'progress', jobId: 'j2', progress: progress(5, 0) });
  s = applyEvent(s, { type: 'completed', jobId: 'j3', result: result('/p/m/day1/A003.mov') });
  return s;
}

test('renderBar fills proportionally and clamps', () => {
  assert.equal(renderBar(0, 4), '░░░░');
  assert.equal(renderBar(50, 4), '██░░');
  assert.equal(renderBar(250, 4), '████');
});

test('fitName pads short names and keeps the end of long ones', () => {
  assert.equal(fitName('A001.MP4', 10), 'A001.MP4  ');
  assert.equal(fitName('A002_long_name.MOV', 10), '…_name.MOV');
  assert.equal(fitName('3/10 done, 2 failed', 10, 'start'), '3/10 done…');
});

test('renderBars: one line per running job, then the overall line, exact text', () => {
  const lines = renderBars(sampleState(), 80);
  assert.deepEqual(lines, [
    'A001.MP4                                   ██████████░░░░░░░░░░░░░░  42%   2.3x',
    '…with_a_rather_long_name_from_camera_b.MOV █░░░░░░░░░░░░░░░░░░░░░░░   5%',
    '1/4 done, 1 waiting                        █████████░░░░░░░░░░░░░░░  36%',
  ]);
  for (const l of lines) assert.ok(l.length < 80, l);
});

test('renderBars fits a narrow terminal', () => {
  const lines = renderBars(sampleState(), 50);
  assert.deepEqual(lines, [
    'A001.MP4     ██████████░░░░░░░░░░░░░░  42%   2.3x',
    '…amera_b.MOV █░░░░░░░░░░░░░░░░░░░░░░░   5%',
    '1/4 done, 1… █████████░░░░░░░░░░░░░░░  36%',
  ]);
});

test('job lines and the summary name results, reasons and hints', () => {
  let s = sampleState();
  s = applyEvent(s, { type: 'completed', jobId: 'j1', result: result('/p/m/day1/A001.mov', true) });
  s = applyEvent(s, {
    type: 'failed',
    jobId: 'j2',
    error: {
      code: 'MEDIA_CORRUPT',
      message: 'ffprobe cannot read the file',
      hint: 'copy it again',
    },
  });
  assert.equal(renderJobLine(s.jobs[0]!), 'reused    /m/day1/A001.MP4 -> /p/m/day1/A001.mov');
  assert.equal(
    renderJobLine(s.jobs[1]!),
    'failed    /m/day1/A002_with_a_rather_long_name_from_camera_b.MOV: ffprobe cannot read the file',
  );
  assert.deepEqual(renderSummary(s, { deduplicated: 1 }), [
    'summary: 2 done (1 reused), 1 failed, 1 deduplicated, 1 not finished of 4',
    'failed: /m/day1/A002_with_a_rather_long_name_from_camera_b.MOV',
    '  error: ffprobe cannot read the file',
    '  hint: copy it again',
    'proxies in /p/m/day1',
  ]);
  assert.deepEqual(renderSummary(s, { deduplicated: 0, listProxies: true }).slice(-3), [
    'proxies:',
    '  /p/m/day1/A001.mov',
    '  /p/m/day1/A003.mov',
  ]);
  assert.equal(commonDir(['/p/a/b/x.mov', '/p/a/c/y.mov']), '/p/a');
});

test('stateChanges reports finished jobs once, including those a reconnect snapshot reveals', () => {
  const seen = new Map<string, JobView['state']>();
  let s = stateFromSnapshot(batch([job('j1', '/m/A.mov'), job('j2', '/m/B.mov')]));
  assert.deepEqual(stateChanges(seen, s), []);
  s = applyEvent(s, { type: 'active', jobId: 'j1' });
  assert.deepEqual(
    stateChanges(seen, s).map((j) => [j.id, j.state]),
    [['j1', 'active']],
  );
  s = applyEvent(s, { type: 'progress', jobId: 'j1', progress: progress(50, 1) });
  assert.deepEqual(stateChanges(seen, s), []);
  // The connection dropped; the new snapshot shows both finished.
  s = applyEvent(s, {
    type: 'snapshot',
    batch: batch([
      job('j1', '/m/A.mov', { state: 'completed', result: result('/p/m/A.mov') }),
      job('j2', '/m/B.mov', { state: 'completed', result: result('/p/m/B.mov') }),
    ]),
  });
  assert.deepEqual(
    stateChanges(seen, s).map((j) => [j.id, j.state]),
    [
      ['j1', 'completed'],
      ['j2', 'completed'],
    ],
  );
  assert.deepEqual(stateChanges(seen, s), []);
});

test('a progress report that arrives after the job ended does not run it again', () => {
  const seen = new Map<string, JobView['state']>();
  let s = stateFromSnapshot(batch([job('j1', '/m/A.mov', { state: 'active' })]));
  stateChanges(seen, s);
  s = applyEvent(s, { type: 'completed', jobId: 'j1', result: result('/p/m/A.mov') });
  assert.deepEqual(
    stateChanges(seen, s).map((j) => [j.id, j.state]),
    [['j1', 'completed']],
  );
  s = applyEvent(s, { type: 'progress', jobId: 'j1', progress: progress(100, 1) });
  s = applyEvent(s, { type: 'active', jobId: 'j1' });
  assert.equal(s.jobs[0]!.state, 'completed');
  assert.deepEqual(stateChanges(seen, s), [], 'no second "done" (and no second link)');
});

test('the plain view prints one line per state change; the terminal view redraws in place', () => {
  const plain: string[] = [];
  const pv = createProgressView({ write: (c: string) => plain.push(c) }, 'plain');
  let s = stateFromSnapshot(batch([job('j1', '/m/A.mov')]));
  pv.update(s);
  s = applyEvent(s, { type: 'active', jobId: 'j1' });
  pv.update(s);
  s = applyEvent(s, { type: 'progress', jobId: 'j1', progress: progress(50, 1) });
  pv.update(s);
  s = applyEvent(s, { type: 'completed', jobId: 'j1', result: result('/p/m/A.mov') });
  pv.update(s);
  pv.stop();
  assert.deepEqual(plain, ['encoding  /m/A.mov\n', 'done      /m/A.mov -> /p/m/A.mov\n']);

  const tty: string[] = [];
  const tv = createProgressView({ write: (c: string) => tty.push(c), columns: 60 }, 'tty', {
    intervalMs: 60_000,
  });
  let t = stateFromSnapshot(batch([job('j1', '/m/A.mov')]));
  t = applyEvent(t, { type: 'progress', jobId: 'j1', progress: progress(50, 1) });
  tv.update(t);
  // Inside the interval: remembered, not drawn.
  tv.update(applyEvent(t, { type: 'completed', jobId: 'j1', result: result('/p/m/A.mov') }));
  tv.stop();
  assert.equal(tty.length, 3);
  assert.equal(tty[0], '\x1b[?25l');
  assert.equal(
    tty[1],
    'A.mov                  ████████████░░░░░░░░░░░░  50%   1.0x\x1b[K\n' +
      '0/1 done               ████████████░░░░░░░░░░░░  50%\x1b[K\n',
  );
  assert.equal(tty[2], '\x1b[2A\r\x1b[Jdone      /m/A.mov -> /p/m/A.mov\n\x1b[?25h');
});

test("a caller's note goes above the bars in order with the job lines, or straight out once stopped", () => {
  const tty: string[] = [];
  const tv = createProgressView({ write: (c: string) => tty.push(c), columns: 60 }, 'tty', {
    intervalMs: 60_000,
  });
  let t = stateFromSnapshot(batch([job('j1', '/m/A.mov'), job('j2', '/m/B.mov')]));
  t = applyEvent(t, { type: 'progress', jobId: 'j2', progress: progress(50, 1) });
  tv.update(t);
  tv.update(applyEvent(t, { type: 'completed', jobId: 'j1', result: result('/p/m/A.mov') }));
  tv.note('linked    A.mov -> /p/m/A.mov');
  tv.stop();
  tv.note('linked    B.mov -> /p/m/B.mov');
  assert.equal(
    tty.at(-2),
    '\x1b[2A\r\x1b[Jdone      /m/A.mov -> /p/m/A.mov\nlinked    A.mov -> /p/m/A.mov\n\x1b[?25h',
  );
  assert.equal(tty.at(-1), 'linked    B.mov -> /p/m/B.mov\n');

  const plain: string[] = [];
  const pv = createProgressView({ write: (c: string) => plain.push(c) }, 'plain');
  pv.note('linked    A.mov -> /p/m/A.mov');
  assert.deepEqual(plain, ['linked    A.mov -> /p/m/A.mov\n']);
  const silent = createProgressView({ write: () => assert.fail('silent writes') }, 'silent');
  silent.note('linked    A.mov -> /p/m/A.mov');
});

test('a job removed from the queue is reported, not counted as done', () => {
  const s = stateFromSnapshot(
    batch([job('j1', '/m/A.mov', { state: 'unknown' }), job('j2', '/m/B.mov')]),
  );
  assert.equal(
    renderJobLine(s.jobs[0]!),
    'gone      /m/A.mov (removed from the queue or expired before it ran)',
  );
  assert.deepEqual(renderSummary(s, { deduplicated: 0 }), [
    'summary: 0 done, 0 failed, 1 removed or expired, 1 not finished of 2',
    'not encoded: /m/A.mov (removed from the queue or expired before it ran)',
  ]);
  assert.deepEqual(renderBars(s, 50), ['1/2 done, 1… ████████████░░░░░░░░░░░░  50%']);
  assert.equal(succeeded(s), false);
  const seen = new Map<string, JobView['state']>();
  assert.deepEqual(
    stateChanges(seen, s).map((j) => j.id),
    ['j1'],
  );
});

test('the connection notes, and every line of both views, are escaped for the terminal', () => {
  assert.equal(
    renderConnectionNote({ type: 'lost', url: 'http://127.0.0.1:8765', giveUpAfterMs: 300_000 }),
    'lost the gateway at http://127.0.0.1:8765; reconnecting for up to 300 s (the batch keeps running)',
  );
  assert.equal(
    renderConnectionNote({ type: 'back', url: 'http://127.0.0.1:8765', awayMs: 4_250 }),
    'gateway back after 4.3 s; resuming',
  );

  // Failure messages come from the worker; their text may quote anything.
  const failed = (s: ReturnType<typeof stateFromSnapshot>) =>
    applyEvent(s, {
      type: 'failed',
      jobId: 'j1',
      error: { code: 'MEDIA', message: 'bad \x1b[2J\u202eframe', hint: 'h' },
    });
  const plain: string[] = [];
  const pv = createProgressView({ write: (c: string) => plain.push(c) }, 'plain');
  pv.update(failed(stateFromSnapshot(batch([job('j1', '/m/A.mov')]))));
  pv.note('linked    A\x07.mov -> /p/A.mov');
  assert.deepEqual(plain, [
    'failed    /m/A.mov: bad \\x1b[2J\\u202eframe\n',
    'linked    A\\x07.mov -> /p/A.mov\n',
  ]);

  const tty: string[] = [];
  const tv = createProgressView({ write: (c: string) => tty.push(c), columns: 60 }, 'tty', {
    intervalMs: 60_000,
  });
  tv.update(stateFromSnapshot(batch([job('j1', '/m/A.mov')])));
  tv.update(failed(stateFromSnapshot(batch([job('j1', '/m/A.mov')]))));
  tv.note('linked    A\x07.mov -> /p/A.mov');
  tv.stop();
  assert.equal(
    tty.at(-1),
    '\x1b[1A\r\x1b[Jfailed    /m/A.mov: bad \\x1b[2J\\u202eframe\nlinked    A\\x07.mov -> /p/A.mov\n\x1b[?25h',
  );
});
