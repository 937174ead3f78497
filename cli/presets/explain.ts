import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { LoadedConfig } from '../../core/config/load.ts';
import { InputError, MediaError } from '../../core/errors.ts';
import { planChunks } from '../../core/chunks/plan.ts';
import { buildFfmpegArgs } from '../../core/ffmpeg/build-args.ts';
import { locateFfmpeg, locateFfprobe } from '../../core/ffmpeg/locate.ts';
import type { MediaInfo } from '../../core/media/media-info.ts';
import { toFarm } from '../../core/paths/path-mapping.ts';
import { proxyPathFor } from '../../core/paths/proxy-path.ts';
import {
  defaultConcurrency,
  encoderThreads,
  estimatedVideoBitrate,
  proxyDimensions,
  type Preset,
} from '../../core/presets/presets.ts';
import { createProber } from '../../encoder-image/probe-runner.ts';
import { choosePresetFor } from './preset-table.ts';

export interface Explanation {
  /** The file as given, made absolute. */
  file: string;
  /** The same file as the farm names it (paths.mappings). */
  farmPath: string;
  media: MediaInfo;
  preset: { name: string; forced: boolean; preset: Preset };
  rule: { index: number; description: string } | null;
  proxy: { path: string; width: number; height: number; estimatedVideoBitrate: number };
  /** How many chunks the clip is split into (chunking.*); null: one encode. */
  chunks: number | null;
  ffmpeg: { path: string | null; args: string[] };
}

/**
 * What a worker with this config would do with `file`: probed here with ffprobe, its preset
 * chosen by the rules (or `forced`), and the single-pass argv buildFfmpegArgs gives, writing
 * straight to the proxy path where the worker writes a temp file beside it first.
 */
export async function explainFile(
  loaded: LoadedConfig,
  file: string,
  forced: string | undefined,
): Promise<Explanation> {
  const { config } = loaded;
  const absolute = path.resolve(file);
  // A FIFO or a device would hold ffprobe until worker.probe_seconds.
  const st = await stat(absolute).catch(() => null);
  if (st && !st.isFile()) {
    throw new InputError(
      'SOURCE_NOT_FILE',
      `${absolute} is not a regular file`,
      'give a video file, not a folder or device',
    );
  }
  const ffprobe = locateFfprobe(config.ffprobe.path, loaded.searchPath).path;
  const media = await createProber(ffprobe, {
    timeoutSeconds: config.worker.probe_seconds,
  })
    .probe(absolute)
    .catch((err: unknown) => {
      // The worker's words speak of queueing; here the file was named on the command line.
      if (err instanceof MediaError && err.code === 'SOURCE_MISSING') {
        throw new MediaError(
          'SOURCE_MISSING',
          `${absolute} does not exist or cannot be read`,
          'check the file name',
        );
      }
      if (err instanceof MediaError && err.code === 'MEDIA_UNREADABLE') {
        throw new MediaError(
          err.code,
          err.message,
          'give a video file; a corrupt or incomplete one (still copying?) cannot be encoded either',
        );
      }
      throw err;
    });
  if (media.isStill) {
    throw new MediaError('STILL_IMAGE', `${absolute} is a still image`, 'stills need no proxy');
  }
  if (!media.video) {
    throw new MediaError(
      'NO_VIDEO',
      `${absolute} has no video stream`,
      'audio files need no proxy',
    );
  }
  const farmPath = toFarm(absolute, config.paths.mappings);
  const choice = choosePresetFor(config, media, farmPath, forced);
  const proxyPath = proxyPathFor(farmPath, config.paths.proxy_root, {
    layout: config.paths.layout,
  });
  const split = config.chunking.enabled
    ? planChunks(media, {
        minSeconds: config.chunking.min_seconds,
        chunkSeconds: config.chunking.chunk_seconds,
      })
    : null;
  const cores = availableParallelism();
  const args = buildFfmpegArgs(media, choice.preset, {
    input: farmPath,
    output: proxyPath,
    // As `proxima work` on this machine would run it.
    threads: encoderThreads(cores, defaultConcurrency(config.worker.concurrency, cores)),
  });
  return {
    file: absolute,
    farmPath,
    media,
    preset: { name: choice.name, forced: forced !== undefined, preset: choice.preset },
    rule: choice.rule,
    proxy: {
      path: proxyPath,
      ...proxyDimensions(media, choice.preset),
      estimatedVideoBitrate: estimatedVideoBitrate(media, choice.preset),
    },
    chunks: split ? split.chunks.length : null,
    ffmpeg: { path: ffmpegPath(loaded), args },
  };
}

/** Shown beside the argv; the explanation stands without it. */
function ffmpegPath(loaded: LoadedConfig): string | null {
  try {
    return locateFfmpeg(loaded.config.ffmpeg.path, loaded.searchPath).path;
  } catch {
    return null;
  }
}
