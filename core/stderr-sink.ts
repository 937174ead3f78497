import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';

/**
 * Log lines to stderr, written at once (a line logged just before exit is not lost). A stderr
 * that can no longer be written, a terminal window closed (EIO) or a reader gone (EPIPE), drops
 * the lines instead of crashing the process: a worker must still hand its jobs back, a stack
 * still stop its parts, with nobody left to read what they say.
 */
export function createStderrSink(fd = 2): {
  write(chunk: string | Buffer): void;
  stream: Writable;
} {
  let gone = false;
  const write = (chunk: string | Buffer) => {
    if (gone) return;
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let busy = 0;
    while (buf.length > 0) {
      try {
        buf = buf.subarray(writeSync(fd, buf));
        busy = 0;
      } catch (err) {
        // A non-blocking stderr (a pipe another process set so) is full for a moment: wait.
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && ++busy < 1000) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
          continue;
        }
        gone = true;
        return;
      }
    }
  };
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      write(chunk);
      callback();
    },
  });
  return { write, stream };
}
