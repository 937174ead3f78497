/**
 * Job ids of a clip's chunks: `<clipId>-<generation base 36>-c<index>`. The generation is the
 * clip job's queuedAt when it split, so chunks of an earlier split (a clip queued again) are
 * never counted as this one's. Ids stay free of ':' and file-safe, like every BullMQ id here.
 */
export function chunkJobId(clipId: string, generation: number, index: number): string {
  return `${clipId}-${generationTag(generation)}-c${index}`;
}

export function generationTag(generation: number): string {
  return Math.trunc(generation).toString(36);
}

const CHUNK_ID_RE = /^(.+)-([0-9a-z]+)-c(\d+)$/;

export interface ChunkIdParts {
  clipId: string;
  generationTag: string;
  index: number;
}

export function parseChunkJobId(id: string): ChunkIdParts | null {
  const m = CHUNK_ID_RE.exec(id);
  if (!m) return null;
  return { clipId: m[1]!, generationTag: m[2]!, index: Number(m[3]) };
}

/** Whether a BullMQ id is a chunk's: clip ids are `px-<24 hex>` and never end in -c<n>. */
export function isChunkJobId(id: string): boolean {
  return parseChunkJobId(id) !== null;
}
