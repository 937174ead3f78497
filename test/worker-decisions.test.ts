import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guardedCommand } from '../encoder-image/child-guard.ts';
import { lockLost, stalledIntervalFor } from '../encoder-image/lock-watch.ts';
import { advanced, tick } from '../encoder-image/stall-watch.ts';
import { stopBudget, stopSummary } from '../encoder-image/stop-plan.ts';

test('ffmpeg runs under setpriv --pdeathsig KILL where there is one, plainly elsewhere', () => {
  assert.deepEqual(guardedCommand('/usr/bin/setpriv', '/opt/ffmpeg', ['-i', 'a b.mov']), {
    file: '/usr/bin/setpriv',
    args: ['--pdeathsig', 'KILL', '--', '/opt/ffmpeg', '-i', 'a b.mov'],
  });
  assert.deepEqual(guardedCommand(null, '/opt/ffmpeg', ['-i', 'x']), {
    file: '/opt/ffmpeg',
    args: ['-i', 'x'],
  });
});

test('a stall is no progress for stall_seconds; a pause of this process itself is not one', () => {
  const p = { pct: 10, frame: 25, fps: 25, speed: 1, outSec: 1 };
  assert.equal(advanced(undefined, p), true);
  assert.equal(advanced(p, { ...p, fps: 0, speed: 0 }), false, 'the same block again');
  assert.equal(advanced(p, { ...p, frame: 26 }), true);
  let clock = { advancedAt: 0, tickAt: 0 };
  for (let t = 1000; t < 5000; t += 1000) {
    const r = tick(clock, t, 1000, 5000);
    assert.equal(r.stalled, false, `at ${t}`);
    clock = r.clock;
  }
  assert.equal(tick(clock, 5000, 1000, 5000).stalled, true);
  // 60 s between two looks: SIGSTOP or a suspended machine; the clock starts again.
  const woke = tick({ advancedAt: 0, tickAt: 0 }, 60_000, 1000, 5000);
  assert.deepEqual(woke, { clock: { advancedAt: 60_000, tickAt: 60_000 }, stalled: false });
});

test('a lock unrenewed for lock_seconds is lost; stalled checks run every few seconds', () => {
  assert.equal(lockLost(0, 29_999, 30_000), false);
  assert.equal(lockLost(0, 30_000, 30_000), true);
  assert.equal(stalledIntervalFor(30_000), 4000);
  assert.equal(stalledIntervalFor(3000), 750);
  assert.equal(stalledIntervalFor(2000), 500);
});

test('a stop ends within stop_seconds: finishing first, handing back in the last part', () => {
  assert.deepEqual(stopBudget(30), { finishMs: 25_000, hardMs: 29_500 });
  assert.deepEqual(stopBudget(4), { finishMs: 2000, hardMs: 3600 });
  assert.deepEqual(stopBudget(1), { finishMs: 500, hardMs: 900 });
  assert.equal(
    stopSummary({
      finished: [],
      handedBack: ['a'],
      abandoned: ['b', 'c'],
      lost: [],
      seconds: 3.21,
    }),
    'worker stopped after 3.2 s; handed back to the queue: a; abandoned (another worker takes them once their lock expires): b, c',
  );
  assert.equal(
    stopSummary({ finished: [], handedBack: [], abandoned: [], lost: [], seconds: 0 }),
    'worker stopped after 0.0 s; no job was running',
  );
});
