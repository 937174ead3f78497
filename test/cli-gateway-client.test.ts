import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { test } from 'node:test';
import { createGatewayClient, parseSse } from '../cli/gateway-client.ts';
import { watchBatch } from '../cli/progress/watch-batch.ts';
import type { BatchEvent, BatchView, JobView } from '../core/job/contract.ts';
import { freePort } from './helpers/redis.ts';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
}

test('parseSse handles split chunks, CRLF, comments and multi-line data', async () => {
  const out = [];
  for await (const m of parseSse(
    streamOf([
      ': keep-alive\n\nevent: act',
      'ive\r',
      '\ndata: {"a":\r\ndata: 1}\r\n\r\n',
      'data: x\n\n',
    ]),
  )) {
    out.push(m);
  }
  assert.deepEqual(out, [
    { event: 'active', data: '{"a":\n1}' },
    { event: 'message', data: 'x' },
  ]);
});

const job = (id: string): JobView => ({
  id,
  state: 'waiting',
  source: `/m/${id}.mov`,
  proxyPath: `/p/m/${id}.mov`,
  preset: 'prores-proxy',
  attempts: 0,
  progress: null,
  result: null,
  error: null,
});

function batch(jobs: JobView[]): BatchView {
  return {
    id: 'b-1',
    createdAt: 1,
    label: null,
    preset: 'prores-proxy',
    counts: { total: jobs.length, waiting: jobs.length, active: 0, completed: 0, failed: 0 },
    jobs,
    skipped: [],
  };
}

const result = (p: string) => ({
  proxyPath: p,
  reused: false,
  codec: 'prores',
  width: 320,
  height: 180,
  frames: 24,
  audioStreams: 1,
  timecode: null,
  encodeSeconds: 1,
  worker: 'w',
});

function send(res: ServerResponse, e: BatchEvent) {
  res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
}

async function listen(server: Server): Promise<string> {
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return `http://127.0.0.1:${port}`;
}

test('watchBatch reconnects after a dropped stream and continues from the new snapshot', async () => {
  let connections = 0;
  const server = createServer((req, res) => {
    assert.equal(req.url, '/v1/batches/b-1/events');
    assert.equal(req.headers.authorization, 'Bearer tok');
    connections++;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (connections === 1) {
      send(res, { type: 'snapshot', batch: batch([job('a'), job('b')]) });
      send(res, { type: 'active', jobId: 'a' });
      // The connection breaks mid-batch, once those events are out.
      setTimeout(() => res.socket?.destroy(), 100);
      return;
    }
    if (connections === 2) {
      // The gateway restarts: refused briefly.
      res.socket?.destroy();
      return;
    }
    const a = { ...job('a'), state: 'completed' as const, result: result('/p/m/a.mov') };
    send(res, { type: 'snapshot', batch: batch([a, job('b')]) });
    send(res, { type: 'active', jobId: 'b' });
    send(res, { type: 'completed', jobId: 'b', result: result('/p/m/b.mov') });
    send(res, {
      type: 'done',
      counts: { total: 2, waiting: 0, active: 0, completed: 2, failed: 0 },
    });
    res.end();
  });
  const url = await listen(server);
  try {
    const client = createGatewayClient({ url, token: 'tok' });
    const seen: string[] = [];
    const final = await watchBatch(client, batch([job('a'), job('b')]), {
      onState: (s) => seen.push(s.jobs.map((j) => j.state).join(',')),
    });
    assert.equal(connections, 3);
    assert.ok(final.done);
    assert.deepEqual(
      final.jobs.map((j) => [j.id, j.state, j.result?.proxyPath]),
      [
        ['a', 'completed', '/p/m/a.mov'],
        ['b', 'completed', '/p/m/b.mov'],
      ],
    );
    assert.ok(seen.includes('active,waiting'), seen.join(' | '));
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('gateway errors keep their code and hint; an unreachable gateway names its URL', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: { code: 'BATCH_NOT_FOUND', message: 'no batch b-9', hint: 'check the id' },
      }),
    );
  });
  const url = await listen(server);
  try {
    const client = createGatewayClient({ url, token: '' });
    await assert.rejects(client.batch('b-9'), {
      code: 'BATCH_NOT_FOUND',
      message: 'no batch b-9',
      hint: 'check the id',
    });
    // A stream that is refused for good is not retried.
    await assert.rejects(watchBatch(client, batch([job('a')]), { onState() {} }), {
      code: 'BATCH_NOT_FOUND',
    });
  } finally {
    server.close();
  }
  const gone = createGatewayClient({ url, token: '' });
  await assert.rejects(gone.status(), {
    code: 'GATEWAY_UNREACHABLE',
    message: `gateway not reachable at ${url}`,
    hint: 'start the local stack with `proxima up`, or set gateway.url',
  });
});

