import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import {
  batchEventSchema,
  encodeResultSchema,
  progressSchema,
  type BatchEvent,
  type BatchView,
  type JobState,
} from '../../core/job/contract.ts';
import { decodeJobError } from '../../core/job/job-error.ts';
import type { Logger } from '../../core/log.ts';
import type { AppDeps } from '../deps.ts';
import { batchIdParam } from '../ids.ts';
import type { BatchRecord } from '../queue/batch-store.ts';
import type { JobQueue, QueueEvent } from '../queue/job-queue.ts';
import { BAD_RESULT, countStates, isTerminal, readBatchView } from '../views.ts';
import { batchNotFound } from './batches.ts';

export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Past this many unsent events (a client that stopped reading), resend a snapshot instead. */
const INBOX_LIMIT = 20_000;

export function eventRoutes(deps: AppDeps): Hono {
  const heartbeatMs = deps.options?.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;

  return new Hono().get('/batches/:id/events', async (c) => {
    const id = batchIdParam(c.req.param('id'));
    const record = await deps.batches.get(id);
    if (!record) throw batchNotFound(id);

    // Subscribe before reading the snapshot, so nothing that happens in between is missed.
    const members = new Set(record.jobIds);
    const inbox = new Inbox<QueueEvent>();
    const unsubscribe = deps.queue.subscribe((e) => {
      if (e.type === 'closed' || e.type === 'reconnected' || e.type === 'missed') inbox.push(e);
      else if (members.has(e.jobId)) inbox.push(e);
    });
    let snapshot: BatchView;
    try {
      snapshot = await readBatchView(deps.queue, record);
    } catch (err) {
      unsubscribe();
      throw err;
    }

    const log = deps.logger.child({ batch: id });
    const signal = c.req.raw.signal;
    return streamSSE(c, async (stream) => {
      const stop = () => inbox.close();
      stream.onAbort(stop);
      signal.addEventListener('abort', stop, { once: true });
      try {
        await followBatch({ stream, inbox, queue: deps.queue, record, snapshot, heartbeatMs, log });
      } catch (err) {
        // The stream is already open, so no error status can be sent; ending it makes the
        // client reconnect and start again from a fresh snapshot.
        log.warn({ err }, 'batch event stream failed');
      } finally {
        unsubscribe();
        signal.removeEventListener('abort', stop);
      }
    });
  });
}

interface FollowArgs {
  stream: SSEStreamingApi;
  inbox: Inbox<QueueEvent>;
  queue: JobQueue;
  record: BatchRecord;
  snapshot: BatchView;
  heartbeatMs: number;
  log: Logger;
}

/** snapshot, the batch's job events as they happen, and `done` once every job is finished. */
async function followBatch(args: FollowArgs): Promise<void> {
  const { stream, inbox, queue, record, heartbeatMs } = args;
  const states = new Map<string, JobState>();
  const send = async (event: BatchEvent) => {
    const checked = batchEventSchema.parse(event);
    await stream.writeSSE({ event: checked.type, data: JSON.stringify(checked) });
  };
  const sendSnapshot = async (batch: BatchView) => {
    states.clear();
    for (const j of batch.jobs) states.set(j.id, j.state);
    await send({ type: 'snapshot', batch });
  };

  await sendSnapshot(args.snapshot);
  for (;;) {
    if (stream.aborted || stream.closed) return;
    if ([...states.values()].every(isTerminal)) {
      await send({ type: 'done', counts: countStates(states.values()) });
      return;
    }
    const events = await inbox.take(heartbeatMs);
    if (events === 'closed') return;

    let resync = false;
    if (events === 'overflow') {
      resync = true;
    } else if (events.length === 0) {
      await stream.write(': heartbeat\n\n');
    } else {
      const lastProgress = new Map<string, number>();
      events.forEach((e, i) => e.type === 'progress' && lastProgress.set(e.jobId, i));
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        if (e.type === 'closed') return;
        // A later report of the same job makes a progress report stale; skip it under load.
        // The last one is kept even when the job's end follows, so a bar ends at its last value.
        if (e.type === 'progress' && lastProgress.get(e.jobId) !== i) continue;
        const event = translate(e, states);
        if (event === 'resync') resync = true;
        else if (event) await send(event);
      }
    }
    // Events a broker restart or the stream's trimming lost come as 'reconnected' or 'missed'
    // (see JobQueue): a heartbeat of an idle stream reads nothing from Redis.
    if (resync) await sendSnapshot(await readBatchView(queue, record));
  }
}

/** The client-facing event for a queue event, updating `states`; 'resync' when only a new snapshot can say what changed. */
function translate(e: QueueEvent, states: Map<string, JobState>): BatchEvent | 'resync' | null {
  if (e.type === 'closed') return null;
  if (e.type === 'reconnected' || e.type === 'missed') return 'resync';
  const before = states.get(e.jobId);
  // A progress report can reach the broker after the job's end (the worker sends it without
  // waiting); a job that really runs again is announced by 'waiting', which resyncs.
  if (
    (e.type === 'active' || e.type === 'progress') &&
    before !== undefined &&
    isTerminal(before)
  ) {
    return null;
  }
  switch (e.type) {
    case 'active':
      states.set(e.jobId, 'active');
      return { type: 'active', jobId: e.jobId };
    case 'progress': {
      const progress = progressSchema.safeParse(e.data);
      if (!progress.success) return null;
      states.set(e.jobId, 'active');
      return { type: 'progress', jobId: e.jobId, progress: progress.data };
    }
    case 'completed': {
      const result = encodeResultSchema.safeParse(e.returnvalue);
      if (!result.success) {
        states.set(e.jobId, 'failed');
        return { type: 'failed', jobId: e.jobId, error: BAD_RESULT };
      }
      states.set(e.jobId, 'completed');
      return { type: 'completed', jobId: e.jobId, result: result.data };
    }
    case 'failed':
      states.set(e.jobId, 'failed');
      return { type: 'failed', jobId: e.jobId, error: decodeJobError(e.failedReason) };
    case 'waiting':
      // A finished job queued again (a retry from another batch): the contract has no event
      // for "back to waiting", but a snapshot says it.
      if (before !== undefined && isTerminal(before)) return 'resync';
      states.set(e.jobId, 'waiting');
      return null;
    case 'removed':
      return 'resync';
  }
}

/** Events waiting to be written, and one reader that sleeps until there are some. */
class Inbox<T> {
  private items: T[] = [];
  private overflowed = false;
  private closed = false;
  private wake: (() => void) | null = null;

  push(item: T): void {
    if (this.closed) return;
    if (this.items.length >= INBOX_LIMIT) {
      this.items = [];
      this.overflowed = true;
    } else {
      this.items.push(item);
    }
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  /** Everything queued, or [] after timeoutMs without any. */
  async take(timeoutMs: number): Promise<T[] | 'closed' | 'overflow'> {
    if (!this.closed && !this.overflowed && this.items.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = null;
    }
    if (this.closed) return 'closed';
    if (this.overflowed) {
      this.overflowed = false;
      return 'overflow';
    }
    const items = this.items;
    this.items = [];
    return items;
  }
}
