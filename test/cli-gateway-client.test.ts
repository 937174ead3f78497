import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { test } from 'node:test';
import { createGatewayClient, parseSse, protocolOf } from '../cli/gateway-client.ts';
import { watchBatch } from '../cli/progress/watch-batch.ts';
import type { BatchEvent, BatchView, JobView } from '../core/job/contract.ts';
import { PROTOCOL_VERSION, PROXIMA_VERSION } from '../core/version.ts';
import { cliSandbox, runCli } from './helpers/cli-run.ts';
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

/** A gateway stand-in: /v1/health says `protocol`; every other request goes to `handler`. */
function standIn(handler: RequestListener, protocol: number = PROTOCOL_VERSION): Server {
  return createServer((req, res) => {
    if (req.url === '/v1/health') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: true, version: '9.1.0', protocol }));
      return;
    }
    handler(req, res);
  });
}

async function listen(server: Server): Promise<string> {
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return `http://127.0.0.1:${port}`;
}

test('watchBatch reconnects after a dropped stream and continues from the new snapshot', async () => {
  let connections = 0;
  const server = standIn((req, res) => {
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
  const server = standIn((_req, res) => {
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
  const server = standIn((_req, res) => {
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
  const server = standIn((_req, res) => {
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
  const server = standIn((_req, res) => {
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
  const server = standIn((_req, res) => {
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

test('a gateway of another protocol: one line naming both versions, and nothing sent to it', async () => {
  const requests: string[] = [];
  const older = PROTOCOL_VERSION - 1;
  const server = standIn((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(500).end();
  }, older);
  const url = await listen(server);
  try {
    const client = createGatewayClient({ url, token: '' });
    const expected = `this proxima (v${PROXIMA_VERSION}) speaks protocol ${PROTOCOL_VERSION}, the gateway at ${url} (v9.1.0) speaks protocol ${older}`;
    for (const call of [
      () => client.status(),
      () =>
        client.enqueue({
          v: PROTOCOL_VERSION,
          sources: [{ path: '/m/a.mov', size: 1, mtimeMs: 1 }],
        }),
      () => client.batch('b-1'),
    ]) {
      await assert.rejects(call(), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'PROTOCOL_MISMATCH');
        assert.equal(err.message, expected);
        return true;
      });
    }
    assert.deepEqual(requests, [], 'nothing but /v1/health reached the other version');

    // The real CLI, as an editor runs it: exit 1, the versions on the error line.
    const sandbox = cliSandbox({ gateway: { url } });
    const run = await runCli(['status'], { env: sandbox.env });
    const firstLine = run.stderr.split('\n')[0];
    console.log(
      `FIGURE: proxima status against a protocol ${older} gateway: exit ${run.code}: ${firstLine}`,
    );
    assert.notEqual(run.code, 0);
    assert.equal(firstLine, `error: ${expected}`);
    assert.deepEqual(requests, []);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('without a usable /v1/health, the protocol in a response still stops the CLI', async () => {
  const server = createServer((req, res) => {
    if (req.url === '/v1/health') return void res.writeHead(404).end();
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ version: '4.0.0', protocol: PROTOCOL_VERSION + 1, queue: 'q' }));
  });
  const url = await listen(server);
  try {
    await assert.rejects(createGatewayClient({ url, token: '' }).status(), {
      code: 'PROTOCOL_MISMATCH',
      message: new RegExp(
        `speaks protocol ${PROTOCOL_VERSION}, .* \\(v4\\.0\\.0\\) speaks protocol ${PROTOCOL_VERSION + 1}$`,
      ),
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
  assert.deepEqual(protocolOf({ protocol: 3, version: '1' }), { protocol: 3, version: '1' });
  assert.equal(protocolOf({ protocol: '3' }), undefined);
  assert.equal(protocolOf(null), undefined);
});
