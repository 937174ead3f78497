import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decideScale,
  type EncoderState,
  type QueueLoad,
  type ScalePolicy,
} from '../gateway/autoscale/policy.ts';

const POLICY: ScalePolicy = {
  min: 0,
  max: 3,
  jobsPerEncoder: 1,
  scaleUpStep: 2,
  cooldownSeconds: 60,
  scaleToZero: true,
};
const NOW = 1_000_000;
const load = (l: Partial<QueueLoad>): QueueLoad => ({
  waiting: 0,
  prioritized: 0,
  delayedDue: 0,
  active: 0,
  ...l,
});
const enc = (spec: string): EncoderState[] =>
  [...spec].map((c) => ({ s: 'starting', i: 'idle', b: 'busy', x: 'exiting' })[c] as EncoderState);

const table: {
  name: string;
  load: Partial<QueueLoad>;
  encoders: string;
  policy?: Partial<ScalePolicy>;
  lastChangeAgo?: number | null;
  desired: number;
}[] = [
  { name: 'nothing to do, none running', load: {}, encoders: '', desired: 0 },
  { name: 'six waiting, none running: step 2', load: { waiting: 6 }, encoders: '', desired: 2 },
  {
    name: 'six waiting, two starting: up to max 3',
    load: { waiting: 6 },
    encoders: 'ss',
    desired: 3,
  },
  { name: 'prioritized jobs count', load: { prioritized: 2 }, encoders: '', desired: 2 },
  { name: 'due delayed jobs count', load: { delayedDue: 1 }, encoders: '', desired: 1 },
  { name: 'active jobs keep their encoders', load: { active: 3 }, encoders: 'bbb', desired: 3 },
  {
    name: 'exiting encoders are not counted',
    load: { waiting: 2 },
    encoders: 'xx',
    desired: 2,
  },
  {
    name: 'two jobs per encoder',
    load: { waiting: 5 },
    encoders: '',
    policy: { jobsPerEncoder: 2, scaleUpStep: 5 },
    desired: 3,
  },
  {
    name: 'idle after the cooldown: down',
    load: {},
    encoders: 'ii',
    lastChangeAgo: 120,
    desired: 0,
  },
  {
    name: 'idle within the cooldown: hold',
    load: {},
    encoders: 'ii',
    lastChangeAgo: 10,
    desired: 2,
  },
  {
    name: 'never below the busy ones',
    load: { active: 1 },
    encoders: 'bbi',
    policy: { jobsPerEncoder: 1 },
    lastChangeAgo: 120,
    // One job is active by BullMQ's count, but two encoders say busy (a finishing job).
    desired: 2,
  },
  {
    name: 'no scale to zero: one stays',
    load: {},
    encoders: 'i',
    policy: { scaleToZero: false },
    lastChangeAgo: 999,
    desired: 1,
  },
  { name: 'min is kept', load: {}, encoders: '', policy: { min: 1 }, desired: 1 },
];

for (const row of table) {
  test(`scale: ${row.name}`, () => {
    const d = decideScale(
      load(row.load),
      enc(row.encoders),
      { ...POLICY, ...row.policy },
      {
        lastChangeAt:
          row.lastChangeAgo === undefined || row.lastChangeAgo === null
            ? null
            : NOW - row.lastChangeAgo * 1000,
      },
      NOW,
    );
    assert.equal(d.desired, row.desired, d.reason);
  });
}

test('flapping load: up at once, down only after the cooldown', () => {
  let encoders: EncoderState[] = [];
  let lastChangeAt: number | null = null;
  const counts: number[] = [];
  // Every 10 s the queue alternates between 3 jobs and none, for two minutes.
  for (let t = 0; t <= 120; t += 10) {
    const now = NOW + t * 1000;
    const l = load({ waiting: t % 20 === 0 ? 3 : 0 });
    const d = decideScale(l, encoders, POLICY, { lastChangeAt }, now);
    if (d.desired !== encoders.length) lastChangeAt = now;
    encoders = Array.from({ length: d.desired }, () => 'idle' as const);
    counts.push(d.desired);
  }
  // Up at once (by the step); down only once the cooldown since the last change has run out,
  // so encoders are not started and stopped every 10 s.
  assert.deepEqual(counts, [2, 2, 3, 3, 3, 3, 3, 3, 3, 0, 2, 2, 3]);
  const downs = counts.filter((c, i) => i > 0 && c < counts[i - 1]!).length;
  assert.equal(downs, 1);
});

test('every decision says why', () => {
  const d = decideScale(load({ waiting: 1 }), enc('ii'), POLICY, { lastChangeAt: NOW - 5000 }, NOW);
  assert.equal(
    d.reason,
    '1 job waiting or running: 1 would do, but the last change was 5 s ago (cooldown 60 s)',
  );
});
