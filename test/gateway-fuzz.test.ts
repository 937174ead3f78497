import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createRedis } from '../core/broker/connection.ts';
import { apiErrorSchema, enqueueResponseSchema } from '../core/job/contract.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import { gatewayHarness, type GatewayHarness } from './helpers/gateway-fixture.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

/**
 * Hostile input thrown at the real app over a real redis-server: every request below is wrong
 * in at least one way, so each must get a 4xx, none a 5xx, and nothing may reach the queue.
 */

let redis: TestRedis;
let h: GatewayHarness;
const TOKEN = 'fuzz-token';

before(async () => {
  redis = await startRedis();
  h = await gatewayHarness(redis.url, { config: { paths: { media_roots: ['/media'] } } });
});
after(async () => {
  await h.close();
  await redis.stop();
});

interface Hostile {
  method: string;
  route: string;
  headers: Record<string, string>;
  body?: string;
  /** What makes it wrong, for the failure report. */
  why: string;
}

const JSON_TYPE = { 'content-type': 'application/json' };

// ---- the parts of a valid request, which each hostile one breaks somewhere -------------------

const name = fc.stringMatching(/^[A-Za-z0-9_ -]{1,20}$/);
const validSource = fc.record({
  path: fc.tuple(name, name).map(([d, f]) => `/media/${d}/${f}.mov`),
  size: fc.integer({ min: 0, max: 2 ** 40 }),
  mtimeMs: fc.integer({ min: 0, max: 2 ** 42 }),
});
const validBody = fc.record({
  v: fc.constant(PROTOCOL_VERSION),
  sources: fc.array(validSource, { minLength: 1, maxLength: 3 }).map((list) =>
    // Distinct file stems, so the body is valid apart from the defect added to it.
    list.map((s, i) => ({ ...s, path: s.path.replace(/\.mov$/, `-${i}.mov`) })),
  ),
});

/** Unicode that disguises text: direction overrides, C1 controls, unpaired surrogates. */
const disguise = fc.constantFrom(
  '\u202e',
  '\u202d',
  '\u2066',
  '\u200f',
  '\u0085',
  '\u001b[31m',
  '\ud800',
  '\udfff',
  '\u0007',
  '\n',
);
/** Odd but valid characters, mixed into hostile requests: NFD, fullwidth solidus, emoji. */
const oddUnicode = fc.constantFrom('e\u0301', '\uff0f', '\uff0e\uff0e', '🎬', 'ß', '\u3000');

/** Source paths the gateway must refuse (400 or 403). */
const badPath = fc.oneof(
  fc.tuple(name, name).map(([a, b]) => `/media/${a}/../${b}.mov`),
  fc.tuple(name, name).map(([a, b]) => `/media/${a}\\..\\${b}.mov`),
  fc.tuple(name, fc.constantFrom('..', '..\\', '../..')).map(([a, d]) => `/media/${a}/${d}`),
  name.map((a) => `/media/${a}\u0000.mov`),
  fc.tuple(name, disguise).map(([a, d]) => `/media/${d}${a}.mov`),
  fc.tuple(name, disguise).map(([a, d]) => `/media/${a}${d}vom.mp4`),
  // Relative however it is spelt: percent-encoded, fullwidth or NFD separators are not "/".
  name.map((a) => `%2fmedia%2f${a}.mov`),
  name.map((a) => `%2e%2e%2f%2e%2e%2fetc%2f${a}`),
  name.map((a) => `\uff0fmedia\uff0f${a}.mov`),
  name.map((a) => `me\u0301dia/${a}.mov`),
  name.map((a) => `${a}.mov`),
  fc.constantFrom('', '/', 'C:', '\\', '~/x.mov', './x.mov'),
  // Outside paths.media_roots (/media).
  name.map((a) => `/etc/${a}.mov`),
  name.map((a) => `/mediax/${a}.mov`),
  name.map((a) => `/Media/${a}.mov`),
  name.map((a) => `C:\\media\\${a}.mov`),
  name.map((a) => `\\\\nas\\media\\${a}.mov`),
  // Overlong.
  fc.integer({ min: 4097, max: 9000 }).map((n) => `/media/${'x'.repeat(n)}.mov`),
);

const wrongType = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

