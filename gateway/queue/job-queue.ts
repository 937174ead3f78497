import { Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { createChunkStore } from '../../core/broker/chunk-store.ts';
import { withDeadline } from '../../core/deadline.ts';
import { chunkJobId, isChunkJobId } from '../../core/job/chunk-id.ts';
import type { ChunkView, EncodeJob, JobState, QueueCounts } from '../../core/job/contract.ts';
import type { Logger } from '../../core/log.ts';
import type { QueueLoad } from '../autoscale/policy.ts';
import { parseStored, readJobBatches, readJobFields, readJobStates } from './job-reads.ts';

/** A job as BullMQ stores it; payload, progress and result still unvalidated. */
export interface StoredJob {
  id: string;
  state: JobState;
  data: unknown;
  attemptsMade: number;
  progress: unknown;
  returnvalue: unknown;
  failedReason: string | null;
  /** When a worker last took it and when it ended (ms); absent before. */
  processedOn?: number;
  finishedOn?: number;
  /** A clip encoded in chunks: each chunk's range, state and worker. */
  chunks?: ChunkView[];
}

export type QueueEvent =
  | { type: 'active'; jobId: string }
  | { type: 'progress'; jobId: string; data: unknown }
  | { type: 'completed'; jobId: string; returnvalue: unknown }
  /** Final: BullMQ announces a failure only once no attempt is left. */
  | { type: 'failed'; jobId: string; failedReason: string }
  /** Back in the queue, e.g. a failed job retried. */
  | { type: 'waiting'; jobId: string }
  | { type: 'removed'; jobId: string }
  /**
   * The event connection came back after the broker was away: events of that moment may be
   * lost (a broker that restarted lost its last writes), so listeners re-read what they follow.
   */
  | { type: 'reconnected' }
  /**
   * Events were trimmed from the broker's event stream before this gateway read them (it fell
   * more than the stream's length behind): listeners re-read what they follow.
   */
  | { type: 'missed' }
  /** The queue is shutting down; no event follows. */
  | { type: 'closed' };

export interface NewJob {
  id: string;
  data: EncodeJob;
}

/** The encode queue as the gateway needs it. */
export interface JobQueue {
  readonly name: string;
  /** null for an id BullMQ does not know (never added, purged or expired). */
  getJobs(ids: readonly string[]): Promise<(StoredJob | null)[]>;
  states(ids: readonly string[]): Promise<JobState[]>;
  /** The batch whose payload each job carries (the request that queued it); null: none. */
  batchesOf(ids: readonly string[]): Promise<(string | null)[]>;
  /** An id already in the queue is left as it is. */
  addJobs(jobs: readonly NewJob[]): Promise<void>;
  /** Replaces a failed job's payload and queues it again; false when it is not failed (any more). */
  retryFailed(job: NewJob): Promise<boolean>;
  /**
   * For a re-encode: a finished job is replaced by a new one with this payload; one that has not
   * started is told to replace the proxy. A running job is left alone (false).
   */
  reencode(job: NewJob): Promise<boolean>;
  counts(): Promise<QueueCounts>;
  /** The work an autoscaler sizes encoders for: every job waiting, due or running. */
  load(): Promise<QueueLoad>;
  /** Removes jobs that have not started (waiting, prioritized, delayed); returns how many. */
  purgeWaiting(): Promise<number>;
  /**
   * Cancels these clips: those not started are removed; running ones (and long clips waiting
   * for their chunks) are marked, and their workers stop them within seconds and fail them
   * with code CANCELLED (see encoder-image/processor.ts). Finished ones are left as they are.
   */
  cancel(ids: readonly string[]): Promise<{ removed: number; stopped: number }>;
  /** Every queue event until the returned function is called or the queue closes. */
  subscribe(listener: (event: QueueEvent) => void): () => void;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface BullJobQueueOptions {
  name: string;
  /** Commands: a client that fails fast while Redis is away, so requests get a 503, not a hang. */
  connection: Redis;
  /** Events are read by a blocking connection BullMQ opens and owns. */
  brokerUrl: string;
  attempts: number;
  /** broker.result_expires */
  keepSeconds: number;
  /** broker.queue: chunked clips' records are kept under it (see keys.clip). */
  clipQueue: string;
  logger: Logger;
  /** How often to check that no event was trimmed unread (one O(1) read). */
  missedCheckMs?: number;
}

const CHUNK = 500;
/** How long a stopping gateway waits for the event reader to close. */
const CLOSE_EVENTS_MS = 3_000;
/** First retry after a transient failure; BullMQ doubles it for each later attempt. */
const BACKOFF_MS = 5_000;

export async function createBullJobQueue(options: BullJobQueueOptions): Promise<JobQueue> {
  const { name, connection, logger } = options;
  const queue = new Queue<EncodeJob, unknown, 'encode'>(name, { connection });
  // Its connection is the caller's, which reports its own errors.
  queue.on('error', () => {});
  await queue.waitUntilReady();

  // Start reading events right after the newest one that exists now: events written before the
  // first blocking read starts would otherwise be lost, and a stream's first snapshot relies on
  // every later event arriving.
  const last = await connection.xrevrange(queue.keys.events!, '+', '-', 'COUNT', 1);
  const events = new QueueEvents(name, {
    connection: { url: options.brokerUrl },
    lastEventId: last[0]?.[0] ?? '0-0',
  });
  let lastWarned = 0;
  events.on('error', (err) => {
    // Repeated on every reconnect attempt while Redis is away; once in a while is enough.
    if (Date.now() - lastWarned < 10_000) return;
    lastWarned = Date.now();
    logger.warn({ err: err.message }, 'queue events connection error');
  });

  const chunkStore = createChunkStore(connection, options.clipQueue, options.keepSeconds);
  // Every key of the queue starts with it: "bull:<name>:".
  const prefix = `${queue.qualifiedName}:`;
  const rawStates = (ids: readonly string[]) => readJobStates(connection, prefix, ids);
  /** Chunks of the clips among `jobs` that were split: one round trip when none was. */
  const withChunks = async (jobs: (StoredJob | null)[]): Promise<(StoredJob | null)[]> => {
    const ids = jobs.map((j) => j?.id ?? '');
    const splits = await chunkStore.splits(ids);
    return Promise.all(
      jobs.map(async (job, i) => {
        const split = splits[i];
        if (!job || !split) return job;
        const chunkIds = split.chunks.map((c) => chunkJobId(job.id, split.generation, c.index));
        const [states, workers] = await Promise.all([
          rawStates(chunkIds),
          chunkStore.workers(job.id),
        ]);
        const finished = job.state === 'completed';
        const chunks: ChunkView[] = split.chunks.map((c, k) => ({
          ...c,
          // Chunk jobs are removed once their clip is joined.
          state: finished ? 'completed' : normaliseState(states[k] ?? 'unknown'),
          worker: workers.get(c.index) ?? null,
        }));
        // Taken again to be joined, its job's processedOn is the join's: the clip began at its split.
        return { ...job, chunks, processedOn: split.startedAt };
      }),
    );
  };

  const listeners = new Set<(event: QueueEvent) => void>();
  const emit = (event: QueueEvent) => {
    for (const l of [...listeners]) {
      try {
        l(event);
      } catch (err) {
        logger.error({ err }, 'queue event listener failed');
      }
    }
  };
  // The commands connection is ours; when it is back the broker is, and its state is the truth.
  let lost = false;
  connection.on('close', () => (lost = true));
  connection.on('ready', () => {
    if (!lost) return;
    lost = false;
    emit({ type: 'reconnected' });
  });
  // The id of the newest event read: the stream's oldest entry past it means some were trimmed
  // unread, which is checked here once for every listener instead of each re-reading its jobs.
  let lastRead = last[0]?.[0] ?? '0-0';
  const read = (id: string, event: QueueEvent) => {
    if (streamIdAfter(id, lastRead)) lastRead = id;
    emit(event);
  };
  events.on('active', ({ jobId }, id) => read(id, { type: 'active', jobId }));
  events.on('progress', ({ jobId, data }, id) => read(id, { type: 'progress', jobId, data }));
  events.on('completed', ({ jobId, returnvalue }, id) =>
    read(id, { type: 'completed', jobId, returnvalue }),
  );
  events.on('failed', ({ jobId, failedReason }, id) =>
    read(id, { type: 'failed', jobId, failedReason }),
  );
  events.on('waiting', ({ jobId }, id) => read(id, { type: 'waiting', jobId }));
  events.on('removed', ({ jobId }, id) => read(id, { type: 'removed', jobId }));
  const missedTimer = setInterval(() => {
    void connection.xrange(queue.keys.events!, '-', '+', 'COUNT', 1).then(
      (first) => {
        const oldest = first[0]?.[0];
        // Everything up to `oldest` is gone; what came after lastRead and before it was lost.
        if (oldest && streamIdAfter(oldest, nextStreamId(lastRead))) {
          logger.warn({ lastRead, oldest }, 'queue events trimmed before they were read');
          lastRead = oldest;
          emit({ type: 'missed' });
        }
      },
      () => {},
    );
  }, options.missedCheckMs ?? 15_000);
  missedTimer.unref();

  const jobOptions = (id: string): JobsOptions => ({
    jobId: id,
    attempts: options.attempts,
    backoff: { type: 'exponential', delay: BACKOFF_MS },
    removeOnComplete: { age: options.keepSeconds },
    removeOnFail: { age: options.keepSeconds },
  });

  /** Every list and set a job can be in; delayed split by whether its time has come. */
  const countAll = async () => {
    const [c, due] = await Promise.all([
      queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'),
      queue.getDelayedCount(Date.now()),
    ]);
    const n = (k: string) => c[k] ?? 0;
    return {
      waiting: n('waiting'),
      prioritized: n('prioritized'),
      delayedDue: due,
      delayedLater: Math.max(0, n('delayed') - due),
      active: n('active'),
      completed: n('completed'),
      failed: n('failed'),
    };
  };

  /**
   * The chunk jobs of the clips being encoded in chunks now, by state: those waiting for their
   * chunks and those active (splitting or joining). Chunk jobs live only that long (the join
   * removes them), so the work grows with the clips in progress, never with the queue.
   */
  const chunkCounts = async () => {
    const [parents, active] = await Promise.all([
      queue.getRanges(['waiting-children'], 0, -1),
      queue.getRanges(['active'], 0, -1),
    ]);
    const clips = [...new Set([...parents, ...active.filter((id) => !isChunkJobId(id))])];
    const splits = await chunkStore.splits(clips);
    const ids = clips.flatMap((clip, i) => {
      const split = splits[i];
      return split ? split.chunks.map((c) => chunkJobId(clip, split.generation, c.index)) : [];
    });
    const states = await rawStates(ids);
    const count = (...wanted: string[]) => states.filter((s) => wanted.includes(s)).length;
    return {
      waiting: count('waiting', 'prioritized'),
      active: count('active'),
      delayed: count('delayed'),
      completed: count('completed'),
      failed: count('failed'),
      clipsWaitingForChunks: new Set(parents).size,
    };
  };

  let closing: Promise<void> | null = null;

  return {
    name,
    async getJobs(ids) {
      // States first: a job finishes in one atomic step, so a hash read after a finished state
      // holds its result or reason; read the other way round, a job that finished in between
      // would show as failed or done without them.
      const states = await rawStates(ids);
      const fields = await readJobFields(connection, prefix, ids);
      const jobs = fields.map((f, i): StoredJob | null => {
        if (!f) return null;
        let state = normaliseState(states[i] ?? 'unknown');
        // Added between the two reads: it exists, so it is waiting at least.
        if (state === 'unknown') state = 'waiting';
        return {
          id: ids[i]!,
          state,
          data: parseStored(f.data),
          attemptsMade: f.attemptsMade,
          progress: parseStored(f.progress, 0),
          returnvalue: parseStored(f.returnvalue),
          failedReason: f.failedReason || null,
          ...(f.processedOn !== null && { processedOn: f.processedOn }),
          ...(f.finishedOn !== null && { finishedOn: f.finishedOn }),
        };
      });
      return withChunks(jobs);
    },
    async batchesOf(ids) {
      return readJobBatches(connection, prefix, ids);
    },
    async states(ids) {
      return (await rawStates(ids)).map(normaliseState);
    },
    async addJobs(jobs) {
      // All parts at once: Node builds the next part while Redis runs the one before (a tenth
      // off a 10,000-job batch). Each part's pipeline goes out on the one connection in the
      // order they were asked for, so the wait list keeps the order of `jobs`. Parts, not one
      // pipeline: Redis starts on the first while the rest are built.
      const chunks: Promise<unknown>[] = [];
      for (let i = 0; i < jobs.length; i += CHUNK) {
        chunks.push(
          queue.addBulk(
            jobs
              .slice(i, i + CHUNK)
              .map((j) => ({ name: 'encode' as const, data: j.data, opts: jobOptions(j.id) })),
          ),
        );
      }
      await Promise.all(chunks);
    },
    async retryFailed({ id, data }) {
      const job = await queue.getJob(id);
      if (!job || (await job.getState()) !== 'failed') return false;
      // The old payload may be older than broker.job_expires, and workers drop expired jobs.
      await job.updateData(data);
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return true;
      } catch (err) {
        // Another request retried it between our check and now.
        if ((await job.getState()) !== 'failed') return false;
        throw err;
      }
    },
    async reencode({ id, data }) {
      const job = await queue.getJob(id);
      const state = job ? await job.getState() : 'unknown';
      if (!job || state === 'unknown') {
        await queue.add('encode', data, jobOptions(id));
        return true;
      }
      if (state === 'completed' || state === 'failed') {
        // remove() refuses a job another worker has locked, so nothing running is lost.
        await job.remove();
        await queue.add('encode', data, jobOptions(id));
        return true;
      }
      if (state === 'waiting' || state === 'prioritized' || state === 'delayed') {
        await job.updateData({ ...job.data, reencode: true });
        return true;
      }
      return false;
    },
    async counts() {
      const [c, chunks] = await Promise.all([countAll(), chunkCounts()]);
      // Each count is of clips: a long clip is one job to the user, whatever its chunks do.
      return {
        waiting: Math.max(0, c.waiting + c.prioritized + c.delayedDue - chunks.waiting),
        active: Math.max(0, c.active - chunks.active) + chunks.clipsWaitingForChunks,
        delayed: Math.max(0, c.delayedLater - chunks.delayed),
        completed: Math.max(0, c.completed - chunks.completed),
        failed: Math.max(0, c.failed - chunks.failed),
      };
    },
    async load() {
      const { waiting, prioritized, delayedDue, active } = await countAll();
      return { waiting, prioritized, delayedDue, active };
    },
    async purgeWaiting() {
      // A chunk belongs to a clip that has started: purging it would leave its clip waiting.
      const ids = (await queue.getRanges(['waiting', 'prioritized', 'delayed'], 0, -1)).filter(
        (id) => !isChunkJobId(id),
      );
      // remove() refuses a job a worker has locked meanwhile, so a started job is never lost.
      const removed = await inChunks([...new Set(ids)], (id) => queue.remove(id));
      return removed.reduce((a, b) => a + b, 0);
    },
    async cancel(ids) {
      const states = await rawStates(ids);
      let removed = 0;
      const running: string[] = [];
      const notStarted = new Set(['waiting', 'prioritized', 'delayed']);
      await inChunks(
        ids.map((id, i) => [id, states[i] ?? 'unknown'] as const),
        async ([id, state]) => {
          if (notStarted.has(state)) {
            // remove() refuses a job a worker took meanwhile: that one is stopped instead.
            if ((await queue.remove(id)) === 1) removed++;
            else running.push(id);
          } else if (state === 'active' || state === 'waiting-children') running.push(id);
        },
      );
      const fields = await readJobFields(connection, prefix, running);
      let stopped = 0;
      for (const [i, f] of fields.entries()) {
        const queuedAt = (parseStored(f?.data ?? null) as { queuedAt?: unknown } | null)?.queuedAt;
        if (typeof queuedAt !== 'number') continue;
        await chunkStore.cancel(running[i]!, queuedAt);
        stopped++;
      }
      return { removed, stopped };
    },
    subscribe(listener) {
      if (closing) {
        queueMicrotask(() => listener({ type: 'closed' }));
        return () => {};
      }
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async ping() {
      await connection.ping();
    },
    close() {
      closing ??= (async () => {
        clearInterval(missedTimer);
        emit({ type: 'closed' });
        listeners.clear();
        // BullMQ's close of its event reader can hang when Redis came back a moment ago; a
        // gateway that is stopping must not wait on it for ever.
        await withDeadline(
          events.close().catch(() => {}),
          CLOSE_EVENTS_MS,
        );
        await queue.close().catch(() => {});
      })();
      return closing;
    },
  };
}

function normaliseState(state: string): JobState {
  switch (state) {
    case 'waiting':
    case 'prioritized':
    case 'delayed':
    case 'active':
    case 'completed':
    case 'failed':
      return state;
    case 'waiting-children':
      // A long clip whose chunks are being encoded: under way, whichever workers have them.
      return 'active';
    case 'paused':
      return 'waiting';
    default:
      return 'unknown';
  }
}

async function inChunks<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += CHUNK) {
    out.push(...(await Promise.all(items.slice(i, i + CHUNK).map(fn))));
  }
  return out;
}

/**
 * Redis stream ids ("ms-seq"): whether a comes after b. Run for every event read, so plain
 * numbers: milliseconds and a sequence within one stay far below 2^53.
 */
export function streamIdAfter(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am > bm || (am === bm && as > bs);
}

/** The id right after `id`: the first one a reader that has read `id` has not. */
function nextStreamId(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  return `${ms}-${Number(seq) + 1}`;
}
