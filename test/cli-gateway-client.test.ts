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
