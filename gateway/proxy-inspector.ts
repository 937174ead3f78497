import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { isProximaError } from '../core/errors.ts';
import { locateFfprobe } from '../core/ffmpeg/locate.ts';
import type { Logger } from '../core/log.ts';
import { presetAt, type Preset } from '../core/presets/presets.ts';
import { isBuiltinPreset } from '../core/presets/names.ts';

/** What is on disk at a proxy path, checked cheaply against the preset it should be. */
export type Inspection = { ok: true } | { ok: false; reason: string };

/** Whether a finished job's proxy is still there; the gateway's view of the proxy disk. */
export interface ProxyInspector {
  /** preset: as resolvePreset (core/presets/choose-preset.ts) builds it, or a built-in's name. */
  inspect(proxyPath: string, preset: Preset | string): Promise<Inspection>;
}

interface VideoHeader {
  codec: string;
  tag: string;
  profile: string;
}

/** Pure: does the first video stream's header say it was made with this preset? */
export function headerMatches(header: VideoHeader | null, preset: Preset | string): Inspection {
  const want = wanted(preset);
  if (!header) return { ok: false, reason: 'it has no video stream' };
  if (header.codec !== want.codec || header.tag !== want.fourcc) {
    return { ok: false, reason: `it is ${header.codec} (${header.tag}), not ${want.label}` };
  }
  if (header.profile !== want.profile) {
    return { ok: false, reason: `it is ${header.codec} ${header.profile}, not ${want.label}` };
  }
  return { ok: true };
}

function wanted(preset: Preset | string): Preset {
  if (typeof preset !== 'string') return preset;
  if (!isBuiltinPreset(preset)) throw new Error(`${preset} is not a built-in preset`);
  return presetAt(preset);
}

/** Pure: ffprobe's JSON for `-show_entries stream=codec_name,codec_tag_string,profile`. */
export function parseHeader(json: string): VideoHeader | null {
  const data = JSON.parse(json) as { streams?: Record<string, unknown>[] };
  const s = data.streams?.[0];
  if (!s) return null;
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  return { codec: text(s.codec_name), tag: text(s.codec_tag_string), profile: text(s.profile) };
}

export interface FfprobeInspectorOptions {
  /** ffprobe.path; empty: the bundled binary, then PATH. */
  ffprobePath: string;
  searchPath: string;
  logger: Logger;
  /** One header probe may take this long; a slow disk then counts as "not verified". */
  timeoutMs?: number;
  /** Files probed at once. */
  parallel?: number;
}

/** Verdicts kept per file and preset while the file's size, mtime and inode stay the same. */
const CACHE_LIMIT = 50_000;

export function createFfprobeInspector(options: FfprobeInspectorOptions): ProxyInspector {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const log = options.logger.child({ component: 'proxy-inspector' });
  let binary: string | null | undefined;
  const ffprobe = (): string | null => {
    if (binary === undefined) {
      try {
        binary = locateFfprobe(options.ffprobePath, options.searchPath).path;
      } catch (err) {
        // Without ffprobe no proxy can be confirmed; each is then queued and the worker decides.
        binary = null;
        log.warn(
          isProximaError(err) ? { code: err.code, hint: err.hint } : { err },
          `finished proxies cannot be checked: ${(err as Error).message}`,
        );
      }
    }
    return binary;
  };
  const cache = new Map<string, { identity: string; verdict: Inspection }>();
  const slots = limiter(options.parallel ?? 4);

  const probe = (bin: string, file: string) =>
    new Promise<string>((resolve, reject) => {
      execFile(
        bin,
        [
          '-v',
          'error',
          '-select_streams',
          'v:0',
          '-show_entries',
          'stream=codec_name,codec_tag_string,profile',
          '-of',
          'json',
          // The file: protocol, so no part of the name is ever read as another protocol.
          `file:${file}`,
        ],
        { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      );
    });

  return {
    async inspect(proxyPath, preset) {
      const st = await stat(proxyPath).catch(() => null);
      if (!st) return { ok: false, reason: 'nothing is at its proxy path' };
      if (!st.isFile()) return { ok: false, reason: 'its proxy path is not a file' };
      if (st.size === 0) return { ok: false, reason: 'its proxy is empty' };
      const want = wanted(preset);
      // By what the header is checked against: two presets with one header are one verdict.
      const key = `${want.codec}/${want.fourcc}/${want.profile}\0${proxyPath}`;
      const identity = `${st.size}:${st.mtimeMs}:${st.ino}`;
      const known = cache.get(key);
      if (known?.identity === identity) return known.verdict;

      const bin = ffprobe();
      if (!bin) return { ok: false, reason: 'ffprobe is not available to check it' };
      let verdict: Inspection;
      try {
        verdict = headerMatches(parseHeader(await slots(() => probe(bin, proxyPath))), want);
      } catch (err) {
        // Not cached: a timeout or a half-copied file may read fine next time.
        const e = err as Error & { killed?: boolean };
        return {
          ok: false,
          reason: e.killed
            ? `ffprobe did not read it within ${timeoutMs / 1000} s`
            : 'ffprobe cannot read it',
        };
      }
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
      cache.set(key, { identity, verdict });
      return verdict;
    },
  };
}

/** Runs at most `size` of the given tasks at once. */
function limiter(size: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    while (running >= size) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
