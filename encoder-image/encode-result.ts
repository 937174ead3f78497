import type { EncodeJob, EncodeResult } from '../core/job/contract.ts';
import type { MediaInfo } from '../core/media/media-info.ts';

/** What a clip's job returns: the proxy as ffprobe saw it once verified. */
export function encodeResult(
  data: EncodeJob,
  proxy: MediaInfo,
  reused: boolean,
  started: number,
  ended: number,
  worker: string,
): EncodeResult {
  return {
    proxyPath: data.proxyPath,
    reused,
    codec: proxy.video?.codec ?? '',
    width: proxy.video?.width ?? 0,
    height: proxy.video?.height ?? 0,
    frames: proxy.video?.frameCount ?? 0,
    audioStreams: proxy.audio.length,
    timecode: proxy.timecode,
    encodeSeconds: (ended - started) / 1000,
    worker,
  };
}
