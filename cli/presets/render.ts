import type { MediaInfo } from '../../core/media/media-info.ts';
import type { Preset } from '../../core/presets/presets.ts';
import { terminalText } from '../terminal-text.ts';
import type { Explanation } from './explain.ts';
import type { PresetEntry } from './preset-table.ts';

function sizeText(preset: Preset): string {
  return typeof preset.size === 'number' ? `${preset.size}p` : preset.size;
}

function audioText(preset: Preset): string {
  const { codec, streams } = preset.audio;
  return `${codec.toUpperCase()} ${streams === 'all' ? 'all tracks' : `first ${streams}`}`;
}

/** A preset as `--json` gives it: what it makes, nothing of how it is built. */
export function presetJson(entry: Pick<PresetEntry, 'name' | 'preset'> & Partial<PresetEntry>) {
  const p = entry.preset;
  return {
    name: entry.name,
    ...(entry.base !== undefined && { builtin: entry.base === null, base: entry.base }),
    ...(entry.isDefault !== undefined && { default: entry.isDefault }),
    label: p.label,
    codec: p.codec,
    profile: p.profile,
    fourcc: p.fourcc,
    encoder: p.videoArgs[0],
    size: p.size,
    pixFmt: p.pixFmt,
    audio: p.audio,
  };
}

/** An aligned table, the default marked, then the rules. */
export function renderList(entries: readonly PresetEntry[], rules: readonly string[]): string {
  const rows = [
    ['NAME', 'MAKES', 'SIZE', 'PIXELS', 'AUDIO', 'FROM'],
    ...entries.map((e) => [
      `${e.name}${e.isDefault ? ' *' : ''}`,
      `${e.preset.codec} ${e.preset.profile} (${e.preset.fourcc})`,
      sizeText(e.preset),
      e.preset.pixFmt,
      audioText(e.preset),
      e.base === null ? 'built-in' : `user, from ${e.base}`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  lines.push('', '* default (encoding.preset)');
  if (rules.length > 0) {
    lines.push('', 'encoding.rules (the first that matches a source chooses its preset):');
    for (const r of rules) lines.push(`  ${r}`);
  }
  return lines.map(terminalText).join('\n') + '\n';
}

/** "h264, 640x360, 25 fps, 8-bit 4:2:0, 1.00 s, 1 audio stream (aac 2 ch 48000 Hz)". */
export function probeSummary(media: MediaInfo): string {
  const parts: string[] = [];
  const v = media.video;
  if (v) {
    const [num, den] = v.frameRate;
    const fps = den > 0 ? Math.round((num / den) * 1000) / 1000 : 0;
    parts.push(v.codec, `${v.width}x${v.height}`, `${fps} fps${v.vfr ? ' (variable)' : ''}`);
    const depth = v.bitDepth > 0 ? `${v.bitDepth}-bit` : '';
    const chroma = /^\d{3}$/.test(v.chroma) ? v.chroma.split('').join(':') : v.chroma;
    if (depth || chroma) parts.push([depth, chroma].filter(Boolean).join(' '));
    if (v.rotation) parts.push(`rotated ${v.rotation}°`);
  }
  parts.push(`${media.durationSec.toFixed(2)} s`);
  const n = media.audio.length;
  const tracks = media.audio.map((a) => `${a.codec} ${a.channels} ch ${a.sampleRate} Hz`);
  parts.push(
    n === 0 ? 'no audio' : `${n} audio stream${n === 1 ? '' : 's'} (${tracks.join('; ')})`,
  );
  if (media.timecode) parts.push(`timecode ${media.timecode}`);
  return parts.join(', ');
}

function mbits(bps: number): string {
  return `${(bps / 1e6).toFixed(1)} Mbit/s`;
}

export function renderExplain(x: Explanation): string {
  const p = x.preset.preset;
  const rule = x.preset.forced
    ? `none applies: --preset ${x.preset.name}`
    : (x.rule?.description ?? `no rule matches: encoding.preset ${x.preset.name}`);
  const lines = [
    `file     ${x.file}`,
    ...(x.farmPath !== x.file ? [`farm     ${x.farmPath}`] : []),
    `probe    ${probeSummary(x.media)}`,
    `rule     ${rule}`,
    `preset   ${x.preset.name}: ${p.label}, ${p.codec} ${p.profile} (${p.fourcc}), ${p.pixFmt}, ${sizeText(p)}, audio ${audioText(p)}`,
    `proxy    ${x.proxy.width}x${x.proxy.height}, about ${mbits(x.proxy.estimatedVideoBitrate)} of video (an estimate)`,
    `writes   ${x.proxy.path}`,
  ];
  if (x.chunks !== null) {
    lines.push(
      `chunks   ${x.chunks}: longer than chunking.min_seconds, so workers encode it in chunks joined after; below is the argv of one encode of the whole clip`,
    );
  }
  lines.push(`ffmpeg   ${x.ffmpeg.path ?? 'not found on this machine'}`);
  lines.push(
    'argv     (JSON array, for reading only; the worker writes to a temp file beside the proxy and renames it once verified)',
  );
  const text = lines.map(terminalText).join('\n');
  // JSON escapes every control character, so the argv line is safe as it is.
  return `${text}\n${JSON.stringify(x.ffmpeg.args)}\n`;
}

export function explainJson(x: Explanation) {
  return {
    file: x.file,
    farmPath: x.farmPath,
    media: x.media,
    rule: x.rule,
    preset: { ...presetJson(x.preset), forced: x.preset.forced },
    proxy: x.proxy,
    chunks: x.chunks,
    ffmpeg: x.ffmpeg,
  };
}
