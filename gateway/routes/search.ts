import { Hono } from 'hono';
import { z } from 'zod';
import { searchResponseSchema, type SearchResponse } from '../../core/job/monitor-contract.ts';
import type { AppDeps } from '../deps.ts';
import { respond } from '../respond.ts';
import { jobViewFrom } from '../views.ts';

/** Batches searched, newest first: a farm's recent work, not its whole history. */
export const SEARCH_BATCHES = 200;

const querySchema = z.object({
  q: z.string().trim().min(1).max(1000),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/**
 * Clips across the recent batches whose source or proxy path (as the editor names them)
 * contains the text, newest batch first. The paths are in the batch records, so only the
 * matches are read from the queue.
 */
export function searchRoutes(deps: AppDeps): Hono {
  return new Hono().get('/search', async (c) => {
    const { q, limit } = querySchema.parse(c.req.query(), { reportInput: true });
    const needle = q.toLowerCase();
    const records = await deps.batches.recent(SEARCH_BATCHES);
    const hits: { record: (typeof records)[number]; index: number }[] = [];
    let more = false;
    outer: for (const record of records) {
      for (let i = 0; i < record.jobIds.length; i++) {
        const p = record.editorPaths?.[i];
        const text = p ? `${p.source}\n${p.proxyPath}` : record.jobIds[i]!;
        if (!text.toLowerCase().includes(needle)) continue;
        if (hits.length === limit) {
          more = true;
          break outer;
        }
        hits.push({ record, index: i });
      }
    }
    const jobs = await deps.queue.getJobs(hits.map((h) => h.record.jobIds[h.index]!));
    const out: SearchResponse['jobs'] = [];
    hits.forEach((h, i) => {
      const job = jobs[i];
      // Expired since the batch was queued: nothing left to show.
      if (!job) return;
      out.push({
        batchId: h.record.id,
        batchLabel: h.record.label,
        job: jobViewFrom(job, h.record.preset, h.record.editorPaths?.[h.index]),
      });
    });
    return respond(c, searchResponseSchema, { jobs: out, more });
  });
}
