import type { BuiltinPresetName } from '../../core/presets/names.ts';
import type { ProbeResponse, ProbeResult } from '../../core/job/probe-contract.ts';
import { PRESETS } from '../../core/presets/presets.ts';
import { fail, ok, warn, type CheckLine } from './check-line.ts';
import { estimateBatchBytes, spaceLine } from './estimate.ts';

export interface BatchFacts {
  /** The sampled sources as the editor named them, in the order they were sent. */
  sampled: readonly { path: string; size: number }[];
  count: number;
  bytes: number;
}

/** Why a probe brought no answer, as one line. Pure. */
export function unansweredLine(r: ProbeResponse): CheckLine {
  const message = r.message ?? `no answer (${r.outcome})`;
  const fix = r.hint ?? 'start a worker with `proxima work`';
  return r.outcome === 'busy'
    ? warn('worker checks', message, fix)
    : fail('worker checks', message, fix);
}

/** The presets whose encoder a worker's ffmpeg lacks. Pure. */
export function presetsLacking(result: ProbeResult): BuiltinPresetName[] {
  const missing = new Set(result.ffmpeg.missingEncoders);
  return (Object.keys(PRESETS) as BuiltinPresetName[]).filter((p) =>
    missing.has(PRESETS[p].videoArgs[0]!),
  );
}

/** The worker's ffmpeg, ffprobe and encoders as lines. Pure. */
export function toolLines(result: ProbeResult): CheckLine[] {
  const host = result.worker.host;
  const lines: CheckLine[] = [];
  const { ffmpeg, ffprobe } = result;
  lines.push(
    ffmpeg.version
      ? ok('ffmpeg', `${ffmpeg.version} at ${ffmpeg.path} on worker ${host}`)
      : fail(
          'ffmpeg',
          `ffmpeg does not run on worker ${host}: ${ffmpeg.error ?? 'no version'}`,
          'install ffmpeg there, or set ffmpeg.path in its config',
        ),
  );
  lines.push(
    ffprobe.version
      ? ok('ffprobe', `${ffprobe.version} at ${ffprobe.path} on worker ${host}`)
      : fail(
          'ffprobe',
          `ffprobe does not run on worker ${host}: ${ffprobe.error ?? 'no version'}`,
          'install ffprobe there, or set ffprobe.path in its config',
        ),
  );
  if (ffmpeg.version) {
    const lacking = presetsLacking(result);
    const encoders = [...new Set(Object.values(PRESETS).map((p) => p.videoArgs[0]))];
    lines.push(
      lacking.length === 0
        ? ok('encoders', `${encoders.join(' and ')} in the ffmpeg of worker ${host}`)
        : fail(
            'encoders',
            `the ffmpeg of worker ${host} lacks ${ffmpeg.missingEncoders.join(', ')}, which ${lacking.join(', ')} need${lacking.length === 1 ? 's' : ''}`,
            'use an ffmpeg built with them (the bundled ffmpeg-static has both), or set ffmpeg.path',
          ),
    );
  }
  return lines;
}

/** The sampled sources as a worker sees them: one line per problem, or one OK. Pure. */
export function sourceLines(response: ProbeResponse, facts: BatchFacts): CheckLine[] {
  const result = response.result!;
  const host = result.worker.host;
  const lines: CheckLine[] = [];
  result.sources.forEach((s, i) => {
    if (s.ok) return;
    const editor = facts.sampled[i]?.path ?? s.path;
    const named = editor === s.path ? editor : `${editor} (${s.path} on the farm)`;
    const message = (s.message ?? s.code ?? 'not readable').replace(s.path, named);
    lines.push(fail('source', message, sourceFix(s.code)));
  });
  if (lines.length === 0 && result.sources.length > 0) {
    const of = facts.count > result.sources.length ? ` (a sample of ${facts.count})` : '';
    lines.push(
      ok(
        'sources',
        `${result.sources.length} source${result.sources.length === 1 ? '' : 's'}${of} visible and readable on worker ${host}`,
      ),
    );
  }
  return lines;
}

function sourceFix(code: string | undefined): string {
  switch (code) {
    case 'SOURCE_MISSING':
      return 'mount the media on the workers at the same path, or add a paths.mappings entry { editor, farm } to the gateway config';
    case 'SOURCE_UNREADABLE':
      return "give the worker's user read access to the file and its folders";
    case 'SOURCE_HUNG':
      return 'check the network share on that worker';
    case 'SOURCE_NOT_REGULAR':
      return 'queue the files themselves, not devices, pipes or folders';
    default:
      return 'replace the file (corrupt or still copying?)';
  }
}

/** The proxy root and its free space as the worker sees them. Pure. */
export function proxyRootLines(response: ProbeResponse, facts: BatchFacts | null): CheckLine[] {
  const result = response.result!;
  const root = result.proxyRoot;
  const host = result.worker.host;
  const lines: CheckLine[] = [
    root.writable
      ? ok(
          'proxy root',
          `${root.path} writable on worker ${host} (a test file written and removed)`,
        )
      : fail(
          'proxy root',
          root.message ?? `${root.path} is not writable on worker ${host}`,
          'mount the proxy volume read-write for the worker, or set paths.proxy_root in the gateway config',
        ),
  ];
  const estimate = facts
    ? estimateBatchBytes(
        result.sources.map((s, i) => ({
          size: facts.sampled[i]?.size ?? 0,
          ...(s.estimatedProxyBytes !== undefined && {
            estimatedProxyBytes: s.estimatedProxyBytes,
          }),
        })),
        facts,
      )
    : null;
  lines.push(spaceLine(root.path, host, root.freeBytes, estimate, response.preset));
  return lines;
}
