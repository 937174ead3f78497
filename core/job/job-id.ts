import { createHash, randomBytes } from 'node:crypto';
import type { PresetName } from '../config/schema.ts';
import type { PresetRule } from '../presets/rule-schema.ts';
import type { UserPreset } from '../presets/user-presets.ts';
import { DEFAULT_PROXY_SIZE, type ProxySize } from '../presets/presets.ts';
import { mtimeWindow } from '../paths/mtime.ts';
import { canonicalPath } from '../paths/path-mapping.ts';
import type { SourceRef } from './contract.ts';

/**
 * Deterministic: the same file (farm path, size, mtime) with the same preset always gets the
 * same id, so BullMQ refuses to queue it twice; another preset or proxy size is another proxy,
 * so another job. The path is the farm's, in one spelling
 * (`D:\media\A001.mp4` and `d:/media/A001.mp4` are one file), and the mtime its tolerance window
 * (paths.mtime_tolerance_seconds; 0: exact), since SMB and FAT round it. A changed file (new
 * size or mtime) gets a new id. BullMQ ids must not contain ':' nor look like integers, hence
 * the prefix and hex digest.
 */
export function jobIdFor(
  source: Pick<SourceRef, 'path' | 'size' | 'mtimeMs'>,
  preset: PresetName,
  mtimeToleranceSec = 0,
  size: ProxySize = DEFAULT_PROXY_SIZE,
  /** presetsDigest of the job's rules and user presets; empty for a built-in without rules. */
  presets = '',
) {
  const digest = createHash('sha256')
    .update(
      JSON.stringify([
        canonicalPath(source.path),
        source.size,
        mtimeWindow(source.mtimeMs, mtimeToleranceSec),
        // At the default size the id is the one gateways without encoding.size give, so a
        // farm part-way through an upgrade still deduplicates.
        ...(size === DEFAULT_PROXY_SIZE ? [preset] : [preset, size]),
        // Likewise only when there are rules or user presets: a default config keeps its ids,
        // and a changed rule or definition is another proxy.
        ...(presets ? [presets] : []),
      ]),
    )
    .digest('hex');
  return `px-${digest.slice(0, 24)}`;
}

/**
 * A short stable digest of what decides a job's preset besides its name: the rules and the user
 * preset definitions it carries. Empty when there are neither.
 */
export function presetsDigest(
  rules: readonly PresetRule[],
  presets: Readonly<Record<string, UserPreset>>,
): string {
  const names = Object.keys(presets).sort();
  if (rules.length === 0 && names.length === 0) return '';
  const defs = names.map((n) => [n, sortedKeys(presets[n])]);
  return createHash('sha256')
    .update(JSON.stringify([rules.map(sortedKeys), defs]))
    .digest('hex')
    .slice(0, 12);
}

/** Plain data with its object keys sorted, so key order in a config file changes no id. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export function newBatchId(): string {
  return `b-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
