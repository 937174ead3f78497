import { existsSync } from 'node:fs';
import type { Config } from '../../core/config/schema.ts';
import { proxyPathFor } from '../../core/paths/proxy-path.ts';
import type { ResolveBridge, ResolveTimeline } from '../resolve/bridge-client.ts';
import { selectClips, type ClipPlan } from '../resolve/select-clips.ts';

export interface TimelineChoice {
  /** The timeline open in Resolve. */
  current: boolean;
  names: readonly string[];
  all: boolean;
  /** Video tracks to read per timeline name (from --select); absent: all. */
  tracks?: Record<string, number[]>;
}

export interface ResolvePlan {
  project: string;
  timelines: string[];
  plan: ClipPlan;
  /** Clips to encode whose media file is not there (offline in Resolve). */
  offline: { name: string; path: string }[];
}

/** Reads the chosen timelines and plans which of their clips get proxies. */
export async function planFromResolve(
  bridge: ResolveBridge,
  choice: TimelineChoice,
  config: Config,
  flags: { force: boolean; reencode: boolean },
): Promise<ResolvePlan> {
  const timelines: ResolveTimeline[] = [];
  if (choice.all) {
    for (const t of await bridge.listTimelines()) timelines.push(await bridge.readTimeline(t.name));
  } else {
    for (const name of choice.names) timelines.push(await bridge.readTimeline(name));
    if (choice.current || choice.names.length === 0) timelines.push(await bridge.readTimeline());
  }
  const unique = timelines.filter((t, i) => timelines.findIndex((u) => u.name === t.name) === i);
  const plan = selectClips(unique, {
    ...flags,
    tracks: choice.tracks,
    extensions: config.filters.extensions,
    include: config.filters.include,
    exclude: config.filters.exclude,
    proxyPathFor: (source) => proxyPathFor(source, config.paths.proxy_root),
    proxyExists: (p) => existsSync(p),
  });
  const offline = plan.encode.filter((c) => !existsSync(c.path));
  plan.encode = plan.encode.filter((c) => existsSync(c.path));
  return {
    project: unique[0]?.project ?? '',
    timelines: unique.map((t) => t.name),
    plan,
    offline: offline.map((c) => ({ name: c.name, path: c.path })),
  };
}
