import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { browserCommand, monitorUrl } from '../cli/commands/mon.ts';
import type { JobView } from '../core/job/contract.ts';
import { PROXIMA_VERSION, PROTOCOL_VERSION } from '../core/version.ts';
import { monitorPageRoutes, PAGE_CSP } from '../gateway/monitor/assets.ts';
import {
  batchPercent,
  batchTitle,
  duration,
  elapsedSeconds,
  etaSeconds,
  jobPercent,
} from '../gateway/monitor/page/format.ts';
import { parseRoute, routeHash } from '../gateway/monitor/page/route.ts';
import { makeClip } from './helpers/cli-media.ts';
import { cliSandbox, runCli } from './helpers/cli-run.ts';
import { startFakeKube, type FakeKube } from './helpers/fake-kube.ts';
import { startFarm, type Farm } from './helpers/farm.ts';
import { gatewayHarness, silentLogger } from './helpers/gateway-fixture.ts';
import {
  proc,
  realFfmpeg,
  startWorkerProc,
  waitFor,
  type WorkerProc,
} from './helpers/worker-procs.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/**
 * The screenshots land in docs/ (the README shows them) only when asked for, so a test run
 * does not rewrite them each time: UPDATE_SCREENSHOTS=1.
 */
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? path.join(ROOT, 'docs')
  : mkdtempSync(path.join(tmpdir(), 'proxima-shots-'));
const CHROMIUM = '/usr/bin/chromium';

describe('page helpers', () => {
  test('ETA from frames left at the current rate, else from the time so far', () => {
    const progress = { pct: 25, frame: 50, fps: 10, speed: 0.4, outSec: 2 };
    assert.equal(etaSeconds({ state: 'active', progress, startedAt: 0 }, 10_000), 15);
    const noRate = { ...progress, fps: 0 };
    assert.equal(etaSeconds({ state: 'active', progress: noRate, startedAt: 0 }, 10_000), 30);
    assert.equal(etaSeconds({ state: 'waiting', progress, startedAt: 0 }, 10_000), null);
    assert.equal(etaSeconds({ state: 'active', progress: null }, 10_000), null);
    const early = { ...progress, pct: 0.5 };
    assert.equal(etaSeconds({ state: 'active', progress: early, startedAt: 0 }, 10_000), null);
    const chunks = [{ index: 0, start: 0, frames: 50, state: 'active' as const, worker: 'w' }];
    assert.equal(etaSeconds({ state: 'active', progress, startedAt: 0, chunks }, 10_000), 30);
  });

  test('elapsed runs while active and stops at the end; a done clip is full', () => {
    assert.equal(elapsedSeconds({ state: 'active', startedAt: 1000 }, 6000), 5);
    assert.equal(
      elapsedSeconds({ state: 'completed', startedAt: 1000, finishedAt: 3000 }, 9000),
      2,
    );
    assert.equal(elapsedSeconds({ state: 'waiting' }, 9000), null);
    const joined = { state: 'completed' as const, startedAt: 8000, finishedAt: 9000 };
    const result = { encodeSeconds: 42 } as NonNullable<JobView['result']>;
    assert.equal(elapsedSeconds({ ...joined, result }, 9000), 42);
    assert.equal(jobPercent({ state: 'completed', progress: null }), 100);
    assert.equal(duration(42), '42 s');
    assert.equal(duration(187), '3:07');
    assert.equal(duration(3723), '1:02:03');
  });

  test('a batch is named by its label, else by the Resolve project and timelines', () => {
    const resolve = { project: 'Feature', timelines: ['Edit v3', 'Trailer'] };
    assert.deepEqual(batchTitle({ id: 'b-1', label: 'Day 1', resolve }), {
      title: 'Day 1',
      subtitle: 'Feature / Edit v3, Trailer',
    });
    assert.deepEqual(
      batchTitle({ id: 'b-1', label: null, resolve }).title,
      'Feature / Edit v3, Trailer',
    );
    assert.equal(batchTitle({ id: 'b-1', label: null }).title, 'b-1');
    const counts = { total: 4, waiting: 1, active: 1, completed: 1, failed: 1 };
    assert.equal(batchPercent(counts), 50);
  });

  test('routes round-trip through the fragment, and nothing else gets in', () => {
    const route = {
      view: 'batch' as const,
      id: 'b-m1abc-0123abcd',
      state: 'failed',
      q: 'A001 é',
      offset: 100,
    };
    assert.deepEqual(parseRoute(routeHash(route)), route);
    assert.deepEqual(parseRoute('#/search?q=C004'), { view: 'search', q: 'C004' });
    assert.deepEqual(parseRoute('#/batch/../../etc'), { view: 'overview' });
    assert.deepEqual(parseRoute('#/batch/b-m1abc-0123abcd?state=evil'), {
      view: 'batch',
      id: 'b-m1abc-0123abcd',
      offset: 0,
    });
  });
});