test('a response that does not match the contract is a named error, not a crash later', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ removed: 'all' }));
  });
  const url = await listen(server);
  try {
    await assert.rejects(createGatewayClient({ url, token: '' }).purge(), {
      code: 'GATEWAY_BAD_RESPONSE',
    });
  } finally {
    server.close();
  }
});

test('heartbeats count as contact: a stream silent of events for longer than the give-up time survives a drop', async () => {
  let connections = 0;
  const server = createServer((_req, res) => {
    connections++;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (connections === 1) {
      // A batch queued behind a long one: no events for a while, only heartbeats, then a drop.
      send(res, { type: 'snapshot', batch: batch([job('a')]) });
      const beat = setInterval(() => res.write(': heartbeat\n\n'), 150);
      setTimeout(() => {
        clearInterval(beat);
        res.socket?.destroy();
      }, 2_500);
      return;
    }
    const a = { ...job('a'), state: 'completed' as const, result: result('/p/m/a.mov') };
    send(res, { type: 'snapshot', batch: batch([a]) });
    send(res, {
      type: 'done',
      counts: { total: 1, waiting: 0, active: 0, completed: 1, failed: 0 },
    });
    res.end();
  });
  const url = await listen(server);
  try {
    const notes: string[] = [];
    const final = await watchBatch(createGatewayClient({ url, token: '' }), batch([job('a')]), {
      onState() {},
      onConnection: (n) => notes.push(n.type),
      giveUpAfterMs: 1_000,
    });
    assert.ok(final.done);
    assert.equal(final.jobs[0]?.state, 'completed');
    assert.equal(connections, 2);
    assert.deepEqual(notes, ['lost', 'back']);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a stream that goes silent (no heartbeat) is dropped and opened again', async () => {
  let connections = 0;
  const server = createServer((_req, res) => {
    connections++;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (connections === 1) {
      // A half-open connection: the snapshot arrives, then nothing ever again.
      send(res, { type: 'snapshot', batch: batch([job('a')]) });
      return;
    }
    const a = { ...job('a'), state: 'completed' as const, result: result('/p/m/a.mov') };
    send(res, { type: 'snapshot', batch: batch([a]) });
    send(res, {
      type: 'done',
      counts: { total: 1, waiting: 0, active: 0, completed: 1, failed: 0 },
    });
    res.end();
  });
  const url = await listen(server);
  try {
    const final = await watchBatch(createGatewayClient({ url, token: '' }), batch([job('a')]), {
      onState() {},
      silenceMs: 400,
      giveUpAfterMs: 30_000,
    });
    assert.ok(final.done);
    assert.equal(connections, 2);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a gateway that stays away past the give-up time is GATEWAY_UNREACHABLE, told once', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    send(res, { type: 'snapshot', batch: batch([job('a')]) });
    // Gone for good: the socket is cut and the server stops listening.
    setTimeout(() => {
      res.socket?.destroy();
      server.close();
    }, 100);
  });
  const url = await listen(server);
  const notes: string[] = [];
  const started = Date.now();
  await assert.rejects(
    watchBatch(createGatewayClient({ url, token: '' }), batch([job('a')]), {
      onState() {},
      onConnection: (n) => notes.push(n.type),
      giveUpAfterMs: 1_500,
    }),
    (err: { code: string; message: string; hint: string }) => {
      assert.equal(err.code, 'GATEWAY_UNREACHABLE');
      assert.match(
        err.message,
        /^lost the gateway at .* while waiting for batch b-1: no contact for 2 s$/,
      );
      assert.match(err.hint, /gateway\.reconnect_seconds/);
      return true;
    },
  );
  console.log(
    `FIGURE: gave up ${((Date.now() - started) / 1000).toFixed(1)} s after the last contact (limit 1.5 s)`,
  );
  assert.deepEqual(notes, ['lost']);
});

test('retry pauses double from 0.5 s to 5 s, and the last one ends at the deadline', async () => {
  const { nextRetryMs, retryPlan } = await import('../cli/progress/watch-batch.ts');
  const pauses: number[] = [];
  let d: number | null = null;
  for (let i = 0; i < 7; i++) pauses.push((d = nextRetryMs(d)));
  assert.deepEqual(pauses, [500, 1000, 2000, 4000, 5000, 5000, 5000]);
  assert.equal(retryPlan(0, 1_000, 300_000, 5_000), 5_000);
  assert.equal(retryPlan(0, 298_000, 300_000, 5_000), 2_000);
  assert.equal(retryPlan(0, 300_000, 300_000, 5_000), null);
  assert.equal(retryPlan(0, 0, 0, 500), null);
});
