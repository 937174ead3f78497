import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../core/config/load.ts';
import { registrySource } from '../core/update/registry-source.ts';
import { startUpdateCheck, UPDATE_STATE_FILE } from '../core/update/update-check.ts';
import {
  CHECK_INTERVAL_MS,
  checkDue,
  compareVersions,
  isNewer,
  updateNotice,
} from '../core/update/update-decision.ts';
import { PROXIMA_VERSION } from '../core/version.ts';
import { cliSandbox, runCli, startCli, type CliSandbox } from './helpers/cli-run.ts';
import { until } from './helpers/processes.ts';
import { freePort } from './helpers/redis.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};
const NOTICE = new RegExp(`${pkg.name} \\S+ is published \\(this is ${pkg.version}\\)`);

test('compareVersions orders by semver precedence, prereleases below their release', () => {
  const ordered = [
    '0.1.0',
    '0.1.1',
    '0.2.0-alpha',
    '0.2.0-alpha.1',
    '0.2.0-alpha.beta',
    '0.2.0-beta.2',
    '0.2.0-beta.11',
    '0.2.0-rc.1',
    '0.2.0',
    '0.10.0',
    '1.0.0',
    '10.0.0',
  ];
  for (let i = 0; i < ordered.length; i++) {
    for (let j = 0; j < ordered.length; j++) {
      const want = Math.sign(i - j);
      assert.equal(
        compareVersions(ordered[i]!, ordered[j]!),
        want,
        `${ordered[i]} vs ${ordered[j]}`,
      );
    }
  }
  assert.equal(compareVersions('1.2.3+build.5', '1.2.3'), 0);
  assert.equal(compareVersions('v1.2.3', '1.2.3'), 0);
  assert.equal(compareVersions('1.2', '1.2.0'), undefined);
  assert.equal(compareVersions('latest', '1.2.0'), undefined);
  assert.equal(compareVersions('1.0.0-', '1.0.0'), undefined);
});

test('isNewer: only a higher release or prerelease; junk from the registry is not newer', () => {
  assert.equal(isNewer('0.1.0', '0.2.0'), true);
  assert.equal(isNewer('0.1.0', '0.1.0'), false);
  assert.equal(isNewer('0.2.0', '0.1.9'), false);
  assert.equal(isNewer('0.2.0', '0.2.0-rc.1'), false);
  assert.equal(isNewer('0.2.0-rc.1', '0.2.0'), true);
  assert.equal(isNewer('0.1.0', '\u001b[31m9.9.9'), false);
  assert.equal(isNewer('0.1.0', ''), false);
});

test('checkDue: no record, a day-old record or a record from the future asks; a fresher one does not', () => {
  const now = 1_800_000_000_000;
  assert.equal(checkDue(undefined, now), true);
  assert.equal(checkDue({ checkedAt: now - 1000, latest: '1.0.0' }, now), false);
  assert.equal(checkDue({ checkedAt: now - CHECK_INTERVAL_MS + 1, latest: '1.0.0' }, now), false);
  assert.equal(checkDue({ checkedAt: now - CHECK_INTERVAL_MS, latest: '1.0.0' }, now), true);
  assert.equal(checkDue({ checkedAt: now + 60_000, latest: '1.0.0' }, now), true);
});

test('updateNotice is one line naming both versions and the install command', () => {
  assert.equal(
    updateNotice('proxima-farm', '0.1.0', '0.2.0'),
    'proxima-farm 0.2.0 is published (this is 0.1.0); update with: npm install -g proxima-farm',
  );
});

test('the loader reads CI and npm_config_registry for the check', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'proxima-home-'));
  const load = (env: NodeJS.ProcessEnv) => loadConfig({ env, home, platform: 'linux' });
  for (const ci of ['1', 'true', 'TRUE', 'yes', 'github']) assert.equal(load({ CI: ci }).ci, true);
  for (const ci of [undefined, '', '0', 'false', 'False']) assert.equal(load({ CI: ci }).ci, false);
  assert.equal(load({}).npmRegistry, 'https://registry.npmjs.org/');
  const mirror = 'https://npm.example.com/api/npm/';
  assert.equal(load({ npm_config_registry: mirror }).npmRegistry, mirror);
  assert.equal(load({ npm_config_registry: '' }).npmRegistry, 'https://registry.npmjs.org/');
});

/** A stand-in npm registry: answers `/<name>/latest`, counts the questions. */
interface StandIn {
  url: string;
  requests: number;
  version: string;
  delayMs: number;
  close(): Promise<void>;
}