describe('the page shell', () => {
  let built: string;
  before(() => {
    built = mkdtempSync(path.join(tmpdir(), 'proxima-monitor-'));
    writeFileSync(path.join(built, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(path.join(built, 'main-ABCDEFGH.js'), `console.log(${'1+'.repeat(2000)}1);`);
    writeFileSync(path.join(built, 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(path.join(built, 'notes.txt'), 'not served');
  });

  test('index.html: HTML, a strict CSP, nosniff, asked again each time (304 when unchanged)', async () => {
    const app = monitorPageRoutes({ logger: silentLogger }, built);
    const res = await app.request('/');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('content-security-policy'), PAGE_CSP);
    assert.match(PAGE_CSP, /default-src 'self'/);
    assert.match(PAGE_CSP, /script-src 'self'(;|$)/);
    assert.doesNotMatch(PAGE_CSP, /unsafe/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const etag = res.headers.get('etag')!;
    assert.ok(etag);
    const again = await app.request('/', { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });

  test('hashed files are kept for good and sent gzipped to who asks', async () => {
    const app = monitorPageRoutes({ logger: silentLogger }, built);
    const res = await app.request('/monitor/main-ABCDEFGH.js', {
      headers: { 'accept-encoding': 'gzip, br' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    const text = gunzipSync(Buffer.from(await res.arrayBuffer())).toString();
    assert.ok(text.startsWith('console.log('));
    const icon = await app.request('/monitor/icon.svg');
    assert.equal(icon.headers.get('content-type'), 'image/svg+xml');
    assert.equal(icon.headers.get('cache-control'), 'no-cache');
  });

  test('only plain files of the folder with a known type are served', async () => {
    const app = monitorPageRoutes({ logger: silentLogger }, built);
    for (const p of [
      '/monitor/notes.txt',
      '/monitor/..%2Fpackage.json',
      '/monitor/%2E%2E%2F%2E%2E%2Fpackage.json',
      '/monitor/.hidden.js',
      '/monitor/missing-ABCDEFGH.js',
    ]) {
      const res = await app.request(p);
      assert.equal(res.status, 404, p);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    }
  });

  test('no build: a 503 page that names the fix', async () => {
    const app = monitorPageRoutes({ logger: silentLogger }, path.join(built, 'nothing-here'));
    for (const p of ['/', '/monitor/main-ABCDEFGH.js']) {
      const res = await app.request(p);
      assert.equal(res.status, 503);
      assert.match(await res.text(), /npm run build/);
      assert.equal(res.headers.get('content-security-policy'), PAGE_CSP);
    }
  });

  describe('in the gateway', () => {
    let redis: TestRedis;
    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      await redis.stop();
    });

    test('with gateway.token the shell is served without it; the data is not', async () => {
      const gw = await gatewayHarness(redis.url, { config: { gateway: { token: 'shell-token' } } });
      try {
        const page = await gw.app.request('http://127.0.0.1:8765/');
        // 200 once built, 503 before: either way not refused for want of a token.
        assert.ok([200, 503].includes(page.status), String(page.status));
        assert.equal(page.headers.get('content-security-policy'), PAGE_CSP);
        const data = await gw.app.request('http://127.0.0.1:8765/v1/status');
        assert.equal(data.status, 401);
      } finally {
        await gw.close();
      }
    });
  });
});

describe('proxima mon', () => {
  test('the URL is gateway.url as a folder, without credentials; never the token', () => {
    assert.equal(monitorUrl('http://127.0.0.1:8765'), 'http://127.0.0.1:8765/');
    assert.equal(
      monitorUrl('https://u:p@farm.example/proxima?x=1#y'),
      'https://farm.example/proxima/',
    );
  });

  test('the opener takes the URL as one argument; no display, no opener', () => {
    const url = 'http://farm:8765/';
    assert.deepEqual(browserCommand('linux', { DISPLAY: ':0' }, url), {
      command: 'xdg-open',
      args: [url],
    });
    assert.equal(browserCommand('linux', {}, url), null);
    assert.deepEqual(browserCommand('darwin', {}, url), { command: 'open', args: [url] });
    assert.equal(browserCommand('darwin', { SSH_CONNECTION: '1 2 3 4' }, url), null);
    assert.deepEqual(browserCommand('win32', {}, url)?.args, ['url.dll,FileProtocolHandler', url]);
  });

  test('--print prints the URL; without a display it prints it too; the token never', async () => {
    const box = cliSandbox({ gateway: { url: 'http://127.0.0.1:1', token: 'mon-secret-token' } });
    const env = { ...box.env, DISPLAY: '', WAYLAND_DISPLAY: '' };
    const printed = await runCli(['mon', '--print'], { env });
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout, 'http://127.0.0.1:1/\n');
    const headless = await runCli(['mon'], { env });
    assert.equal(headless.code, 0, headless.stderr);
    assert.equal(headless.stdout, 'http://127.0.0.1:1/\n');
    assert.match(headless.stderr, /no gateway answers/);
    assert.match(headless.stderr, /cannot open a browser \(no display here\)/);
    assert.match(headless.stderr, /asks for the gateway token/);
    for (const out of [printed, headless]) {
      assert.doesNotMatch(out.stdout + out.stderr, /mon-secret-token/);
    }
  });

  test('with a display, xdg-open is started with the URL as its only argument', async () => {
    const box = cliSandbox({ gateway: { url: 'http://127.0.0.1:1' } });
    const bin = path.join(box.root, 'bin');
    mkdirSync(bin);
    const record = path.join(box.root, 'opened.txt');
    const opener = path.join(bin, 'xdg-open');
    // No shell string reaches it: it records its arguments one a line.
    writeFileSync(opener, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > '${record}'\n`);
    chmodSync(opener, 0o755);
    const env = { ...box.env, DISPLAY: ':99', PATH: `${bin}:${box.env.PATH}` };
    const r = await runCli(['mon'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'opened http://127.0.0.1:1/ in the default browser\n');
    assert.equal(readFileSync(record, 'utf8'), 'http://127.0.0.1:1/\n');
  });
});

/** The routes of docs/monitor-api.md this page needs, as the gateway has them. */
function monitorApiPresent(): boolean {
  const app = readFileSync(path.join(ROOT, 'gateway', 'app.ts'), 'utf8');
  return ['sessionRoutes', 'monitorEventRoutes', 'searchRoutes', 'actionRoutes'].every((r) =>
    app.includes(r),
  );
}

const noBrowser = existsSync(CHROMIUM) ? false : `no ${CHROMIUM}`;

describe('the monitor in a browser', { skip: noBrowser }, () => {
  const TOKEN = 'monitor-test-token-7f3a9c';
  let farm: Farm;
  let kube: FakeKube;
  let workers: WorkerProc[] = [];
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let media: string;
  let dayOne: Record<'c001' | 'c002' | 'interview' | 'c004', string>;
  let c004Bytes: Buffer;
  let c004Mtime: Date;
  let batchA: string;
  let restarted: ChildProcess | undefined;
  const requested: string[] = [];

  /** The farm's gateway process (gateway/main.ts, a child of this one). */
  const gatewayPid = (): number | undefined =>
    readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .find((pid) => {
        const p = proc(pid);
        return p?.ppid === process.pid && p.argv.includes('gateway/main.ts');
      });

  before(async () => {
    assert.ok(monitorApiPresent(), 'the gateway lacks routes of docs/monitor-api.md');
    // The page as it is now, not a build of older sources.
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--monitor'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    const work = mkdtempSync(path.join(tmpdir(), 'proxima-mon-'));
    media = path.join(work, 'Footage');
    const day1 = path.join(media, 'Day 1');
    const [c001, c002, interview, c004] = await Promise.all([
      makeClip(day1, 'A001_C001', 'h264-stereo', { seconds: 6 }),
      makeClip(day1, 'A001_C002', 'h264-stereo', { seconds: 6 }),
      makeClip(day1, 'B002_Interview', 'h264-stereo', { seconds: 16 }),
      makeClip(day1, 'A001_C004', 'h264-stereo', { seconds: 4 }),
    ]);
    dayOne = { c001, c002, interview, c004 };
    // A card copy gone wrong: the file's first bytes zeroed, the same size. Put back later
    // with the same size and time, it is the file that was queued, and a retry encodes it.
    c004Bytes = readFileSync(dayOne.c004);
    const broken = Buffer.from(c004Bytes);
    broken.fill(0, 0, 256);
    writeFileSync(dayOne.c004, broken);
    c004Mtime = statSync(dayOne.c004).mtime;
    await Promise.all(
      [1, 2, 3, 4].map((i) =>
        makeClip(path.join(media, 'Day 2'), `C10${i}`, 'h264-stereo', { seconds: 12 }),
      ),
    );

    // Encodes (not the stream-copy join of chunks) read their input at its own rate, so a
    // clip takes as long as it lasts and the page can be watched while it runs.
    const ffmpeg = path.join(work, 'ffmpeg-realtime-encodes');
    writeFileSync(
      ffmpeg,
      `#!/bin/sh\ncase " $* " in *" -c:v prores_ks "*) exec '${realFfmpeg()}' -re "$@";; esac\nexec '${realFfmpeg()}' "$@"\n`,
    );
    chmodSync(ffmpeg, 0o755);
    // The autoscaler sizes an encoder Deployment of a stand-in Kubernetes API, so the page has
    // its counts and decisions to show; the encoding is done by the workers started below.
    kube = await startFakeKube();
    kube.deployments.set('proxima/proxima-encoder', 0);
    farm = await startFarm({
      workers: 0,
      config: {
        gateway: { token: TOKEN },
        autoscale: { backend: 'kubernetes', min: 0, max: 3, interval_seconds: 1 },
        kubernetes: { kubeconfig: kube.kubeconfig },
        ffmpeg: { path: ffmpeg },
        // Day 1's interview is chunked, the other clips are not.
        chunking: { min_seconds: 14, chunk_seconds: 2 },
        worker: { nice: 0 },
      },
    });
    workers = ['bay-1', 'bay-2'].map((name) =>
      startWorkerProc({ ...farm.sandbox.env, PROXIMA_ENCODER__INSTANCE: name }),
    );
    await Promise.all(workers.map((w) => w.waitLog(/worker ready/)));

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking'],
    });
    // Reduced motion: bars jump to their width, so a screenshot never catches one mid-way.
    context = await browser.newContext({
      viewport: { width: 1280, height: 860 },
      reducedMotion: 'reduce',
    });
    page = await context.newPage();
    page.on('request', (r) => requested.push(r.url()));
  });

  after(async () => {
    await browser?.close();
    if (restarted && restarted.exitCode === null) {
      restarted.kill('SIGTERM');
      await new Promise((r) => restarted!.once('exit', r));
    }
    await stopWorkers();
    await farm?.stop();
    await kube?.stop();
    kube?.cleanup();
  });

  const job = (name: string) => page.getByRole('article', { name });
  const pctOf = async (name: string) =>
    Number(await job(name).getByRole('progressbar').getAttribute('aria-valuenow'));
  /** `proxima queue ARGS --no-wait --json`, as a script runs it: the batch's id. */
  const queue = async (args: string[]) => {
    const q = await runCli(['queue', ...args, '--no-wait', '--json', '--no-preflight'], {
      env: farm.sandbox.env,
    });
    assert.equal(q.code, 0, q.stderr);
    return (JSON.parse(q.stdout) as { batch: string }).batch;
  };
  /** SIGTERM: each finishes what it runs and exits. */
  const stopWorkers = () =>
    Promise.all(
      workers.map(async (w) => {
        w.child.kill('SIGTERM');
        await w.exited;
      }),
    );

  test('a token is needed: the data routes refuse without it, a wrong one is an error', async () => {
    for (const route of ['/v1/status', '/v1/monitor/events', '/v1/search?q=A001', '/metrics']) {
      const res = await fetch(`${farm.gatewayUrl}${route}`);
      assert.equal(res.status, 401, route);
    }
    await page.goto(`${farm.gatewayUrl}/`);
    const field = page.getByLabel('Gateway token');
    await field.waitFor();
    await field.fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('That is not the gateway token.').waitFor();
    assert.equal((await context.cookies()).length, 0);

    await field.fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Batches' }).waitFor();
    await page.getByText('live', { exact: true }).waitFor();
    const [cookie] = await context.cookies();
    assert.equal(cookie?.name, 'proxima_session');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');
    assert.doesNotMatch(cookie!.value, new RegExp(TOKEN));

    // The cookie reads; a write with it but without the CSRF header does not.
    const status = await page.request.get(`${farm.gatewayUrl}/v1/status`);
    assert.equal(status.status(), 200);
    const forged = await page.request.post(`${farm.gatewayUrl}/v1/purge`, { data: {} });
    assert.equal(forged.status(), 403);
    assert.equal(
      ((await forged.json()) as { error: { code: string } }).error.code,
      'CSRF_MISMATCH',
    );
  });

  test('a batch: every clip with its bar, which moves and reaches 100 %; a corrupt file says why', async () => {
    batchA = await queue([...Object.values(dayOne), '--label', 'Day 1 — A cam']);

    await page.getByRole('link', { name: /Day 1 — A cam/ }).click();
    await page.getByRole('heading', { name: 'Day 1 — A cam' }).waitFor();
    assert.match(page.url(), new RegExp(`#/batch/${batchA}$`));

    // The bar is sampled while the clip encodes: some reading between the ends, rising.
    const seen: number[] = [];
    const facts = new Set<string>();
    await waitFor(
      'A001_C001.mov at 100 %',
      async () => {
        seen.push(await pctOf('A001_C001.mov'));
        facts.add(await job('A001_C001.mov').locator('.job-facts').innerText());
        return seen.at(-1) === 100;
      },
      90_000,
    );
    // While it ran: its rate, time left, worker and time so far.
    const running = [...facts].find((f) => /\d+ fps/.test(f) && /ETA \d/.test(f));
    assert.ok(running, [...facts].join(' | '));
    assert.match(running, /bay-[12]/);
    assert.match(running, /\d+ s elapsed/);
    const between = seen.filter((v) => v > 0 && v < 100);
    assert.ok(between.length >= 2, `readings: ${seen.join(' ')}`);
    assert.ok(
      seen.every((v, i) => i === 0 || v >= seen[i - 1]!),
      `the bar went back: ${seen.join(' ')}`,
    );

    const failed = job('A001_C004.mov');
    await failed.getByText('failed', { exact: true }).waitFor({ timeout: 60_000 });
    const reason = await failed.getByRole('group', { name: /why it failed/ }).innerText();
    const api = (await (
      await page.request.get(`${farm.gatewayUrl}/v1/batches/${batchA}`)
    ).json()) as { jobs: { source: string; error: { code: string; hint: string } | null }[] };
    const err = api.jobs.find((j) => j.source === dayOne.c004)!.error!;
    assert.ok(reason.includes(err.code) && reason.includes(err.hint), reason);

    await waitFor(
      'every good clip done',
      async () =>
        (await Promise.all(['A001_C002.mov', 'B002_Interview.mov'].map(pctOf))).every(
          (v) => v === 100,
        ),
      120_000,
    );
    await job('B002_Interview.mov').getByText('chunks 8/8').waitFor();
    await page.getByText('3 of 4 done · 1 failed').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'monitor-batch.png'), fullPage: true });
  });

  test('retry: the failed clip is queued again and encoded', async () => {
    // The card copied again: the same bytes as before, the same size and time as queued.
    writeFileSync(dayOne.c004, c004Bytes);
    utimesSync(dayOne.c004, c004Mtime, c004Mtime);
    await job('A001_C004.mov').getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('status').getByText('A001_C004.mov queued again').waitFor();
    await waitFor(
      'A001_C004.mov at 100 %',
      async () => (await pctOf('A001_C004.mov')) === 100,
      60_000,
    );
    await page.getByText('4 of 4 done').waitFor();
  });

  test('find a clip by name across batches', async () => {
    const search = page.getByRole('searchbox', { name: 'Find a clip by name or path' });
    await search.fill('interview');
    await search.press('Enter');
    await page.getByRole('heading', { name: 'Clips matching “interview”' }).waitFor();
    const hit = page.getByRole('link', { name: /B002_Interview\.mov/ });
    await hit.click();
    await page.getByRole('heading', { name: 'Day 1 — A cam' }).waitFor();
    await job('B002_Interview.mov').waitFor();
    assert.equal(await page.getByRole('article').count(), 1);
  });

  test('a gateway restart: the page reconnects and shows the same, still signed in', async () => {
    const pid = gatewayPid();
    assert.ok(pid, 'no gateway process');
    process.kill(pid, 'SIGTERM');
    await page.getByText('reconnecting…').waitFor({ timeout: 30_000 });
    await waitFor('the gateway gone', () => !proc(pid), 30_000);
    const log = createWriteStream(path.join(farm.sandbox.root, 'logs', 'gateway-restarted.log'));
    restarted = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
      cwd: ROOT,
      env: farm.sandbox.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    restarted.stdout!.pipe(log);
    restarted.stderr!.pipe(log);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 60_000 });
    await page.getByRole('heading', { name: 'Day 1 — A cam' }).waitFor();
    await job('B002_Interview.mov').getByText('done').waitFor();
    assert.equal(await page.getByLabel('Gateway token').count(), 0);
  });

  test('the workers: name, version, protocol, current job, uptime, jobs done', async () => {
    await page.getByRole('link', { name: 'Proxima' }).click();
    const table = page.getByRole('table');
    for (const name of ['bay-1', 'bay-2']) {
      const row = table.getByRole('row').filter({ hasText: name });
      await row.waitFor();
      const cells = await row.getByRole('cell').allInnerTexts();
      assert.equal(cells[1], PROXIMA_VERSION);
      assert.equal(cells[2], String(PROTOCOL_VERSION));
      assert.match(cells[3]!, /idle/);
      assert.match(cells[4]!, /\d+ (s|min)/);
      assert.ok(Number(cells[5]) > 0, `jobs done: ${cells[5]}`);
    }
    const scaler = page.getByRole('region', { name: 'Autoscaler' });
    await scaler.getByText(/encoders running, \d+ wanted/).waitFor();
    await scaler.getByText('kubernetes, proxima/proxima-encoder', { exact: false }).waitFor();
    assert.ok((await scaler.getByRole('listitem').count()) > 0, 'no decision shown');
    await page.getByRole('heading', { name: 'Throughput, last hour' }).waitFor();
    await page.locator('.chart canvas').waitFor();
  });

  test('cancel a batch: waiting clips removed, running ones stopped', async () => {
    const batchB = await queue([path.join(media, 'Day 2'), '--label', 'Day 2 — B cam']);
    await page.getByRole('link', { name: 'Proxima' }).click();
    const card = page.getByRole('link', { name: /Day 2 — B cam/ });
    await card.getByText(/2 running · 2 waiting/).waitFor({ timeout: 30_000 });
    await waitFor(
      'both workers on Day 2',
      async () =>
        (await page
          .getByRole('row')
          .filter({ hasText: /C10\d\.mov/ })
          .count()) === 2,
      30_000,
    );
    const dismiss = page.getByRole('button', { name: 'Dismiss' });
    if (await dismiss.count()) await dismiss.click();
    await page.screenshot({ path: path.join(SHOTS, 'monitor-overview.png'), fullPage: true });

    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      reducedMotion: 'reduce',
      storageState: await context.storageState(),
    });
    try {
      const small = await phone.newPage();
      await small.goto(`${farm.gatewayUrl}/#/batch/${batchB}`);
      await small.getByRole('heading', { name: 'Day 2 — B cam' }).waitFor();
      await waitFor(
        'a clip past 20 % on the phone',
        async () =>
          (await small
            .getByRole('progressbar')
            .evaluateAll((bars) =>
              bars.slice(1).some((b) => Number(b.getAttribute('aria-valuenow')) > 20),
            )) as boolean,
        30_000,
      );
      const width = await small.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `the page is ${width} px wide on a 390 px phone`);
      await small.screenshot({ path: path.join(SHOTS, 'monitor-phone.png') });
    } finally {
      await phone.close();
    }

    await card.click();
    await page.getByRole('heading', { name: 'Day 2 — B cam' }).waitFor();
    await page.getByRole('button', { name: 'Cancel batch' }).click();
    await page.getByRole('button', { name: 'Yes, cancel' }).click();
    await page
      .getByRole('status')
      .getByText('Batch cancelled: 2 waiting clips removed, 2 running clips stopped')
      .waitFor();
    await page.getByText(/0 of \d done · 2 failed/).waitFor({ timeout: 30_000 });
    for (const row of await page.getByRole('article').all()) {
      assert.notEqual(await row.locator('.badge').innerText(), 'encoding');
    }
    await page.getByRole('link', { name: /Failed/ }).click();
    await page.waitForURL(/state=failed/);
    // Only the stopped clips are failed ones: the removed ones are gone.
    await waitFor(
      'the failed filter',
      async () => {
        const rows = page.getByRole('article');
        return (
          (await rows.count()) === 2 && (await rows.filter({ hasText: 'CANCELLED' }).count()) === 2
        );
      },
      10_000,
    );
  });

  test('purge, sign out; no token in any URL or log line', async () => {
    // No worker left to take them: the clips queued now stay waiting.
    await stopWorkers();
    await queue([path.join(media, 'Day 2')]);
    await page.getByRole('link', { name: 'Proxima' }).click();
    await page.getByRole('button', { name: 'Purge waiting jobs' }).click();
    await page.getByRole('button', { name: 'Yes, purge' }).click();
    await page.getByRole('status').getByText('Purged: 4 waiting jobs removed').waitFor();

    // Signed out, the cookie is gone: the form again, and the data refused.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Gateway token').waitFor();
    assert.equal((await page.request.get(`${farm.gatewayUrl}/v1/status`)).status(), 401);

    assert.ok(requested.length > 10);
    for (const url of requested) assert.ok(!url.includes(TOKEN), url);
    const logs = ['gateway.log', 'gateway-restarted.log']
      .map((f) => readFileSync(path.join(farm.sandbox.root, 'logs', f), 'utf8'))
      .join('');
    assert.match(logs, /monitor signed in/);
    assert.ok(!logs.includes(TOKEN), 'the token is in the gateway log');
  });
});
