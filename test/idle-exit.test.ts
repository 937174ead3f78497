import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIdleWatch } from '../encoder-image/idle-exit.ts';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('idle exit: fires once after the last job ends, never while a job runs, never at 0', async () => {
  let fired = 0;
  const watch = createIdleWatch(0.15, () => (fired += 1));
  watch.start();
  watch.started('a', '/m/a.mov');
  await wait(300);
  assert.equal(fired, 0, 'a running job keeps it alive');
  watch.started('b', '/m/b.mov');
  watch.ended('a');
  await wait(300);
  assert.equal(fired, 0, 'one job still running');
  watch.ended('b');
  await wait(300);
  assert.equal(fired, 1);
  await wait(300);
  assert.equal(fired, 1, 'only once');

  let never = 0;
  const off = createIdleWatch(0, () => (never += 1));
  off.start();
  off.started('a', '/m/a.mov');
  off.ended('a');
  await wait(100);
  assert.equal(never, 0);
  off.stop();
});
