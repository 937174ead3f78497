import type { Logger } from '../../core/log.ts';
import type { EnqueueResponse } from '../../core/job/contract.ts';
import type { GatewayClient } from '../gateway-client.ts';
import { terminalLines, terminalText } from '../terminal-text.ts';
import type { BatchState } from './batch-state.ts';
import { createProgressView, type OutputStream, type ViewMode } from './progress-view.ts';
import { renderConnectionNote, renderSummary } from './render-progress.ts';
import { watchBatch } from './watch-batch.ts';

export interface FollowOptions {
  out: OutputStream;
  mode: ViewMode;
  logger: Logger;
  signal: AbortSignal;
  /** Stop following when this rejects first, e.g. the local stack losing a part. */
  failed?: Promise<never>;
  /** Called with every new state, after the display; `note` prints a line through it. */
  onState?(state: BatchState, note: (line: string) => void): void;
  /** gateway.reconnect_seconds, in ms: how long a lost gateway is waited for. */
  giveUpAfterMs?: number;
  /** Where lost and regained connections are told when the view is silent (--json: stderr). */
  notices?: OutputStream;
}

/** Shows a queued batch until the gateway reports it done; the display is tidied either way. */
export async function followBatch(
  client: GatewayClient,
  response: EnqueueResponse,
  options: FollowOptions,
): Promise<BatchState> {
  const view = createProgressView(options.out, options.mode);
  const notices = options.notices;
  const tell =
    options.mode === 'silent'
      ? (line: string) => notices?.write(`${terminalText(line)}\n`)
      : (line: string) => view.note(line);
  try {
    const watching = watchBatch(client, response.batch, {
      onState: (s) => {
        view.update(s);
        options.onState?.(s, (line) => view.note(line));
      },
      onConnection: (note) => tell(renderConnectionNote(note)),
      signal: options.signal,
      logger: options.logger,
      giveUpAfterMs: options.giveUpAfterMs,
    });
    return await (options.failed ? Promise.race([watching, options.failed]) : watching);
  } finally {
    view.stop();
  }
}

export function printSummary(
  out: OutputStream,
  state: BatchState,
  response: EnqueueResponse,
  listProxies = false,
): void {
  out.write(
    terminalLines(renderSummary(state, { deduplicated: response.deduplicated, listProxies })),
  );
}
