import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const STANDIN = fileURLToPath(
  new URL('../resolve-standin/DaVinciResolveScript.py', import.meta.url),
);

export interface SceneClip {
  name: string;
  unique_id?: string;
  folder?: string;
  refuse_link?: boolean;
  proxy_size?: string;
  /** A compound clip's contents: media ids of the clips inside it. */
  inner?: string[];
  /** GetClipProperty() values; FPS is a number, the rest strings, as Resolve gives them. */
  properties: Record<string, string | number>;
}

export interface SceneItem {
  name: string;
  clip: string | null;
  start?: number;
  end?: number;
  enabled?: boolean;
}

export interface SceneTimeline {
  name: string;
  id?: string;
  video_tracks: { enabled?: boolean; items: SceneItem[] }[];
  audio_tracks?: { enabled?: boolean; items: SceneItem[] }[];
}

export interface SceneProject {
  current_timeline?: string | null;
  timelines: SceneTimeline[];
  clips: Record<string, SceneClip>;
  settings?: Record<string, string>;
}

export interface Scene {
  resolve_running?: boolean;
  external_scripting?: 'Local' | 'Network' | 'None';
  hang_seconds?: number;
  product?: string;
  version?: string;
  current_project: string | null;
  projects: Record<string, SceneProject>;
}

export interface InstalledScene {
  dir: string;
  sceneFile: string;
  callsFile: string;
  /** Blackmagic's layout: <scriptApi>/Modules/DaVinciResolveScript.py. */
  scriptApi: string;
  /** Environment for a process that runs the bridge against this scene. */
  env: Record<string, string>;
  read(): Scene;
  write(scene: Scene): void;
  /** The recorded LinkProxyMedia / UnlinkProxyMedia calls, in order. */
  calls(): { op: string; mediaId: string; path?: string; project: string; result: boolean }[];
}

/** Writes the scene and installs the stand-in module where Resolve's installer would put it. */
export function installScene(scene: Scene): InstalledScene {
  const dir = mkdtempSync(path.join(tmpdir(), 'proxima-resolve-'));
  const scriptApi = path.join(dir, 'Developer', 'Scripting');
  mkdirSync(path.join(scriptApi, 'Modules'), { recursive: true });
  copyFileSync(STANDIN, path.join(scriptApi, 'Modules', 'DaVinciResolveScript.py'));
  const sceneFile = path.join(dir, 'scene.json');
  const callsFile = path.join(dir, 'calls.jsonl');
  writeFileSync(sceneFile, JSON.stringify(scene, null, 1));
  return {
    dir,
    sceneFile,
    callsFile,
    scriptApi,
    env: {
      PROXIMA_RESOLVE_SCENE: sceneFile,
      PROXIMA_RESOLVE_CALLS: callsFile,
      RESOLVE_SCRIPT_API: scriptApi,
    },
    read: () => JSON.parse(readFileSync(sceneFile, 'utf8')) as Scene,
    write: (s) => writeFileSync(sceneFile, JSON.stringify(s, null, 1)),
    calls: () => {
      let text = '';
      try {
        text = readFileSync(callsFile, 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ReturnType<InstalledScene['calls']>[number]);
    },
  };
}

/** GetClipProperty() of a camera clip as Resolve reports it. */
export function clipProperties(
  filePath: string,
  extra: Record<string, string | number> = {},
): Record<string, string | number> {
  const name = path.basename(filePath);
  return {
    'File Path': filePath,
    'File Name': name,
    'Clip Name': name,
    Type: 'Video + Audio',
    Resolution: '320x180',
    FPS: 25.0,
    Frames: '25',
    Duration: '00:00:01:00',
    'Start TC': '01:00:00:00',
    'End TC': '01:00:01:00',
    'Video Codec': 'H.264',
    'Audio Codec': 'AAC',
    'Audio Ch': '2',
    Proxy: 'None',
    'Proxy Media Path': '',
    ...extra,
  };
}
