import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from '../../core/config/schema.ts';
import type { ResolveRequest } from '../../core/job/contract.ts';
import { editorProxyPathFor } from '../../core/paths/proxy-path.ts';
import type { ResolveBridge, ResolveTimeline } from '../resolve/bridge-client.ts';
import {
  planLine,
  selectClips,
  type ClipPlan,
  type PlannedClip,
  type SelectOptions,
} from '../resolve/select-clips.ts';
import { readTimelineFile } from '../timeline/read-timeline-file.ts';
import { nameClashOnDisk } from './scan-sources.ts';

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
  offline: PlannedClip[];
  /** Clips found inside compound clips (through an FCPXML export), or why they could not be. */
  compound: { found: number } | { error: string } | null;
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
  const clashes = nameClashOnDisk(config.filters.extensions);
  const options: SelectOptions = {
    ...flags,
    tracks: choice.tracks,
    extensions: config.filters.extensions,
    include: config.filters.include,
    exclude: config.filters.exclude,
    // The name the gateway will give it: a same-stem neighbour in its folder keeps extensions.
    proxyPathFor: (source) =>
      editorProxyPathFor(source, config.paths.proxy_root, config.paths.mappings, {
        nameClash: clashes(source),
        layout: config.paths.layout,
      }),
    proxyExists: (p) => existsSync(p),
  };
  let plan = selectClips(unique, options);
  let compound: ResolvePlan['compound'] = null;
  if (plan.skipped.some((s) => s.reason === 'compound clip')) {
    try {
      const inner = await compoundContents(bridge, unique, plan);
      compound = { found: inner.videoTracks[0]!.items.length };
      plan = selectClips([...unique, inner], options);
    } catch (err) {
      compound = { error: err instanceof Error ? err.message : String(err) };
    }
  }
  const offline = plan.encode.filter((c) => !existsSync(c.path));
  plan.encode = plan.encode.filter((c) => existsSync(c.path));
  return {
    project: unique[0]?.project ?? '',
    timelines: unique.map((t) => t.name),
    plan,
    offline,
    compound,
  };
}

/** What is shown before anything is sent: where from, the counts with reasons, and notes. */
export function planLines(rp: ResolvePlan): string[] {
  const lines = [
    `resolve: project ${rp.project}, timeline${rp.timelines.length === 1 ? '' : 's'} ${rp.timelines.join(', ')}`,
    planLine(rp.plan),
  ];
  if (rp.compound && 'found' in rp.compound) {
    lines.push(
      `compound clips: ${rp.compound.found} clips inside them, read from an FCPXML export`,
    );
  } else if (rp.compound) {
    lines.push(
      `note: the clips inside compound clips were not read (${rp.compound.error}); queue them with --timeline-file on an FCPXML export of the timeline`,
    );
  }
  for (const c of rp.offline) lines.push(`note: skipped ${c.path} (media offline)`);
  return lines;
}

/**
 * The batch's record of which Resolve clip each proxy is for: every media-pool clip of the
 * sources queued, and of the proxies linked as they were found on disk.
 */
export function resolveRequest(
  rp: ResolvePlan,
  /** The path a clip's file was queued under, as the scan normalised it. */
  queuedAs: (file: string) => string | undefined,
): ResolveRequest {
  const clips: ResolveRequest['clips'] = [];
  const add = (c: PlannedClip, source: string, proxyPath?: string) => {
    for (const one of [c, ...c.sameFile]) {
      clips.push({
        mediaId: one.mediaId,
        name: one.name,
        source,
        timelines: c.timelines,
        ...(proxyPath !== undefined && { proxyPath }),
      });
    }
  };
  for (const c of rp.plan.encode) {
    const source = queuedAs(c.path);
    if (source !== undefined) add(c, source);
  }
  for (const c of rp.plan.link) add(c, c.path, c.proxyPath);
  return { project: rp.project, timelines: rp.timelines, clips };
}

/**
 * The media-pool clips inside the timelines' compound clips, as one more timeline. The
 * scripting API has no way into a compound clip, but an FCPXML export of the timeline lists
 * its contents; their media-pool clips are then found by file path.
 */
async function compoundContents(
  bridge: ResolveBridge,
  timelines: readonly ResolveTimeline[],
  plan: ClipPlan,
): Promise<ResolveTimeline> {
  const known = new Set(
    [...plan.encode, ...plan.link]
      .map((c) => c.path)
      .concat(plan.skipped.flatMap((s) => (s.path ? [s.path] : []))),
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'proxima-export-'));
  const paths: string[] = [];
  try {
    for (const t of timelines) {
      const file = path.join(dir, `${t.uniqueId ?? 'timeline'}.fcpxml`);
      if (!(await bridge.exportFcpxml(t.name, file))) {
        throw new Error(`Resolve did not export timeline ${t.name} as FCPXML`);
      }
      for (const s of (await readTimelineFile(file)).sources) {
        if (!known.has(s.path) && !paths.includes(s.path)) paths.push(s.path);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const clips = paths.length > 0 ? await bridge.findClips(paths) : [];
  return {
    name: `${timelines.map((t) => t.name).join(', ')} (inside compound clips)`,
    uniqueId: null,
    project: timelines[0]?.project ?? '',
    videoTracks: [
      {
        index: 1,
        enabled: true,
        items: clips.map((clip) => ({ name: clip.name, start: 0, end: 0, enabled: true, clip })),
      },
    ],
  };
}
