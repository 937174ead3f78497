import type { Config, PresetName } from '../../core/config/schema.ts';
import type { SourceRef } from '../../core/job/contract.ts';
import type { ProbeResponse } from '../../core/job/probe-contract.ts';
import {
  hasPreset,
  presetTableFrom,
  resolvePreset,
  type PresetTable,
} from '../../core/presets/choose-preset.ts';
import { DEFAULT_PROXY_SIZE, encoderOf } from '../../core/presets/presets.ts';
import { PROTOCOL_VERSION } from '../../core/version.ts';
import type { Logger } from '../../core/log.ts';
import { fail, type CheckLine } from './check-line.ts';
import { requestProbe } from './probe-client.ts';
import { sampleSources } from './sample.ts';
import { sourceLines } from './worker-lines.ts';

/** Sources a worker checks before a batch is sent. */
export const PREFLIGHT_SAMPLE = 8;
/** How long `queue` waits for a worker's answer before queueing unchecked. */
export const PREFLIGHT_SECONDS = 10;

/**
 * What a worker's answer says against queueing: its doctor lines, empty when nothing is wrong.
 * Only a definite no refuses a batch; no answer (no worker yet, all busy) does not. Pure.
 */
export function preflightFailures(
  response: ProbeResponse,
  sampled: readonly SourceRef[],
  preset: PresetName,
  /** Where the preset's encoder is looked up; a name it lacks (the gateway's own) is not checked. */
  table: PresetTable = { size: DEFAULT_PROXY_SIZE, user: {} },
): CheckLine[] {
  const result = response.result;
  if (response.outcome !== 'answered' || !result) return [];
  const lines: CheckLine[] = [];
  const host = result.worker.host;
  if (!result.ffmpeg.version) {
    lines.push(
      fail(
        'ffmpeg',
        `ffmpeg does not run on worker ${host}: ${result.ffmpeg.error ?? 'no version'}`,
        'install ffmpeg there, or set ffmpeg.path in its config',
      ),
    );
  } else if (
    hasPreset(table, preset) &&
    result.ffmpeg.missingEncoders.includes(encoderOf(resolvePreset(table, preset)))
  ) {
    lines.push(
      fail(
        'encoders',
        `the ffmpeg of worker ${host} lacks ${encoderOf(resolvePreset(table, preset))}, which ${preset} needs`,
        'use an ffmpeg built with it (the bundled ffmpeg-static has it), or set ffmpeg.path',
      ),
    );
  }
  const facts = { sampled, count: sampled.length, bytes: 0 };
  lines.push(...sourceLines(response, facts).filter((l) => l.status === 'FAIL'));
  if (!result.proxyRoot.writable) {
    lines.push(
      fail(
        'proxy root',
        result.proxyRoot.message ?? `${result.proxyRoot.path} is not writable on worker ${host}`,
        'mount the proxy volume read-write for the worker, or set paths.proxy_root in the gateway config',
      ),
    );
  }
  return lines;
}

/**
 * Asks a worker whether it can see a sample of the batch and write its proxies. Returns the
 * failures to refuse with; an answer that could not be had is logged and queueing goes on.
 */
export async function preflight(
  config: Config,
  sources: readonly SourceRef[],
  preset: PresetName | undefined,
  logger: Logger,
): Promise<CheckLine[]> {
  const sampled = sampleSources(sources, PREFLIGHT_SAMPLE);
  let response: ProbeResponse | null;
  try {
    response = await requestProbe(config, {
      v: PROTOCOL_VERSION,
      sources: sampled.map((s) => s.path),
      timeoutSeconds: PREFLIGHT_SECONDS,
      ...(preset && { preset }),
    });
  } catch (err) {
    // The batch request that follows reports an unreachable gateway in its own words.
    logger.debug({ err }, 'pre-flight not run');
    return [];
  }
  if (response === null) {
    logger.debug('pre-flight not run: the gateway has no probe route');
    return [];
  }
  if (response.outcome !== 'answered') {
    logger.debug(
      { outcome: response.outcome, message: response.message },
      'pre-flight not run: no worker answered',
    );
    return [];
  }
  return preflightFailures(response, sampled, response.preset, presetTableFrom(config));
}
