import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis, type RedisOptions } from 'ioredis';
import { pino } from 'pino';
import { redactingOptions } from '../core/log.ts';
import { redactText, redactUrl } from '../core/secrets/redact.ts';
import {
  cliSandbox,
  runCli,
  startCli,
  type CliSandbox,
  type RunningCli,
} from './helpers/cli-run.ts';
import { makeClip } from './helpers/cli-media.ts';
import { descendants, procInfo, type ProcInfo } from './helpers/processes.ts';
import { freePort } from './helpers/redis.ts';

// A broker password must never be readable where it does not belong: terminal output, logs
// (also debug lines after a refused login), `config show`, and the command lines of the
// processes `proxima up` starts, which any local user can read with ps.

const PASSWORD = 'Sw0rdfish-9c41e7';
const WRONG = 'Wr0ngGuess-77d0aa';

interface SecureRedis {
  port: number;
  /** The URL with the right password (and user, for an ACL broker). */
  url(password?: string): string;
  /** The CA certificate a client must trust (TLS only). */
  ca: string | null;
  stop(): Promise<void>;
}

/**
 * A redis-server that wants a password, configured through its stdin so the password is not
 * on its own command line either.
 */
async function startSecureRedis(kind: 'requirepass' | 'acl' | 'tls'): Promise<SecureRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'proxima-secure-redis-'));
  const lines = [
    'bind 127.0.0.1',
    "save ''",
    'appendonly no',
    `dir ${dir}`,
    // With TLS the plain port is off: every client must speak TLS.
    kind === 'tls' ? `port 0\ntls-port ${port}` : `port ${port}`,
  ];
  if (kind === 'acl') {
    lines.push('user default off', `user proxima on >${PASSWORD} ~* &* +@all`);
  } else {
    lines.push(`requirepass ${PASSWORD}`);
  }
  const tls = kind === 'tls' ? makeCerts(dir) : null;
  if (tls) {
    lines.push(
      `tls-cert-file ${tls.cert}`,
      `tls-key-file ${tls.key}`,
      `tls-ca-cert-file ${tls.ca}`,
      'tls-auth-clients no',
    );
  }
  const child: ChildProcess = spawn('redis-server', ['-'], { stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin!.end(`${lines.join('\n')}\n`);
  const exited = new Promise((r) => child.once('exit', r));
  const scheme = tls ? 'rediss' : 'redis';
  const user = kind === 'acl' ? 'proxima' : '';
  const url = (password = PASSWORD) => `${scheme}://${user}:${password}@127.0.0.1:${port}`;
  const options: RedisOptions = tls ? { tls: { ca: readFileSync(tls.ca) } } : {};
  await waitReady(url(), options);
  return {
    port,
    url,
    ca: tls?.ca ?? null,
    async stop() {
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A CA and a server certificate for 127.0.0.1, made with openssl. */
function makeCerts(dir: string): { ca: string; cert: string; key: string } {
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  // Clients check the address they dial against the certificate.
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
  );
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
  );
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    f('server.crt'),
    '-extfile',
    f('san.ext'),
  );
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

async function waitReady(url: string, options: RedisOptions): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const client = new Redis(url, { ...options, lazyConnect: true, retryStrategy: null });
    client.on('error', () => {});
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    } finally {
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function assertNoSecret(text: string, what: string): void {
  for (const secret of [PASSWORD, WRONG]) {
    assert.ok(!text.includes(secret), `${what} shows the password:\n${text}`);
  }
}

/** Every process below `pid`, sampled while it works: none may carry the password in argv. */
function watchCommandLines(pid: number): { stop(): ProcInfo[] } {
  // Keyed by pid and command line: a child is first seen between fork and exec with its
  // parent's line, and must be seen again once it has become ffmpeg.
  const seen = new Map<string, ProcInfo>();
  const sample = () => {
    for (const p of descendants(pid)) {
      const key = `${p.pid} ${p.argv.join('\0')}`;
      if (!seen.has(key)) seen.set(key, p);
    }
  };
  sample();
  const timer = setInterval(sample, 25);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return [...seen.values()];
    },
  };
}

