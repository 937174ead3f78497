import { statSync } from 'node:fs';
import path from 'node:path';
import type { PresetName } from '../../core/config/schema.ts';
import { configSchema, type Config } from '../../core/config/schema.ts';
import { encodeJobSchema, type EncodeJob } from '../../core/job/contract.ts';
import { jobIdFor } from '../../core/job/job-id.ts';
import { proxyPathFor } from '../../core/paths/proxy-path.ts';
import { PROTOCOL_VERSION } from '../../core/version.ts';

/** A config for tests: a fresh queue name and the given proxy root and broker. */
export function testConfig(brokerUrl: string, proxyRoot: string, extra: object = {}): Config {
  return configSchema.parse({
    paths: { proxy_root: proxyRoot },
    broker: {
      url: brokerUrl,
      queue: `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
    },
    worker: { lock_seconds: 3, nice: 0 },
    log: { level: 'silent' },
    ...extra,
  });
}

/** The job payload and id the gateway would queue for a file. */
export function jobFor(
  file: string,
  proxyRoot: string,
  preset: PresetName = 'prores-proxy',
): { id: string; data: EncodeJob } {
  const st = statSync(file, { throwIfNoEntry: false });
  const source = { path: file, size: st?.size ?? 0, mtimeMs: st?.mtimeMs ?? 0, nameClash: false };
  return {
    id: jobIdFor(source, preset),
    data: encodeJobSchema.parse({
      v: PROTOCOL_VERSION,
      batchId: 'b-test-00000000',
      source,
      preset,
      proxyPath: proxyPathFor(file, proxyRoot),
      proxyRoot: path.resolve(proxyRoot),
      queuedAt: Date.now(),
    }),
  };
}