async function standInRegistry(version: string, delayMs = 0): Promise<StandIn> {
  const standIn = { requests: 0, version, delayMs } as StandIn;
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    standIn.requests++;
    const answer = () => {
      if (req.url !== `/${pkg.name}/latest`) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}');
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ name: pkg.name, version: standIn.version }));
    };
    if (standIn.delayMs > 0) timers.add(setTimeout(answer, standIn.delayMs));
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  standIn.close = () =>
    new Promise((resolve) => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return standIn;
}

const standIns: StandIn[] = [];
after(async () => {
  for (const s of standIns) await s.close();
});

async function registry(version: string, delayMs = 0): Promise<StandIn> {
  const s = await standInRegistry(version, delayMs);
  standIns.push(s);
  return s;
}

/** A CLI sandbox whose update check asks `registryUrl`, as npm tells a command run by npx. */
function checkingSandbox(registryUrl: string, config: Record<string, unknown> = {}): CliSandbox {
  const box = cliSandbox(config);
  delete box.env.CI;
  box.env.npm_config_registry = registryUrl;
  return box;
}

function stateOf(box: CliSandbox): unknown {
  const file = path.join(box.stateDir, UPDATE_STATE_FILE);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

/** `proxima up --workers 0` until it is ready and `ready` holds, then stopped with Ctrl-C. */
async function upUntil(box: CliSandbox, ready: () => boolean, what: string): Promise<string> {
  const up = startCli(['up', '--workers', '0'], { env: box.env });
  try {
    await up.waitFor(/press Ctrl-C to stop/, 60_000);
    await until(ready, what, 10_000);
  } finally {
    up.child.kill('SIGINT');
  }
  const r = await up.done;
  assert.equal(r.code, 0, r.stderr);
  return r.stderr;
}

async function gatewayConfig(): Promise<Record<string, unknown>> {
  const port = await freePort();
  return { gateway: { listen: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` } };
}

test('up logs a newer published version once; within the day neither up nor status asks again', async () => {
  const reg = await registry('99.0.0');
  const box = checkingSandbox(reg.url, await gatewayConfig());
  const stderr = await upUntil(
    box,
    () => reg.requests === 1 && stateOf(box) !== undefined,
    'the answer',
  );
  assert.equal(stderr.match(new RegExp(NOTICE.source, 'g'))?.length, 1, stderr);
  assert.match(stderr, new RegExp(`99\\.0\\.0 is published .*npm install -g ${pkg.name}`));
  const state = stateOf(box) as { checkedAt: number; latest: string };
  assert.equal(state.latest, '99.0.0');
  assert.ok(Math.abs(Date.now() - state.checkedAt) < 120_000);

  const status = await runCli(['status'], { env: box.env });
  assert.doesNotMatch(status.stderr, NOTICE);
  assert.doesNotMatch(await upUntil(box, () => true, 'up'), NOTICE);
  assert.equal(reg.requests, 1, 'asked again within the day');

  // A day later it asks again.
  writeFileSync(
    path.join(box.stateDir, UPDATE_STATE_FILE),
    JSON.stringify({ checkedAt: Date.now() - CHECK_INTERVAL_MS - 1000, latest: '99.0.0' }),
  );
  await upUntil(box, () => reg.requests === 2, 'a second question a day later');
});

test('the same version published: the answer is remembered, nothing is said', async () => {
  const reg = await registry(pkg.version);
  const box = checkingSandbox(reg.url, await gatewayConfig());
  const stderr = await upUntil(box, () => stateOf(box) !== undefined, 'the answer');
  assert.equal((stateOf(box) as { latest: string }).latest, pkg.version);
  assert.equal(reg.requests, 1);
  assert.doesNotMatch(stderr, / is published /);
});

test('off with app.check_for_updates false and with CI=1: the registry is never asked', async () => {
  const reg = await registry('99.0.0');
  const off = checkingSandbox(reg.url, {
    ...(await gatewayConfig()),
    app: { check_for_updates: false },
  });
  const ci = checkingSandbox(reg.url, await gatewayConfig());
  ci.env.CI = '1';
  // The control: the same `up` with the check on asks.
  const on = checkingSandbox(reg.url, await gatewayConfig());
  await upUntil(on, () => reg.requests === 1, 'the control question');
  for (const box of [off, ci]) {
    const stderr = await upUntil(box, () => true, 'up');
    assert.doesNotMatch(stderr, NOTICE);
    const status = await runCli(['status'], { env: box.env });
    assert.doesNotMatch(status.stderr, NOTICE);
    assert.equal(stateOf(box), undefined);
  }
  assert.equal(reg.requests, 1, 'asked with the check off');
});

/** Wall time of `proxima status` with no gateway listening (it fails at once, exit 1). */
async function statusWallMs(box: CliSandbox): Promise<{ ms: number; stderr: string }> {
  const started = performance.now();
  const r = await runCli(['status'], { env: box.env });
  const ms = performance.now() - started;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /gateway/i);
  return { ms, stderr: r.stderr };
}

/** Wall time of `proxima up --workers 0` from its start until it has stopped, stopped when ready. */
async function upWallMs(box: CliSandbox): Promise<{ ms: number; stderr: string }> {
  const started = performance.now();
  const stderr = await upUntil(box, () => true, 'up');
  return { ms: performance.now() - started, stderr };
}

test('a slow or unreachable registry does not delay status or up and says nothing', async () => {
  const slow = await registry('99.0.0', 5000);
  const downPort = await freePort();
  const config = await gatewayConfig();
  const offBox = checkingSandbox(slow.url, { ...config, app: { check_for_updates: false } });
  const slowBox = checkingSandbox(slow.url, config);
  const downBox = checkingSandbox(`http://127.0.0.1:${downPort}/`, config);
  // Warm: the first run of a fresh process pays for compiling the code. The fastest of two
  // runs each, so one run slowed by the rest of the machine does not decide.
  await statusWallMs(offBox);
  const fastest = async (box: CliSandbox) => {
    const [a, b] = [await statusWallMs(box), await statusWallMs(box)];
    return a.ms <= b.ms ? a : b;
  };
  const off = (await fastest(offBox)).ms;
  const slowRun = await fastest(slowBox);
  const downRun = await fastest(downBox);
  // Waiting for the registry would cost the 2 s timeout.
  assert.ok(slowRun.ms < off + 1500, `slow registry: ${slowRun.ms} ms, check off: ${off} ms`);
  assert.ok(downRun.ms < off + 1500, `down registry: ${downRun.ms} ms, check off: ${off} ms`);
  for (const r of [slowRun, downRun]) assert.doesNotMatch(r.stderr, / is published /);

  // `status` may end before its question is even sent; `up` surely asks, and is not held up
  // by the unanswered question either, while it starts or when it stops.
  const asked = slow.requests;
  const upOff = await upWallMs(offBox);
  const upSlow = await upWallMs(slowBox);
  assert.ok(slow.requests > asked, 'up did not ask the slow registry');
  assert.ok(upSlow.ms < upOff.ms + 1500, `up, slow registry: ${upSlow.ms} ms, off: ${upOff.ms} ms`);
  assert.doesNotMatch(upSlow.stderr, / is published /);
  // Unanswered questions leave no record: the next command asks again.
  assert.equal(stateOf(slowBox), undefined);
  assert.equal(stateOf(downBox), undefined);
});

test('startUpdateCheck: gives up at the timeout, asks again past an unreadable record', async () => {
  const slow = await registry('99.0.0', 5000);
  const dir = mkdtempSync(path.join(tmpdir(), 'proxima-update-'));
  const base = {
    enabled: true,
    stateDir: dir,
    name: pkg.name,
    current: PROXIMA_VERSION,
    timeoutMs: 300,
  };
  const started = performance.now();
  const check = startUpdateCheck({ ...base, source: registrySource(slow.url) });
  assert.equal(await check.settled, undefined);
  assert.ok(performance.now() - started < 2000);
  assert.equal(check.notice(), undefined);

  const fast = await registry('99.0.1');
  writeFileSync(path.join(dir, UPDATE_STATE_FILE), '{"checkedAt": "yesterday"');
  const again = startUpdateCheck({ ...base, source: registrySource(fast.url) });
  assert.match((await again.settled) ?? '', /99\.0\.1 is published/);
  assert.equal(again.notice(), await again.settled);
  assert.equal(fast.requests, 1);
  // An answer not found (an unpublished name, a private registry) is silent.
  const missing = startUpdateCheck({
    ...base,
    stateDir: mkdtempSync(path.join(tmpdir(), 'proxima-update-')),
    name: 'not-this-package',
    source: registrySource(fast.url),
  });
  assert.equal(await missing.settled, undefined);
});

test('a worker logs a newer published version once at start', async () => {
  const reg = await registry('99.0.0');
  // No broker at this address: the worker keeps trying while the notice comes.
  const box = checkingSandbox(reg.url, {
    broker: { url: `redis://127.0.0.1:${await freePort()}` },
  });
  const work = startCli(['work'], { env: box.env });
  try {
    await work.waitFor(NOTICE, 30_000);
    assert.match(work.stderr(), /"level":30.*99\.0\.0 is published/);
  } finally {
    work.child.kill('SIGKILL');
    await work.done;
  }
  assert.equal(reg.requests, 1);
});
