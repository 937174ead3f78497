import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import type { Logger } from '../log.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import { PROXIMA_VERSION } from '../version.ts';
import { registrySource, type VersionSource } from './registry-source.ts';
import {
  checkDue,
  isNewer,
  updateNotice,
  updateStateSchema,
  type UpdateState,
} from './update-decision.ts';

export const UPDATE_STATE_FILE = 'update-check.json';
const TIMEOUT_MS = 2000;

/** A question to the registry under way; it never delays the process that asked it. */
export interface UpdateCheck {
  /** The notice line once the answer has come and names a newer version; else undefined. */
  notice(): string | undefined;
  /** Settles with the notice line or undefined within the timeout; never rejects. */
  readonly settled: Promise<string | undefined>;
}

export interface UpdateCheckOptions {
  enabled: boolean;
  stateDir: string;
  source: VersionSource;
  name: string;
  current: string;
  now?: () => number;
  timeoutMs?: number;
}

const OFF: UpdateCheck = { notice: () => undefined, settled: Promise.resolve(undefined) };

/**
 * Asks the registry for the latest version when the last answer is a day old, remembering the
 * answer in the state folder. Every failure (offline, a proxy, a read-only folder) is silent:
 * an update notice is never worth an error.
 */
export function startUpdateCheck(options: UpdateCheckOptions): UpdateCheck {
  if (!options.enabled) return OFF;
  const now = options.now ?? Date.now;
  const file = path.join(options.stateDir, UPDATE_STATE_FILE);
  if (!checkDue(readState(file), now())) return OFF;

  let notice: string | undefined;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? TIMEOUT_MS);
  timer.unref();
  const settled = options.source
    .latest(options.name, controller.signal)
    .then((latest) => {
      writeState(file, { checkedAt: now(), latest });
      if (isNewer(options.current, latest)) {
        notice = updateNotice(options.name, options.current, latest);
      }
      return notice;
    })
    .catch(() => undefined)
    .finally(() => clearTimeout(timer));
  return { notice: () => notice, settled };
}

/** The check for this package as the loaded config and environment allow it. */
export function updateCheckFor(loaded: LoadedConfig): UpdateCheck {
  return startUpdateCheck({
    enabled: loaded.config.app.check_for_updates && !loaded.ci,
    stateDir: loaded.stateDir,
    source: registrySource(loaded.npmRegistry),
    name: packageName(),
    current: PROXIMA_VERSION,
  });
}

/** For workers and the gateway: one info line when the answer names a newer version. */
export function logUpdateNotice(check: UpdateCheck, logger: Logger): void {
  void check.settled.then((line) => {
    if (line) logger.info(line);
  });
}

function packageName(): string {
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    name: string;
  };
  return pkg.name;
}

function readState(file: string): UpdateState | undefined {
  try {
    const parsed = updateStateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function writeState(file: string, state: UpdateState): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(state)}\n`);
    renameSync(temp, file);
  } catch {
    // A state folder that cannot be written means asking again next time, nothing worse.
  }
}
