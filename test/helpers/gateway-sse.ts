export interface SseMessage {
  event: string;
  data: string;
}

export interface SseReader {
  /** The next message, or null once the stream has ended. */
  next(timeoutMs?: number): Promise<SseMessage | null>;
  /** Comment lines seen so far (heartbeats). */
  comments: string[];
  cancel(): Promise<void>;
}

/** A minimal text/event-stream reader over a fetch or app.request() response body. */
export function sseReader(body: ReadableStream<Uint8Array>): SseReader {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const comments: string[] = [];
  const ready: SseMessage[] = [];
  let buffer = '';
  let ended = false;
  // A read that timed out is still pending; the next call must wait on it, not start another.
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;

  const parse = () => {
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments.push(line.slice(1).trim());
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) ready.push({ event, data: data.join('\n') });
    }
  };

  return {
    comments,
    async next(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (ready.length === 0 && !ended) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('timed out waiting for a server-sent event');
        let timer: NodeJS.Timeout | undefined;
        pending ??= reader.read();
        const chunk = await Promise.race([
          pending,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error('timed out waiting for a server-sent event')),
              left,
            );
          }),
        ]).finally(() => clearTimeout(timer));
        pending = null;
        if (chunk.done) ended = true;
        else {
          buffer += decoder.decode(chunk.value, { stream: true });
          parse();
        }
      }
      return ready.shift() ?? null;
    },
    async cancel() {
      await reader.cancel().catch(() => {});
    },
  };
}
