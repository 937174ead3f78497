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
  /** Media id of its media pool clip; null for titles and other items without one. */
  clip: string | null;
  start?: number;
  end?: number;
  enabled?: boolean;
  left_offset?: number;
  right_offset?: number;
  source_start?: number;
  source_end?: number;
}

export interface SceneTimeline {
  name: string;
  id?: string;
  video_tracks: { enabled?: boolean; items: SceneItem[] }[];
  audio_tracks?: { enabled?: boolean; items: SceneItem[] }[];
  start_timecode?: string;
  settings?: Record<string, string>;
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
  /** scriptapp() takes this long, as when a dialog is open while a command starts. */
  hang_seconds?: number;
  /** Calls that take this long (seconds), as when a dialog opens mid-command. */
  hang_calls?: Record<string, number>;
  /** Resolve refuses every link while its Project Manager window is open. */
  project_manager_open?: boolean;
  product?: string;
  /** Methods newer than this version are missing from dir() and return None. */
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

export type ClipType =
  | 'Video + Audio'
  | 'Video'
  | 'Audio'
  | 'Still'
  | 'Timeline'
  | 'Compound'
  | 'Generator'
  | 'Fusion Composition';

/**
 * GetClipProperty() of a media pool clip of each Type as Resolve reports it: generated media
 * (compound clips, generators, Fusion compositions) has no file, an audio clip no picture.
 */
export function propertiesOfType(
  type: ClipType,
  filePath = '',
  extra: Record<string, string | number> = {},
): Record<string, string | number> {
  switch (type) {
    case 'Video + Audio':
      return clipProperties(filePath, extra);
    case 'Video':
      return clipProperties(filePath, { Type: type, 'Audio Codec': '', 'Audio Ch': '0', ...extra });
    case 'Audio':
      return clipProperties(filePath, {
        Type: type,
        Resolution: '',
        'Video Codec': '',
        'Audio Codec': 'Linear PCM',
        ...extra,
      });
    case 'Still':
      return clipProperties(filePath, {
        Type: type,
        Frames: '1',
        Duration: '00:00:00:01',
        'End TC': '01:00:00:01',
        'Video Codec': 'PNG',
        'Audio Codec': '',
        'Audio Ch': '0',
        ...extra,
      });
    default:
      return {
        ...clipProperties('', {
          Type: type,
          'Video Codec': '',
          'Audio Codec': '',
          'Audio Ch': '0',
        }),
        'Clip Name': type === 'Compound' ? 'Compound Clip 1' : type,
        ...extra,
      };
  }
}

/**
 * A project with two timelines that has a clip of every Type on its video tracks, a title
 * without a media pool item, a disabled track and an item disabled on its own. `media` is the
 * folder the clips' files are said to be in (they need not exist).
 */
export function sampleScene(media: string): Scene {
  const file = (name: string) => path.join(media, name);
  return {
    current_project: 'Feature',
    projects: {
      Feature: {
        current_timeline: 'Edit',
        settings: { timelineFrameRate: '25', perfProxyMediaMode: '1' },
        timelines: [
          {
            name: 'Edit',
            id: 'tl-edit',
            video_tracks: [
              {
                items: [
                  { name: 'A001C001.mp4', clip: 'm-a', start: 86400, end: 86425 },
                  { name: 'Title', clip: null, start: 86425, end: 86450 },
                  { name: 'B001C001.mxf', clip: 'm-b', start: 86450, end: 86475 },
                  { name: 'poster.png', clip: 'm-still', start: 86475, end: 86500 },
                ],
              },
              {
                enabled: false,
                items: [
                  { name: 'Compound Clip 1', clip: 'm-compound', start: 86400, end: 86450 },
                  { name: 'Solid Color', clip: 'm-generator', start: 86450, end: 86460 },
                  { name: 'Fusion Composition', clip: 'm-fusion', start: 86460, end: 86470 },
                  {
                    name: 'A001C001.mp4',
                    clip: 'm-a',
                    start: 86470,
                    end: 86480,
                    enabled: false,
                    left_offset: 5,
                  },
                ],
              },
            ],
            audio_tracks: [
              { items: [{ name: 'tone.wav', clip: 'm-audio', start: 86400, end: 86425 }] },
            ],
          },
          {
            name: 'Trailer',
            id: 'tl-trailer',
            video_tracks: [{ items: [{ name: 'C001C001.mov', clip: 'm-c', start: 0, end: 25 }] }],
          },
        ],
        clips: {
          'm-a': {
            name: 'A001C001.mp4',
            unique_id: 'u-a',
            folder: 'Master/Day 1',
            properties: propertiesOfType('Video + Audio', file('A001C001.mp4')),
          },
          'm-b': {
            name: 'B001C001.mxf',
            unique_id: 'u-b',
            folder: 'Master/Day 1/B cam',
            properties: propertiesOfType('Video', file('B001C001.mxf')),
          },
          'm-c': {
            name: 'C001C001.mov',
            unique_id: 'u-c',
            folder: 'Master/Day 2',
            properties: propertiesOfType('Video + Audio', file('C001C001.mov')),
          },
          'm-still': {
            name: 'poster.png',
            unique_id: 'u-still',
            properties: propertiesOfType('Still', file('poster.png')),
          },
          'm-audio': {
            name: 'tone.wav',
            unique_id: 'u-audio',
            properties: propertiesOfType('Audio', file('tone.wav')),
          },
          'm-compound': {
            name: 'Compound Clip 1',
            unique_id: 'u-compound',
            inner: ['m-a', 'm-c'],
            properties: propertiesOfType('Compound'),
          },
          'm-generator': {
            name: 'Solid Color',
            unique_id: 'u-generator',
            properties: propertiesOfType('Generator'),
          },
          'm-fusion': {
            name: 'Fusion Composition',
            unique_id: 'u-fusion',
            properties: propertiesOfType('Fusion Composition'),
          },
        },
      },
      Other: { current_timeline: null, timelines: [], clips: {} },
    },
  };
}
