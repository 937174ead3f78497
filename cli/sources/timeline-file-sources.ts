import { existsSync } from 'node:fs';
import { readTimelineFile } from '../timeline/read-timeline-file.ts';

/**
 * The media files an exported timeline uses that are there to encode. Media that cannot be
 * found is noted, not fatal: an edit often names clips from drives that are not mounted.
 */
export async function timelineFileSources(
  file: string,
  mediaRoot: string | undefined,
  note: (line: string) => void,
): Promise<string[]> {
  const timeline = await readTimelineFile(file, { mediaRoot });
  note(`${timeline.file}: ${timeline.sources.length} source files (${timeline.format})`);
  for (const u of timeline.unresolved) note(`note: not found ${u.name} (${u.reason})`);
  const paths: string[] = [];
  for (const s of timeline.sources) {
    if (existsSync(s.path)) paths.push(s.path);
    else note(`note: skipped ${s.path} (media file missing)`);
  }
  return paths;
}
