import type { Redis } from 'ioredis';
import { MediaError, type ProximaError } from '../core/errors.ts';
import type { EncodeJob, WorkerInfo } from '../core/job/contract.ts';
import { keys } from '../core/job/keys.ts';

/** Codes that mean "this worker cannot see the file as queued", not "the file is broken". */
const UNSEEN_CODES = new Set(['SOURCE_MISSING', 'SOURCE_CHANGED']);

export function isUnseenSource(err: unknown): err is MediaError {
  return err instanceof MediaError && UNSEEN_CODES.has(err.code);
}

/** The name a worker is known by across restarts: its instance (container, pod) or host. */
export function workerPlace(info: Pick<WorkerInfo, 'host' | 'instance'>): string {
  return info.instance || info.host;
}

export type UnseenVerdict =
  { kind: 'hand-back' } | { kind: 'fail'; because: 'distinct' | 'every-live' };

/**
 * After a worker could not see a job's source: fail it once `distinct` different workers could
 * not, or every live worker of this protocol is among them (no one left who might); else hand it
 * on to another. Pure.
 */
export function unseenVerdict(
  unseenBy: readonly string[],
  live: readonly string[],
  distinct: number,
): UnseenVerdict {
  const unseen = new Set(unseenBy);
  if (unseen.size >= distinct) return { kind: 'fail', because: 'distinct' };
  if (live.every((w) => unseen.has(w))) return { kind: 'fail', because: 'every-live' };
  return { kind: 'hand-back' };
}

/**
 * The job's final error: which workers tried, the farm path they tried, the editor's path it was
 * mapped from (when the payload says so), and the fix. Pure.
 */
export function unseenFailure(
  data: Pick<EncodeJob, 'source' | 'editorSource'>,
  seen: MediaError,
  unseenBy: readonly string[],
): ProximaError {
  const farm = data.source.path;
  const mapped =
    data.editorSource && data.editorSource !== farm
      ? ` (mapped by paths.mappings from the editor's ${data.editorSource})`
      : '';
  const workers = [...new Set(unseenBy)].sort();
  const what =
    seen.code === 'SOURCE_CHANGED'
      ? `is not the file that was queued (another size or modification time)`
      : `does not exist`;
  const fix =
    seen.code === 'SOURCE_CHANGED'
      ? `if the copy is still running wait and queue it again; else the workers see other storage at that path: mount the editor's storage there, or fix paths.mappings`
      : `mount the media at ${farm} on the workers, or add a mapping in paths.mappings ({ editor: <the editor's folder>, farm: <where the workers see it> })`;
  return new MediaError(
    seen.code,
    `source file ${farm}${mapped} ${what} on ${workers.length} worker${workers.length === 1 ? '' : 's'} (${workers.join(', ')})`,
    fix,
  );
}

export interface SourceVisibility {
  /** The workers that could not see this job's source so far. */
  unseenBy(data: EncodeJob, jobId: string): Promise<string[]>;
  /** Adds this worker to them; returns them all. */
  markUnseen(data: EncodeJob, jobId: string): Promise<string[]>;
  /** The places of the live workers of this protocol (their registrations). */
  live(): Promise<string[]>;
  /** The name this worker goes by in the lists. */
  readonly place: string;
}

export function createSourceVisibility(opts: {
  redis: Redis;
  queue: string;
  place: string;
  protocol: number;
  /** The list outlives any wait of the job: broker.job_expires, and an hour to spare. */
  keepSeconds: number;
  liveWorkers: () => Promise<WorkerInfo[]>;
}): SourceVisibility {
  const { redis, queue, place } = opts;
  const key = (data: EncodeJob, jobId: string) => keys.unseen(queue, jobId, data.queuedAt);
  return {
    place,
    async unseenBy(data, jobId) {
      return redis.smembers(key(data, jobId));
    },
    async markUnseen(data, jobId) {
      const k = key(data, jobId);
      const replies = await redis
        .multi()
        .sadd(k, place)
        .expire(k, opts.keepSeconds)
        .smembers(k)
        .exec();
      const [err, members] = replies?.[2] ?? [new Error('the broker dropped the transaction')];
      if (err) throw err;
      return members as string[];
    },
    async live() {
      const workers = await opts.liveWorkers();
      return [...new Set(workers.filter((w) => w.protocol === opts.protocol).map(workerPlace))];
    },
  };
}
