import { UnrecoverableError, type Processor } from 'bullmq';
import { InputError } from '../core/errors.ts';
import { encodeJobError } from '../core/job/job-error.ts';

/** The job name of a proxy encode; every other kind is named for what it does ('probe', ...). */
export const ENCODE_JOB = 'encode';

export type AnyProcessor = Processor<any, any>;

/**
 * One queue carries more than encodes (e.g. `proxima doctor`'s probe jobs), and BullMQ hands
 * every job to one processor: this picks the processor by `job.name`. A job of a kind this
 * worker has no processor for is refused for good, naming the kind, instead of being misread
 * as an encode.
 */
export function dispatchByName(
  encode: AnyProcessor,
  others: Readonly<Record<string, AnyProcessor>> = {},
): AnyProcessor {
  return (job, token, signal) => {
    const name = job.name || ENCODE_JOB;
    if (name === ENCODE_JOB) return encode(job, token, signal);
    const processor = Object.hasOwn(others, name) ? others[name] : undefined;
    if (processor) return processor(job, token, signal);
    throw new UnrecoverableError(
      encodeJobError(
        new InputError(
          'UNKNOWN_JOB_KIND',
          `job ${String(job.id)} is of kind "${name}", which this worker does not run`,
          'run workers of the same Proxima version as the gateway (check "proxima status")',
        ),
      ),
    );
  };
}
