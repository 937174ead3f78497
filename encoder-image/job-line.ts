import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { sourcePathSchema } from '../core/job/contract.ts';

/** The jobs next in line on the queue, as far as a worker may look ahead at them. */
export interface JobLine {
  /** Source files of the next `count` jobs a worker would take (clips and chunks alike). */
  nextSources(count: number): Promise<string[]>;
  close(): Promise<void>;
}

// Only what looking ahead needs: the job's processor validates the whole payload when it runs.
const withSource = z.looseObject({ source: z.looseObject({ path: sourcePathSchema }) });

export function createJobLine(opts: { connection: Redis; name: string }): JobLine {
  const queue = new Queue(opts.name, { connection: opts.connection });
  queue.on('error', () => {});
  return {
    async nextSources(count) {
      if (count <= 0) return [];
      // Prioritized jobs are taken before waiting ones; oldest first is the order they go in.
      const jobs = await queue.getJobs(['prioritized', 'wait'], 0, count - 1, true);
      const paths: string[] = [];
      for (const job of jobs.slice(0, count)) {
        const parsed = withSource.safeParse(job?.data);
        if (parsed.success) paths.push(parsed.data.source.path);
      }
      return paths;
    },
    async close() {
      await queue.close().catch(() => {});
    },
  };
}