/** A valid body with one thing wrong in it. */
const badBody: fc.Arbitrary<{ body: string; why: string }> = fc.oneof(
  // Malformed JSON: any proper prefix of an object's text, or stray bytes in it.
  fc.tuple(validBody, fc.nat()).map(([b, n]) => {
    const text = JSON.stringify(b);
    return { body: text.slice(0, n % text.length), why: 'truncated JSON' };
  }),
  // Stray characters after the first brace, before the first value or at the end: never
  // inside a string, where they would only make an odd but valid name.
  fc
    .tuple(validBody, fc.nat(2), fc.constantFrom('}', ']', ',', "'", '\\', 'NaN', '\u0000'))
    .map(([b, where, junk]) => {
      const text = JSON.stringify(b);
      const at = [1, text.indexOf(':') + 1, text.length][where]!;
      return { body: `${text.slice(0, at)}${junk}${junk}${text.slice(at)}`, why: 'junk in JSON' };
    }),
  fc
    .constantFrom('', ' ', 'null', 'true', '0', '"x"', '[]', '{}', '{"v":2}', '\ufeff\ufeff{}')
    .map((body) => ({ body, why: 'not a batch' })),
  // Wrong types and values.
  fc
    .tuple(validBody, fc.constantFrom('v', 'sources', 'preset', 'label', 'reencode', 'skipped'))
    .chain(([b, key]) =>
      wrongType
        .filter((x) => !(key === 'v' && x === PROTOCOL_VERSION))
        .filter((x) => !(key === 'preset' && (x === 'prores-proxy' || x === 'dnxhr-lb')))
        .filter((x) => !(key === 'sources' && Array.isArray(x) && x.length > 0))
        .filter((x) => !(key === 'label' && typeof x === 'string' && x.length <= 200))
        .filter((x) => !(key === 'reencode' && typeof x === 'boolean'))
        .filter((x) => !(key === 'skipped' && Array.isArray(x) && x.length === 0))
        .map((x) => ({ body: JSON.stringify({ ...b, [key]: x }), why: `${key} of a wrong type` })),
    ),
  fc
    .tuple(validBody, fc.constantFrom('path', 'size', 'mtimeMs', 'nameClash'), wrongType)
    .filter(([, key, x]) => !(key === 'nameClash' && typeof x === 'boolean'))
    .filter(([, key, x]) => !(key === 'path' && typeof x === 'string' && x.startsWith('/media/')))
    .filter(
      ([, key, x]) => !(key !== 'path' && key !== 'nameClash' && typeof x === 'number' && x >= 0),
    )
    .map(([b, key, x]) => ({
      body: JSON.stringify({ ...b, sources: [{ ...b.sources[0], [key]: x }] }),
      why: `source ${key} of a wrong type`,
    })),
  fc
    .tuple(
      validBody,
      fc.integer().filter((v) => v !== PROTOCOL_VERSION),
    )
    .map(([b, v]) => ({ body: JSON.stringify({ ...b, v }), why: 'wrong protocol' })),
  fc
    .tuple(
      validBody,
      fc.oneof(
        fc.string(),
        oddUnicode.map((u) => `prores-pro${u}xy`),
      ),
    )
    .filter(([, p]) => p !== 'prores-proxy' && p !== 'dnxhr-lb')
    .map(([b, preset]) => ({ body: JSON.stringify({ ...b, preset }), why: 'unknown preset' })),
  // Hostile paths, alone or among good ones.
  fc.tuple(validBody, badPath, fc.boolean()).map(([b, p, first]) => {
    const bad = { path: p, size: 1, mtimeMs: 1 };
    const sources = first ? [bad, ...b.sources] : [...b.sources, bad];
    return { body: JSON.stringify({ ...b, sources }), why: `hostile path ${JSON.stringify(p)}` };
  }),
  // Unknown keys, some spelt with look-alike characters.
  fc
    .tuple(
      validBody,
      fc.oneof(
        name,
        oddUnicode.map((u) => `sour${u}ces`),
        fc.constant('__proto__'),
      ),
    )
    .filter(([b, k]) => !Object.hasOwn(b, k))
    .map(([b, k]) => ({
      body: JSON.stringify(b).replace(/^\{/, `{${JSON.stringify(k)}:1,`),
      why: `unknown key ${k}`,
    })),
  // Overlong strings and huge arrays.
  fc
    .tuple(validBody, fc.integer({ min: 201, max: 5000 }))
    .map(([b, n]) => ({ body: JSON.stringify({ ...b, label: 'L'.repeat(n) }), why: 'long label' })),
  fc.tuple(validSource, fc.constantFrom(10_001, 12_000)).map(([s, n]) => ({
    body: JSON.stringify({ v: PROTOCOL_VERSION, sources: Array.from({ length: n }, () => s) }),
    why: `${n} sources`,
  })),
  fc.constant({
    body: JSON.stringify({
      v: PROTOCOL_VERSION,
      sources: [{ path: '/media/a.mov', size: 1, mtimeMs: 1 }],
      skipped: Array.from({ length: 100_001 }, () => ({ path: '/m/s.png', reason: 'still' })),
    }),
    why: '100001 skipped',
  }),
  fc.constant({ body: `${'['.repeat(50_000)}${']'.repeat(50_000)}`, why: 'deep nesting' }),
  // Two different sources, one proxy file.
  fc.tuple(name, name).map(([d, f]) => ({
    body: JSON.stringify({
      v: PROTOCOL_VERSION,
      sources: [
        { path: `/media/${d}/${f}.mp4`, size: 1, mtimeMs: 1 },
        { path: `/media/${d}/${f}.mxf`, size: 1, mtimeMs: 1 },
      ],
    }),
    why: 'two sources, one proxy',
  })),
);

/** Header values a browser or a rebinding page could send, none of them this gateway's. */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const notOurs = (host: string) => {
  try {
    const parsed = new URL(`http://${host}/`);
    return !LOOPBACK.has(parsed.hostname.replace(/\.$/, '').toLowerCase()) || /[@/\\]/.test(host);
  } catch {
    return true;
  }
};
const headerText = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);
const hostileHost = fc
  .oneof(
    fc.domain(),
    fc.tuple(fc.domain(), fc.integer({ min: 1, max: 65535 })).map(([d, p]) => `${d}:${p}`),
    fc.constantFrom(
      'localhost@attacker.example',
      'attacker.example@localhost',
      '127.0.0.1.nip.io',
      'localhost.attacker.example',
      '[::2]',
      '0.0.0.0',
      '127.0.0.2',
      '',
      ' ',
      'localhost:8765:1',
      'local host',
    ),
    headerText,
  )
  .filter(notOurs);
