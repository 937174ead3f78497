import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Job } from 'bullmq';
import { createLogger } from '../core/log.ts';
import { PROTOCOL_VERSION } from '../core/version.ts';
import type { ProbeJob, ProbeResult } from '../core/job/probe-contract.ts';
import { createProbeJobProcessor } from '../encoder-image/probe-job.ts';
import { createProber } from '../encoder-image/probe-runner.ts';
import { FFMPEG, FFPROBE } from './helpers/media.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'proxima-probe-tools-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const runs = path.join(dir, 'runs.log');
const ffmpeg = path.join(dir, 'ffmpeg');

/** The real ffmpeg behind a script that notes every run, as an admin's wrapper would. */
function wrapper(note: string): void {
  writeFileSync(ffmpeg, `#!/bin/sh\necho "${note} $*" >> '${runs}'\nexec '${FFMPEG}' "$@"\n`);
  chmodSync(ffmpeg, 0o755);
}

function probeJob(id: string): Job<ProbeJob, ProbeResult> {
  const proxyRoot = path.join(dir, 'proxies');
  mkdirSync(proxyRoot, { recursive: true });
  const data: ProbeJob = {
    kind: 'probe',
    v: PROTOCOL_VERSION,
    sources: [],
    media: false,
    preset: 'prores-proxy',
    proxyRoot,
    encoders: ['prores_ks', 'dnxhd'],
    deadline: Date.now() + 60_000,
  };
  // The processor reads a job's id and payload only.
  return { id, data } as unknown as Job<ProbeJob, ProbeResult>;
}

test('a worker asks its ffmpeg for its version and encoders once, and again once it is replaced', async () => {
  wrapper('first');
  const answer = createProbeJobProcessor({
    ffmpegPath: ffmpeg,
    ffprobePath: FFPROBE,
    prober: createProber(FFPROBE),
    worker: { id: 'w1', host: 'test', version: '0', protocol: PROTOCOL_VERSION },
    logger: createLogger({ level: 'silent', pretty: false }),
  });
  const one = await answer(probeJob('p1'), undefined);
  const two = await answer(probeJob('p2'), undefined);
  assert.match(one.ffmpeg.version ?? '', /^ffmpeg version /);
  assert.deepEqual(two.ffmpeg, one.ffmpeg);
  assert.deepEqual(one.ffmpeg.missingEncoders, []);
  const lines = () => readFileSync(runs, 'utf8').trim().split('\n');
  assert.deepEqual(lines().sort(), ['first -hide_banner -encoders', 'first -hide_banner -version']);

  // Replaced (an upgrade): another size, so asked again.
  wrapper('second, upgraded');
  await answer(probeJob('p3'), undefined);
  assert.equal(lines().length, 4);
  assert.ok(
    lines()
      .slice(2)
      .every((l) => l.startsWith('second, upgraded')),
    lines().join('\n'),
  );
});
