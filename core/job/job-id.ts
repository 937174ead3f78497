import { createHash, randomBytes } from 'node:crypto';
import type { PresetName } from '../config/schema.ts';
import type { SourceRef } from './contract.ts';

/**
 * Deterministic: the same file (path, size, mtime) with the same preset always gets the same
 * id, so BullMQ refuses to queue it twice. A changed file (new size or mtime) gets a new id.
 * BullMQ ids must not contain ':' nor look like integers, hence the prefix and hex digest.
 */
export function jobIdFor(source: Pick<SourceRef, 'path' | 'size' | 'mtimeMs'>, preset: PresetName) {
  const digest = createHash('sha256')
    .update(JSON.stringify([source.path, source.size, Math.trunc(source.mtimeMs), preset]))
    .digest('hex');
  return `px-${digest.slice(0, 24)}`;
}

export function newBatchId(): string {
  return `b-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