async function stopCli(cli: RunningCli, signal: NodeJS.Signals = 'SIGINT') {
  cli.child.kill(signal);
  return cli.done;
}

for (const kind of ['requirepass', 'acl', 'tls'] as const) {
  describe(`broker with ${kind}`, () => {
    let redis: SecureRedis;
    let box: CliSandbox;
    let port: number;
    let clip: string;
    before(async () => {
      redis = await startSecureRedis(kind);
      port = await freePort();
      box = sandboxFor(redis.url());
      // Long enough for the ffmpeg encode to be seen while it runs, also on a loaded machine
      // where the 25 ms sampling falls behind (one 640x360 6-s encode was missed in CI).
      clip = await makeClip(path.join(box.root, 'media'), 'A001C001', 'h264-stereo', {
        width: 1280,
        height: 720,
        seconds: 10,
      });
    });
    after(() => redis.stop());

    function sandboxFor(url: string): CliSandbox {
      const b = cliSandbox({
        broker: { url },
        gateway: { listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` },
        worker: { broker_wait_seconds: 20 },
      });
      // The CLI and the worker it starts trust the test CA the way a user would make them.
      if (redis.ca) b.env.NODE_EXTRA_CA_CERTS = redis.ca;
      return b;
    }

    test('config show hides the password and keeps the rest of the URL', async () => {
      const r = await runCli(['config', 'show'], { env: box.env });
      assert.equal(r.code, 0, r.stderr);
      assertNoSecret(r.stdout + r.stderr, 'config show');
      assert.ok(r.stdout.includes(redactUrl(redis.url())), r.stdout);
      assert.match(r.stdout, /url: rediss?:\/\/(proxima)?:\*\*\*@127\.0\.0\.1:\d+/);
    });

    test('up --verbose encodes a clip; no output and no command line of a child has the password', async () => {
      const up = startCli(['--verbose', 'up', '--workers', '1'], { env: box.env });
      let children: ProcInfo[] = [];
      try {
        await up.waitFor(/press Ctrl-C to stop/, 120_000);
        const watch = watchCommandLines(up.child.pid!);
        await up.waitFor(/worker ready/, 120_000);
        const q = await runCli(['queue', clip, '--json'], { env: box.env, timeoutMs: 180_000 });
        children = watch.stop();
        assert.equal(q.code, 0, `${q.stdout}\n${q.stderr}`);
        assertNoSecret(q.stdout + q.stderr, 'queue');
        assert.match(up.stdout(), /^broker rediss?:\/\/(proxima)?:\*\*\*@127\.0\.0\.1:\d+$/m);
        assert.match(up.stderr(), /worker ready/);
      } finally {
        await stopCli(up);
      }
      const out = up.stdout() + up.stderr();
      assertNoSecret(out, 'up --verbose');
      const kinds = children.map(
        (p) => path.basename(p.argv[0] ?? '') + ' ' + p.argv.slice(1, 3).join(' '),
      );
      // The worker, and the ffprobe and ffmpeg it ran, were all seen and checked.
      assert.ok(
        children.some((p) => p.argv.includes('work')),
        kinds.join('\n'),
      );
      // ffmpeg starts as `setpriv ... -- ffmpeg ...` and then becomes ffmpeg: either is its line.
      assert.ok(
        children.some((p) =>
          p.argv.some((a, i) => /ffmpeg$/.test(a) && (i === 0 || p.argv[i - 1] === '--')),
        ),
        kinds.join('\n'),
      );
      for (const p of children) assertNoSecret(p.argv.join(' '), `command line of ${p.argv[0]}`);
    });

    test('work --verbose: the ready line and debug lines hide the password', async () => {
      const work = startCli(['--verbose', 'work', '-n', '1'], { env: box.env });
      try {
        await work.waitFor(/worker ready/, 120_000);
        const me = procInfo(work.child.pid!);
        assertNoSecret(me?.argv.join(' ') ?? '', 'the worker command line');
      } finally {
        const r = await stopCli(work, 'SIGTERM');
        assert.equal(r.code, 0, r.stderr);
      }
      assertNoSecret(work.stdout() + work.stderr(), 'work --verbose');
      assert.match(work.stderr(), /rediss?:\/\/(proxima)?:\*\*\*@127\.0\.0\.1/);
    });

    test('a wrong password: one clear error at once, neither password printed', async () => {
      const wrong = sandboxFor(redis.url(WRONG));
      const t0 = Date.now();
      const work = await runCli(['--verbose', 'work', '-n', '1'], { env: wrong.env });
      const seconds = (Date.now() - t0) / 1000;
      console.log(
        `FIGURE: work with a wrong ${kind} password: refused after ${seconds.toFixed(1)} s`,
      );
      assert.equal(work.code, 1, work.stderr);
      assertNoSecret(work.stdout + work.stderr, 'work with a wrong password');
      assert.match(
        work.stderr,
        /^error: broker at rediss?:\/\/(proxima)?:\*\*\*@127\.0\.0\.1:\d+ refused the login/m,
      );
      assert.match(work.stderr, /^hint: put the right user and password in broker\.url/m);
      // Well before worker.broker_wait_seconds (20): waiting does not mend a password.
      assert.ok(seconds < 15, `took ${seconds} s`);

      const up = await runCli(['--verbose', 'up', '--workers', '1'], {
        env: wrong.env,
        timeoutMs: 120_000,
      });
      assert.equal(up.code, 1, up.stderr);
      assertNoSecret(up.stdout + up.stderr, 'up with a wrong password');
      assert.match(
        up.stderr,
        /^error: broker at rediss?:\/\/(proxima)?:\*\*\*@127\.0\.0\.1:\d+ refused the login/m,
      );
      assert.match(up.stderr, /^hint: put the right user and password in broker\.url/m);
    });
  });
}

test('a mistyped broker URL is refused without printing its password', async () => {
  const box = cliSandbox();
  for (const bad of [`http://:${PASSWORD}@127.0.0.1:6379`, `redis:/proxima:${PASSWORD}@h`]) {
    const viaEnv = await runCli(['config', 'validate'], {
      env: { ...box.env, PROXIMA_BROKER__URL: bad },
    });
    const viaFile = cliSandbox({ broker: { url: bad } });
    const inFile = await runCli(['up'], { env: viaFile.env });
    for (const r of [viaEnv, inFile]) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /key broker\.url has bad value/);
      assertNoSecret(r.stdout + r.stderr, 'a config error');
    }
  }
});

test('the logger hides passwords in failed commands, URLs, messages and child bindings', () => {
  const lines: string[] = [];
  const log = pino(
    { level: 'debug', ...redactingOptions },
    { write: (s: string) => lines.push(s) },
  );
  const refused = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
    command: { name: 'hello', args: ['3', 'AUTH', 'default', PASSWORD] },
  });
  const child = log.child({ broker: `redis://:${PASSWORD}@10.0.0.5:6379` });
  child.debug({ err: refused }, 'broker connection error');
  child.warn({ err: new Error('wrapped', { cause: refused }) }, 'worker error');
  child.info({ target: `rediss://proxima:${PASSWORD}@h:6380/0` }, `to redis://:${PASSWORD}@h`);
  child.info({ url: `redis://h:6379?password=${PASSWORD}&db=1` }, 'query form');
  const all = lines.join('');
  assertNoSecret(all, 'the log');
  assert.match(all, /"broker":"redis:\/\/:\*\*\*@10\.0\.0\.5:6379"/);
  assert.match(all, /"args":\["3","\*\*\*","\*\*\*","\*\*\*"\]/);
  assert.match(all, /"target":"rediss:\/\/proxima:\*\*\*@h:6380\/0"/);
  assert.match(all, /"url":"redis:\/\/h:6379\?password=\*\*\*&db=1"/);
});

test('redactUrl and redactText keep everything but the password', () => {
  assert.equal(redactUrl(`redis://:${PASSWORD}@127.0.0.1:6379`), 'redis://:***@127.0.0.1:6379');
  assert.equal(redactUrl(`rediss://bob:${PASSWORD}@h:1/2`), 'rediss://bob:***@h:1/2');
  assert.equal(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  assert.equal(redactUrl(''), '');
  assert.equal(redactText(`a redis://u:${PASSWORD}@h:1 b`), 'a redis://u:***@h:1 b');
});
