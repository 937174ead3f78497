import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FlowProducer, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { readJobBatches, readJobFields, readJobStates } from '../gateway/queue/job-reads.ts';
import { streamIdAfter } from '../gateway/queue/job-queue.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let redis: TestRedis;
let connection: Redis;
before(async () => {
  redis = await startRedis();
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
});
after(async () => {
  connection.disconnect();
  await redis.stop();
});

test('every BullMQ state of many jobs in one script call agrees with BullMQ, waiting ones among thousands included', async () => {
  const name = `reads-${Date.now()}`;
  const queue = new Queue(name, { connection });
  const prefix = `${queue.qualifiedName}:`;
  // One job of each outcome, through a real worker: one completes, one fails for good.
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  const worker = new Worker(
    name,
    async (job: Job) => {
      if (job.id === 'fails') throw new Error('bad file');
      if (job.id === 'runs') await held;
      return { proxy: `/p/${job.id}.mov` };
    },
    { connection, concurrency: 3 },
  );
  try {
    await queue.add('encode', { n: 1 }, { jobId: 'done' });
    await queue.add('encode', { n: 2 }, { jobId: 'fails' });
    await queue.add('encode', { n: 3 }, { jobId: 'runs' });
    const until = async (id: string, state: string) => {
      for (let i = 0; i < 200 && (await queue.getJobState(id)) !== state; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    await until('done', 'completed');
    await until('fails', 'failed');
    await until('runs', 'active');
    // Waiting ones behind thousands of others, delayed, prioritized, and a parent of a flow, on
    // a queue no worker takes from (with 'runs' still active on the first).
    const idle = new Queue(`${name}-idle`, { connection });
    await idle.addBulk(
      Array.from({ length: 3000 }, (_, i) => ({
        name: 'encode',
        data: { i },
        opts: { jobId: `w${i}` },
      })),
    );
    await idle.add('encode', {}, { jobId: 'later', delay: 60_000 });
    await idle.add('encode', {}, { jobId: 'first', priority: 1 });
    await new FlowProducer({ connection }).add({
      name: 'encode',
      queueName: idle.name,
      opts: { jobId: 'parent' },
      children: [{ name: 'chunk', queueName: idle.name, opts: { jobId: 'child' } }],
    });
    const worked = ['done', 'fails', 'runs'];
    const ids = ['w0', 'w2999', 'later', 'first', 'parent', 'gone'];
    const states = [
      ...(await readJobStates(connection, prefix, worked)),
      ...(await readJobStates(connection, `${idle.qualifiedName}:`, ids)),
    ];
    const bull = [
      ...(await Promise.all(worked.map((id) => queue.getJobState(id)))),
      ...(await Promise.all(ids.map((id) => idle.getJobState(id)))),
    ];
    assert.deepEqual(states, bull);
    assert.deepEqual(states, [
      'completed',
      'failed',
      'active',
      'waiting',
      'waiting',
      'delayed',
      'prioritized',
      'waiting-children',
      'unknown',
    ]);
    // More ids than one call takes: still in order.
    const many = Array.from({ length: 3000 }, (_, i) => `w${i}`);
    const manyStates = await readJobStates(connection, `${idle.qualifiedName}:`, many);
    assert.equal(manyStates.length, many.length);
    assert.ok(manyStates.every((s) => s === 'waiting'));
    await idle.obliterate({ force: true });
    await idle.close();

    const [done, fails, gone] = await readJobFields(connection, prefix, ['done', 'fails', 'gone']);
    assert.equal(gone, null);
    assert.deepEqual(JSON.parse(done!.returnvalue!), { proxy: '/p/done.mov' });
    assert.deepEqual(JSON.parse(done!.data!), { n: 1 });
    assert.equal(done!.attemptsMade, 1);
    assert.equal(fails!.failedReason, 'bad file');
  } finally {
    release();
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
});

test('stream ids compare by time, then sequence, as numbers', () => {
  assert.ok(streamIdAfter('1700000000001-0', '1700000000000-9'));
  assert.ok(streamIdAfter('1700000000000-10', '1700000000000-9'));
  assert.ok(!streamIdAfter('1700000000000-9', '1700000000000-9'));
  assert.ok(!streamIdAfter('0-0', '1-0'));
});

test('the batch each stored payload names, read without the payloads', async () => {
  const prefix = `bull:batches-${Date.now()}:`;
  await connection.hset(`${prefix}a`, 'data', JSON.stringify({ batchId: 'b-1', source: {} }));
  await connection.hset(`${prefix}b`, 'data', JSON.stringify({ source: {} }));
  await connection.hset(`${prefix}c`, 'data', 'not json');
  assert.deepEqual(await readJobBatches(connection, prefix, ['a', 'b', 'c', 'gone']), [
    'b-1',
    null,
    null,
    null,
  ]);
});
