import type { Redis } from 'ioredis';

/**
 * Many jobs' states in one round trip, and without BullMQ's getJobState, which looks for a
 * waiting job by scanning the wait list: for a batch of n jobs among N waiting that is n x N
 * (10,000 x 50,000 took minutes). Here each job costs a few O(1) set lookups in one script:
 * finished, active (the active list read once per call), delayed, prioritized, waiting for its
 * chunks; a job whose hash exists in none of them is waiting (or paused); no hash, unknown.
 */
const STATES_LUA = `
local prefix = ARGV[1]
local active = {}
for _, id in ipairs(redis.call('LRANGE', prefix .. 'active', 0, -1)) do active[id] = true end
-- Sets that are empty now are not asked for each job: with 50,000 jobs waiting, most are.
local sets = {}
for _, set in ipairs({ 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children' }) do
  if redis.call('ZCARD', prefix .. set) > 0 then sets[#sets + 1] = set end
end
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local state = nil
  if active[id] then state = 'active' end
  if not state then
    for _, set in ipairs(sets) do
      if redis.call('ZSCORE', prefix .. set, id) then state = set break end
    end
  end
  if not state then
    if redis.call('EXISTS', prefix .. id) == 1 then state = 'waiting' else state = 'unknown' end
  end
  out[#out + 1] = state
end
return out
`;

/** The batch each job's stored payload names (data.batchId), false when none or no job. */
const BATCH_OF_LUA = `
local prefix = ARGV[1]
local out = {}
for i = 2, #ARGV do
  local data = redis.call('HGET', prefix .. ARGV[i], 'data')
  local batch = false
  if data then
    local ok, decoded = pcall(cjson.decode, data)
    if ok and type(decoded) == 'table' and type(decoded.batchId) == 'string' then
      batch = decoded.batchId
    end
  end
  out[#out + 1] = batch
end
return out
`;

/** Ids per script call: each call holds Redis for a few milliseconds at most. */
const PER_CALL = 2000;

type WithScripts = Redis & {
  proximaJobStates(...args: string[]): Promise<string[]>;
  proximaBatchOf(...args: string[]): Promise<(string | null)[]>;
};

function withScripts(redis: Redis): WithScripts {
  const r = redis as WithScripts;
  if (typeof r.proximaJobStates !== 'function') {
    // ioredis sends them by their SHA and loads them once when Redis does not know them.
    redis.defineCommand('proximaJobStates', { numberOfKeys: 0, lua: STATES_LUA });
    redis.defineCommand('proximaBatchOf', { numberOfKeys: 0, lua: BATCH_OF_LUA });
  }
  return r;
}

/** The batch whose request queued each job (its payload's batchId); null: no job or none. */
export async function readJobBatches(
  redis: Redis,
  prefix: string,
  ids: readonly string[],
): Promise<(string | null)[]> {
  const r = withScripts(redis);
  const calls: Promise<(string | null)[]>[] = [];
  for (let i = 0; i < ids.length; i += PER_CALL) {
    calls.push(r.proximaBatchOf(prefix, ...ids.slice(i, i + PER_CALL)));
  }
  // Lua's false arrives as null.
  return (await Promise.all(calls)).flat().map((b) => (typeof b === 'string' ? b : null));
}

/** BullMQ's raw states ('waiting-children' included) of `ids`, in order; `prefix` ends in ':'. */
export async function readJobStates(
  redis: Redis,
  prefix: string,
  ids: readonly string[],
): Promise<string[]> {
  const r = withScripts(redis);
  const calls: Promise<string[]>[] = [];
  // Sent together: Redis runs them one after the other, without a round trip between.
  for (let i = 0; i < ids.length; i += PER_CALL) {
    calls.push(r.proximaJobStates(prefix, ...ids.slice(i, i + PER_CALL)));
  }
  return (await Promise.all(calls)).flat();
}

/** The fields of a job's hash the gateway shows, still unparsed; null when the hash is gone. */
export interface RawJobFields {
  data: string | null;
  progress: string | null;
  returnvalue: string | null;
  failedReason: string | null;
  attemptsMade: number;
  /** When a worker last took it and when it ended (ms); null before. */
  processedOn: number | null;
  finishedOn: number | null;
}

const FIELDS = [
  'data',
  'progress',
  'returnvalue',
  'failedReason',
  'atm',
  'attemptsMade',
  'processedOn',
  'finishedOn',
] as const;

const time = (text: string | null | undefined): number | null => {
  const n = Number(text ?? NaN);
  return Number.isFinite(n) && n > 0 ? n : null;
};

/** The hashes of `ids` in pipelined batches: one round trip per PER_CALL jobs. */
export async function readJobFields(
  redis: Redis,
  prefix: string,
  ids: readonly string[],
): Promise<(RawJobFields | null)[]> {
  const out: (RawJobFields | null)[] = [];
  for (let i = 0; i < ids.length; i += PER_CALL) {
    const pipeline = redis.pipeline();
    for (const id of ids.slice(i, i + PER_CALL)) pipeline.hmget(prefix + id, ...FIELDS);
    const replies = (await pipeline.exec()) ?? [];
    for (const [err, reply] of replies) {
      if (err) throw err;
      const [data, progress, returnvalue, failedReason, atm, attemptsMade, processed, finished] =
        reply as (string | null)[];
      // A job always has its data: without it the hash is gone (removed or expired).
      out.push(
        data === null || data === undefined
          ? null
          : {
              data,
              progress: progress ?? null,
              returnvalue: returnvalue ?? null,
              failedReason: failedReason ?? null,
              attemptsMade: Number(attemptsMade ?? atm ?? 0) || 0,
              processedOn: time(processed),
              finishedOn: time(finished),
            },
      );
    }
  }
  return out;
}

/** JSON as BullMQ wrote it; what does not parse is kept as its text for the views to refuse. */
export function parseStored(text: string | null, fallback: unknown = null): unknown {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
