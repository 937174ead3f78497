import { readFileSync, rmSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../../core/config/schema.ts';
import { DependencyError } from '../../core/errors.ts';

/**
 * `<stateDir>/broker.json` tells `work` and `status` on this machine where the private broker
 * of a running `proxima up` is. `pid` is the redis-server's; `ownerPid` the `up` process's.
 */
const brokerRecordSchema = z.object({
  url: z.string().regex(/^rediss?:\/\//),
  pid: z.number().int().positive(),
  ownerPid: z.number().int().positive().optional(),
});
export type BrokerRecord = z.output<typeof brokerRecordSchema>;

export function brokerFile(stateDir: string): string {
  return path.join(stateDir, 'broker.json');
}

export function readBrokerRecord(stateDir: string): BrokerRecord | null {
  let text: string;
  try {
    text = readFileSync(brokerFile(stateDir), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = brokerRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function writeBrokerRecord(stateDir: string, record: BrokerRecord): void {
  mkdirSync(stateDir, { recursive: true });
  // Written whole then renamed, so a reader never sees half a file.
  const tmp = `${brokerFile(stateDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record)}\n`);
  renameSync(tmp, brokerFile(stateDir));
}

/** Removes the record only while it still describes our broker, not a newer stack's. */
export function removeBrokerRecord(stateDir: string, pid: number): void {
  if (readBrokerRecord(stateDir)?.pid === pid) rmSync(brokerFile(stateDir), { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** broker.url when set; else the private broker of a `proxima up` running on this machine. */
export function resolveBrokerUrl(
  config: Config,
  record: BrokerRecord | null,
  alive: (pid: number) => boolean = isAlive,
): string {
  if (config.broker.url) return config.broker.url;
  if (record && alive(record.pid)) return record.url;
  throw new DependencyError(
    'BROKER_NOT_FOUND',
    'no broker: broker.url is empty and no `proxima up` is running on this machine',
    'run `proxima up` on this machine, or set broker.url to the shared redis:// URL',
  );
}