const hostileOrigin = fc
  .oneof(
    fc.domain().map((d) => `http://${d}`),
    fc.domain().map((d) => `https://${d}:8443`),
    fc.constantFrom('null', 'file://', 'http://localhost@attacker.example', 'chrome-extension://x'),
    headerText,
  )
  .filter((o) => !/^https?:\/\/./i.test(o) || notOurs(o.replace(/^https?:\/\//i, '')));
const hostileType = fc.oneof(
  fc.constantFrom(
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/jsonx',
    'application/json; charset=latin1',
    'application/json, text/plain',
    'application/ json',
    'json',
    '',
  ),
  headerText.filter((t) => !/^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i.test(t)),
);

// ---- routes ---------------------------------------------------------------------------------

/** A limit the batch list accepts (as zod coerces it); those are not hostile. */
function validLimit(s: string): boolean {
  let text = s;
  try {
    text = decodeURIComponent(s);
  } catch {
    return false;
  }
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= 100;
}

const KNOWN = new Set(['health', 'status', 'workers', 'batches', 'jobs', 'purge', 'autoscale']);
const segment = fc
  .oneof(
    fc.constantFrom(
      '%2e%2e',
      '%2E%2e%2fstatus',
      '..%2f..%2f',
      '%2f',
      '%00',
      '%ff%fe',
      '%',
      '%zz',
      '*',
      'b-abc-0123ABCD',
      'px-',
      `px-${'0'.repeat(23)}g`,
      'proxima:q:batch:*',
      '%E2%80%AE',
      '%EF%BC%8F',
      'e%CC%81',
    ),
    headerText.map(encodeURIComponent),
    fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
    fc.integer({ min: 4097, max: 20_000 }).map((n) => 'x'.repeat(n)),
  )
  .filter((s) => s !== '' && !KNOWN.has(s));
function servesPage(route: string): boolean {
  const { pathname } = new URL(route, 'http://gateway');
  return pathname === '/';
}

const hostileRoute = fc.oneof(
  segment.map((s) => `/v1/batches/${s}`),
  segment.map((s) => `/v1/batches/${s}/events`),
  segment.map((s) => `/v1/jobs/${s}`),
  segment.map((s) => `/v1/${s}`),
  segment.map((s) => `/${s}`),
  segment.map((s) => `/v2/status/${s}`),
  segment.filter((s) => !validLimit(s)).map((s) => `/v1/batches?limit=${s}`),
);

/** Every request of these is wrong somewhere: in its body, a header, its route or its method. */
const hostileRequest: fc.Arbitrary<Hostile> = fc.oneof(
  {
    weight: 6,
    arbitrary: badBody.map((b) => ({
      method: 'POST',
      route: '/v1/batches',
      headers: JSON_TYPE,
      ...b,
    })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(validBody, hostileHost).map(([b, host]) => ({
      method: 'POST',
      route: '/v1/batches',
      headers: { ...JSON_TYPE, host },
      body: JSON.stringify(b),
      why: `Host ${JSON.stringify(host)}`,
    })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(validBody, hostileOrigin).map(([b, origin]) => ({
      method: 'POST',
      route: '/v1/batches',
      headers: { ...JSON_TYPE, origin },
      body: JSON.stringify(b),
      why: `Origin ${JSON.stringify(origin)}`,
    })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        validBody,
        fc.option(hostileType, { nil: undefined }),
        fc.constantFrom('/v1/batches', '/v1/purge'),
      )
      .map(([b, type, route]) => ({
        method: 'POST',
        route,
        headers: type === undefined ? ({} as Record<string, string>) : { 'content-type': type },
        body: JSON.stringify(b),
        why: `content-type ${JSON.stringify(type)}`,
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        hostileOrigin,
        fc.constantFrom('/v1/status', '/v1/batches', '/v1/workers', '/v1/autoscale'),
      )
      .map(([origin, route]) => ({
        method: 'GET',
        route,
        headers: { origin },
        why: `GET with Origin ${JSON.stringify(origin)}`,
      })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        hostileRoute,
        fc.constantFrom(
          'GET',
          'HEAD',
          'POST',
          'PUT',
          'PATCH',
          'DELETE',
          'OPTIONS',
          'PROPFIND',
          'purge',
        ),
        fc.option(badBody, { nil: undefined }),
      )
      // `/%2e%2e` and `/v1/%2e%2e` are `/` to every URL parser: the monitor's page shell, which
      // any browser may read (it holds no data).
      .filter(([route, method]) => !((method === 'GET' || method === 'HEAD') && servesPage(route)))
      .map(([route, method, b]) => ({
        method,
        route,
        headers: JSON_TYPE,
        // Never a valid batch: POST /v1/batches?limit=x is still POST /v1/batches.
        ...(b && method !== 'GET' && method !== 'HEAD' && { body: b.body }),
        why: `route ${route.slice(0, 80)}`,
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        validBody,
        fc.constantFrom('PUT', 'PATCH', 'DELETE', 'propfind'),
        fc.constantFrom('/v1/batches', '/v1/purge', '/v1/status'),
      )
      .map(([b, method, route]) => ({
        method,
        route,
        headers: JSON_TYPE,
        body: JSON.stringify(b),
        why: `${method} ${route}`,
      })),
  },
);

// ---- running them ---------------------------------------------------------------------------

let tried = 0;
let serverErrors = 0;

async function send(app: GatewayHarness['app'], r: Hostile): Promise<Response> {
  tried++;
  const res = await app.request(r.route, {
    method: r.method,
    headers: r.headers,
    ...(r.body !== undefined && { body: r.body }),
  });
  if (res.status >= 500) serverErrors++;
  return res;
}

async function assertRefused(app: GatewayHarness['app'], r: Hostile): Promise<number> {
  const res = await send(app, r);
  const text = await res.text();
  assert.ok(
    res.status >= 400 && res.status < 500,
    `${r.why}: ${r.method} ${r.route.slice(0, 100)} got ${res.status} ${text.slice(0, 300)}`,
  );
  if (r.method !== 'HEAD') {
    const err = apiErrorSchema.parse(JSON.parse(text)).error;
    assert.doesNotMatch(err.message, /[\n\r]/, r.why);
    assert.ok(err.hint.length > 0, r.why);
  }
  return res.status;
}

/** Jobs and batch records of the fuzzed queue: none may exist. */
async function enqueuedCount(harness: GatewayHarness): Promise<number> {
  const counts = await harness.inspect.getJobCounts(
    'waiting',
    'prioritized',
    'delayed',
    'active',
    'completed',
    'failed',
  );
  const client = createRedis(redis.url);
  try {
    const batches = await client.keys(`proxima:${harness.config.broker.queue}:batch*`);
    return Object.values(counts).reduce((a, b) => a + b, 0) + batches.length;
  } finally {
    await client.quit();
  }
}

test('5,000 generated hostile requests: all 4xx, no 5xx, nothing queued', async () => {
  const started = performance.now();
  const before = tried;
  await fc.assert(
    fc.asyncProperty(hostileRequest, async (r) => {
      await assertRefused(h.app, r);
    }),
    // fast-check prints the seed of a failing run, to replay it with { seed, path }.
    { numRuns: 5_000 },
  );
  const n = tried - before;
  const enqueued = await enqueuedCount(h);
  console.log(
    `FIGURE: hostile requests tried: ${n}, 5xx: ${serverErrors}, jobs enqueued: ${enqueued} (generated, ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  assert.ok(n >= 5_000);
  assert.equal(serverErrors, 0);
  assert.equal(enqueued, 0);
});

test('with a token, any other Authorization is a 401 and queues nothing', async () => {
  const guarded = await gatewayHarness(redis.url, { config: { gateway: { token: TOKEN } } });
  try {
    const auth = fc
      .oneof(
        headerText,
        headerText.map((t) => `Bearer ${t}`),
        fc.constantFrom(
          `Bearer ${TOKEN}x`,
          `Bearer ${TOKEN.slice(1)}`,
          `Basic ${btoa(TOKEN)}`,
          TOKEN,
        ),
      )
      .filter((a) => !new RegExp(`^bearer[ \\t]+${TOKEN}[ \\t]*$`, 'i').test(a));
    const before = tried;
    await fc.assert(
      fc.asyncProperty(fc.tuple(validBody, auth), async ([b, authorization]) => {
        const status = await assertRefused(guarded.app, {
          method: 'POST',
          route: '/v1/batches',
          headers: { ...JSON_TYPE, authorization },
          body: JSON.stringify(b),
          why: `authorization ${JSON.stringify(authorization)}`,
        });
        assert.equal(status, 401);
      }),
      { numRuns: 1_000 },
    );
    const enqueued = await enqueuedCount(guarded);
    console.log(
      `FIGURE: hostile requests tried: ${tried - before}, 5xx: ${serverErrors}, jobs enqueued: ${enqueued} (bad bearer tokens)`,
    );
    assert.equal(enqueued, 0);
  } finally {
    await guarded.close();
  }
});

test('about 100 targeted hostile requests, each refused with its own status and code', async () => {
  const b = (sources: unknown[], extra: object = {}) =>
    JSON.stringify({ v: PROTOCOL_VERSION, sources, ...extra });
  const src = (p: string) => ({ path: p, size: 1, mtimeMs: 1 });
  const batch = (body: string, status: number, code: string, why: string): Targeted => ({
    request: { method: 'POST', route: '/v1/batches', headers: JSON_TYPE, body, why },
    status,
    code,
  });
  interface Targeted {
    request: Hostile;
    status: number;
    code: string;
  }
  const cases: Targeted[] = [];
  const refusedPaths: [string, number][] = [
    ['/media/../etc/passwd', 400],
    ['/media/a/../../etc/shadow.mov', 400],
    ['/media/a\\..\\..\\etc.mov', 400],
    ['/media/..', 400],
    ['/media/a/..\\b.mov', 400],
    ['/media/\u0000.mov', 400],
    ['/media/a\u0000/../../etc', 400],
    ['/media/\u202egnp.mov', 400],
    ['/media/clip\u202d.mov', 400],
    ['/media/\u2066x\u2069.mov', 400],
    ['/media/\u200fx.mov', 400],
    ['/media/\u001b[2Jx.mov', 400],
    ['/media/line\nbreak.mov', 400],
    ['/media/tab\there.mov', 400],
    ['/media/\u0085.mov', 400],
    ['/media/\ud800.mov', 400],
    ['/media/\udc00x.mov', 400],
    ['%2fmedia%2fx.mov', 400],
    ['%2e%2e%2f%2e%2e%2fetc%2fpasswd', 400],
    ['..%2f..%2fetc%2fpasswd', 400],
    ['\uff0fmedia\uff0fx.mov', 400],
    ['\uff0e\uff0e/etc/passwd', 400],
    ['me\u0301dia/x.mov', 400],
    ['media/x.mov', 400],
    ['./x.mov', 400],
    ['~/x.mov', 400],
    ['x', 400],
    ['/', 400],
    ['C:', 400],
    [`/media/${'a'.repeat(4100)}.mov`, 400],
    ['/etc/passwd', 403],
    ['/mediax/a.mov', 403],
    ['/Media/a.mov', 403],
    ['/srv/media/a.mov', 403],
    ['/medi/a.mov', 403],
    ['D:\\media\\a.mov', 403],
    ['\\\\nas\\media\\a.mov', 403],
    ['//media/a.mov', 403],
  ];
  for (const [p, status] of refusedPaths) {
    cases.push(
      batch(
        b([src('/media/ok.mov'), src(p)]),
        status,
        status === 403 ? 'SOURCE_OUTSIDE_MEDIA_ROOTS' : 'INVALID_REQUEST',
        `path ${JSON.stringify(p)}`,
      ),
    );
  }
  const bodies: [string, string, string][] = [
    ['', 'BAD_JSON', 'empty body'],
    ['{', 'BAD_JSON', 'open brace'],
    ['{"v":2,"sources":[', 'BAD_JSON', 'cut short'],
    ["{'v':2}", 'BAD_JSON', 'single quotes'],
    ['{"v":2,}', 'BAD_JSON', 'trailing comma'],
    ['{"v":NaN}', 'BAD_JSON', 'NaN'],
    ['\u0000', 'BAD_JSON', 'NUL body'],
    ['null', 'INVALID_REQUEST', 'null'],
    ['[]', 'INVALID_REQUEST', 'array'],
    ['"batch"', 'INVALID_REQUEST', 'string'],
    ['{}', 'INVALID_REQUEST', 'empty object'],
    [b([]), 'INVALID_REQUEST', 'no sources'],
    [JSON.stringify({ v: 1, sources: [src('/media/a.mov')] }), 'INVALID_REQUEST', 'protocol 1'],
    [
      JSON.stringify({ v: PROTOCOL_VERSION + 1, sources: [src('/media/a.mov')] }),
      'INVALID_REQUEST',
      'the next protocol',
    ],
    [JSON.stringify({ v: '2', sources: [src('/media/a.mov')] }), 'INVALID_REQUEST', 'v as text'],
    [JSON.stringify({ sources: [src('/media/a.mov')] }), 'INVALID_REQUEST', 'no v'],
    [b([src('/media/a.mov')], { preset: 'prores' }), 'INVALID_REQUEST', 'unknown preset'],
    [b([src('/media/a.mov')], { preset: 'PRORES-PROXY' }), 'INVALID_REQUEST', 'preset case'],
    [b([src('/media/a.mov')], { label: 'x'.repeat(201) }), 'INVALID_REQUEST', 'long label'],
    [b([src('/media/a.mov')], { reencode: 'yes' }), 'INVALID_REQUEST', 'reencode text'],
    [b([src('/media/a.mov')], { priority: 1 }), 'INVALID_REQUEST', 'unknown key'],
    [b([src('/media/a.mov')], { ['__proto__']: { admin: true } }), 'INVALID_REQUEST', 'proto'],
    [b([{ ...src('/media/a.mov'), size: -1 }]), 'INVALID_REQUEST', 'negative size'],
    [b([{ ...src('/media/a.mov'), size: 1.5 }]), 'INVALID_REQUEST', 'fractional size'],
    [b([{ ...src('/media/a.mov'), size: '1' }]), 'INVALID_REQUEST', 'size as text'],
    [b([{ ...src('/media/a.mov'), mtimeMs: null }]), 'INVALID_REQUEST', 'null mtime'],
    [b([{ ...src('/media/a.mov'), nameClash: 'no' }]), 'INVALID_REQUEST', 'nameClash text'],
    [b([{ path: ['/media/a.mov'], size: 1, mtimeMs: 1 }]), 'INVALID_REQUEST', 'path array'],
    [b([src('/media/d/A.mp4'), src('/media/d/A.mxf')]), 'PROXY_PATH_CLASH', 'one proxy'],
    [
      b([src('/media/a.mov')], { skipped: [{ path: '', reason: 'x' }] }),
      'INVALID_REQUEST',
      'empty skipped path',
    ],
    [
      b([src('/media/a.mov')], { skipped: [{ path: '/m/a.png' }] }),
      'INVALID_REQUEST',
      'skipped without reason',
    ],
    [
      b([src('/media/a.mov')], {
        resolve: {
          project: 'P',
          timelines: [],
          clips: [{ mediaId: 'm', name: 'n', source: '/media/z.mov' }],
        },
      }),
      'INVALID_REQUEST',
      'resolve clip of no source',
    ],
    [`${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`, '', 'deep nesting'],
  ];
  for (const [body, code, why] of bodies) {
    cases.push(batch(body, 400, code, why));
  }
  const good = b([src('/media/good.mov')]);
  const headerCases: [Record<string, string>, number, string][] = [
    [{ 'content-type': 'text/plain' }, 415, 'BAD_CONTENT_TYPE'],
    [{ 'content-type': 'application/x-www-form-urlencoded' }, 415, 'BAD_CONTENT_TYPE'],
    [{ 'content-type': 'multipart/form-data; boundary=x' }, 415, 'BAD_CONTENT_TYPE'],
    [{ 'content-type': 'application/json; charset=utf-16' }, 415, 'BAD_CONTENT_TYPE'],
    [{ 'content-type': 'application/jsonp' }, 415, 'BAD_CONTENT_TYPE'],
    [{ 'content-type': 'text/json' }, 415, 'BAD_CONTENT_TYPE'],
    [{}, 415, 'BAD_CONTENT_TYPE'],
    [{ ...JSON_TYPE, host: 'attacker.example' }, 403, 'HOST_NOT_ALLOWED'],
    [{ ...JSON_TYPE, host: 'attacker.example:8765' }, 403, 'HOST_NOT_ALLOWED'],
    [{ ...JSON_TYPE, host: 'localhost.attacker.example' }, 403, 'HOST_NOT_ALLOWED'],
    [{ ...JSON_TYPE, host: '127.0.0.1.nip.io' }, 403, 'HOST_NOT_ALLOWED'],
    [{ ...JSON_TYPE, host: 'attacker.example@localhost' }, 403, 'HOST_NOT_ALLOWED'],
    [{ ...JSON_TYPE, host: '127.0.0.2' }, 403, 'HOST_NOT_ALLOWED'],
    [{ ...JSON_TYPE, host: '' }, 403, 'HOST_NOT_ALLOWED'],
    [{ ...JSON_TYPE, origin: 'http://attacker.example' }, 403, 'ORIGIN_NOT_ALLOWED'],
    [{ ...JSON_TYPE, origin: 'null' }, 403, 'ORIGIN_NOT_ALLOWED'],
    [{ ...JSON_TYPE, origin: 'http://localhost.attacker.example' }, 403, 'ORIGIN_NOT_ALLOWED'],
    [{ ...JSON_TYPE, origin: 'http://localhost@attacker.example' }, 403, 'ORIGIN_NOT_ALLOWED'],
    [{ ...JSON_TYPE, origin: 'file://' }, 403, 'ORIGIN_NOT_ALLOWED'],
  ];
  for (const [headers, status, code] of headerCases) {
    cases.push({
      request: {
        method: 'POST',
        route: '/v1/batches',
        headers,
        body: good,
        why: JSON.stringify(headers),
      },
      status,
      code,
    });
  }
  const routes: [string, string, number][] = [
    ['GET', '/v1/batches/%2e%2e', 404],
    ['GET', '/v1/batches/%2e%2e%2f%2e%2e%2fstatus', 400],
    ['GET', '/v1/batches/..%2f..%2fstatus', 400],
    ['GET', '/v1/batches/%00', 400],
    ['GET', '/v1/batches/proxima:q:batch:%2A', 400],
    ['GET', '/v1/batches/b-abc-0123ABCD', 400],
    ['GET', '/v1/batches/b-abc-0123abcd%0a', 400],
    ['GET', '/v1/batches/%E2%80%AEb-abc-0123abcd', 400],
    ['GET', `/v1/batches/${'b'.repeat(10_000)}`, 400],
    ['GET', '/v1/jobs/px-%2e%2e', 400],
    ['GET', `/v1/jobs/px-${'0'.repeat(23)}%EF%BC%8F`, 400],
    ['GET', '/v1/jobs/%2fetc%2fpasswd', 400],
    ['GET', '/v1/batches?limit=0', 400],
    ['GET', '/v1/batches?limit=-1', 400],
    ['GET', '/v1/batches?limit=1e9', 400],
    ['GET', '/v1/batches?limit=abc', 400],
    ['GET', '/v1/%2e%2e/status', 404],
    ['GET', '/v1/status/extra', 404],
    ['GET', '/v2/status', 404],
    ['PUT', '/v1/batches', 404],
    ['DELETE', '/v1/batches', 404],
    ['PATCH', '/v1/purge', 404],
    ['POST', '/v1/status', 404],
    ['PROPFIND', '/v1/batches', 404],
  ];
  for (const [method, route, status] of routes) {
    cases.push({
      request: {
        method,
        route,
        headers: JSON_TYPE,
        ...(method !== 'GET' && { body: '{}' }),
        why: `${method} ${route.slice(0, 60)}`,
      },
      status,
      code: status === 404 ? 'NOT_FOUND' : 'INVALID',
    });
  }
  // A body over the limit.
  cases.push(
    batch(
      b(Array.from({ length: 2200 }, (_, i) => src(`/media/${'x'.repeat(4000)}${i}.mov`))),
      413,
      'BODY_TOO_LARGE',
      'over 8 MiB',
    ),
  );

  const before = tried;
  const wrong: string[] = [];
  for (const c of cases) {
    const res = await send(h.app, c.request);
    const text = await res.text();
    const err = apiErrorSchema.safeParse(JSON.parse(text)).data?.error;
    if (res.status !== c.status || !err?.code.startsWith(c.code) || /[\n\r]/.test(err.message)) {
      // JSON-quoted: the reasons hold NUL, direction overrides and half surrogates.
      wrong.push(JSON.stringify([c.request.why, res.status, text.slice(0, 200)]));
    }
  }
  assert.deepEqual(wrong, []);
  const enqueued = await enqueuedCount(h);
  console.log(
    `FIGURE: hostile requests tried: ${tried - before}, 5xx: ${serverErrors}, jobs enqueued: ${enqueued} (targeted)`,
  );
  assert.ok(cases.length >= 100, `${cases.length} cases`);
  assert.equal(enqueued, 0);
});

test('odd but valid names are queued, each proxy path inside paths.proxy_root', async () => {
  const own = await gatewayHarness(redis.url);
  try {
    const root = path.resolve(own.proxyRoot);
    const piece = fc.oneof(name, oddUnicode, fc.stringMatching(/^[^\\/\u0000-\u001f]{1,12}$/));
    const oddPath = fc
      .array(piece, { minLength: 2, maxLength: 5 })
      .map((parts) => `/media/${parts.join('/')}.mov`)
      .filter((p) => !p.split(/[\\/]/).includes('..'))
      .filter(
        (p) => !/[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/u.test(p),
      );
    await fc.assert(
      fc.asyncProperty(oddPath, async (p) => {
        const res = await own.app.request('/v1/batches', {
          method: 'POST',
          headers: JSON_TYPE,
          body: JSON.stringify({
            v: PROTOCOL_VERSION,
            sources: [{ path: p, size: 1, mtimeMs: 1 }],
          }),
        });
        assert.equal(res.status, 201, `${JSON.stringify(p)}: ${await res.clone().text()}`);
        const proxy = enqueueResponseSchema.parse(await res.json()).batch.jobs[0]!.proxyPath;
        assert.equal(path.resolve(proxy), proxy);
        assert.ok(proxy.startsWith(root + path.sep), proxy);
        assert.ok(!path.relative(root, proxy).split(path.sep).includes('..'), proxy);
      }),
      { numRuns: 300 },
    );
  } finally {
    await own.close();
  }
});
