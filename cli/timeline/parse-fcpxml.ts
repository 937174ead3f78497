import { mediaRefToPath } from './file-url.ts';
import {
  badTimeline,
  childrenNamed,
  describeElement,
  parseXmlRoot,
  SourceCollector,
  type ParseContext,
  type ParsedSources,
  type XmlElement,
} from './timeline-text.ts';

const EXPECTED =
  'an FCPXML document (<fcpxml version="1.x">) as Final Cut Pro or Resolve export it';

/** Items a browser-only export (no project) holds at the top level or in an event. */
const STORY_ITEMS = new Set([
  'asset-clip',
  'ref-clip',
  'mc-clip',
  'sync-clip',
  'clip',
  'video',
  'spine',
  'gap',
]);

type Use = 'video' | 'audio';

/**
 * Video-bearing media used by the projects of an FCPXML document (1.8 to 1.13).
 *
 * Only what a project's sequence reaches counts: the resources list every clip of the event,
 * most of them never cut in. Compound clips (`ref-clip` to a `<media>` sequence) are followed
 * where they are used. A multicam clip contributes every angle, because switching angles while
 * cutting needs each angle's proxy. A use that takes only audio (an `<audio>` element, or
 * `srcEnable="audio"`) does not make the asset a source, nor does an asset without video.
 * Disabled clips count: they stay in the cut and are switched back on while editing.
 * Exports without a project (a clip or a compound clip on its own) count their top-level items.
 */
export function parseFcpxml(text: string, ctx: ParseContext): ParsedSources {
  const root = parseXmlRoot(text, ctx, 'fcpxml', EXPECTED);

  const resources = new Map<string, XmlElement>();
  for (const res of childrenNamed(root, 'resources')) {
    for (const r of res.children) if (r.attrs.id) resources.set(r.attrs.id, r);
  }

  const out = new SourceCollector();
  const compoundsInProgress = new Set<string>();

  const useAsset = (asset: XmlElement, by: XmlElement) => {
    if (!assetHasVideo(asset)) return;
    const ref = assetSource(asset);
    if (ref === undefined) {
      throw badTimeline(
        ctx.file,
        describeElement(asset),
        `the asset used by ${describeElement(by)} names no media file`,
        'a <media-rep kind="original-media" src="..."> (FCPXML 1.9 and later) or an src attribute (1.8)',
      );
    }
    const p = mediaRefToPath(ref, ctx.baseDir);
    if (p === undefined) {
      out.miss(asset.attrs.name ?? ref, `the media is not a local file: ${ref}`);
    } else {
      out.add(p);
    }
  };

  const resolveRef = (el: XmlElement): XmlElement | undefined => {
    const id = el.attrs.ref;
    if (id === undefined) return undefined;
    const found = resources.get(id);
    if (!found) {
      throw badTimeline(
        ctx.file,
        describeElement(el),
        `ref="${id}" names no resource`,
        'every ref to name an <asset>, <media> or <effect> in <resources>',
      );
    }
    return found;
  };

  const walkCompound = (media: XmlElement, use: Use) => {
    const id = media.attrs.id ?? '';
    // A compound clip that contains itself is not valid FCPXML; stop rather than recurse forever.
    if (compoundsInProgress.has(id)) return;
    compoundsInProgress.add(id);
    for (const seq of media.children) {
      if (seq.name === 'sequence') walkChildren(seq, use, use);
      if (seq.name === 'multicam') {
        for (const angle of childrenNamed(seq, 'mc-angle')) walkChildren(angle, use, use);
      }
    }
    compoundsInProgress.delete(id);
  };

  const useResource = (res: XmlElement, by: XmlElement, use: Use) => {
    if (res.name === 'asset') {
      if (use === 'video') useAsset(res, by);
    } else if (res.name === 'media') {
      walkCompound(res, use);
    }
    // <effect> and <format>: generators, titles, formats; no media file.
  };

  /**
   * `use` is what the enclosing story takes from `el`. Its content (a clip's own video, a
   * compound's sequence) is taken as `el`'s srcEnable narrows that; items connected to it on a
   * lane belong to the enclosing story and keep `use`.
   */
  const walk = (el: XmlElement, use: Use) => {
    const own: Use = el.attrs.srcEnable === 'audio' ? 'audio' : use;
    switch (el.name) {
      case 'asset-clip':
      case 'ref-clip':
      case 'video': {
        const res = resolveRef(el);
        if (res) useResource(res, el, own);
        break;
      }
      case 'audio': {
        const res = resolveRef(el);
        if (res) useResource(res, el, 'audio');
        walkChildren(el, 'audio', use);
        return;
      }
      case 'mc-clip': {
        const res = resolveRef(el);
        const sources = childrenNamed(el, 'mc-source');
        const takesVideo =
          sources.length === 0 ||
          sources.some(
            (s) => s.attrs.srcEnable === undefined || /all|video/.test(s.attrs.srcEnable),
          );
        if (res) useResource(res, el, takesVideo ? own : 'audio');
        break;
      }
      case 'resources':
      case 'smart-collection':
      case 'keyword-collection':
      case 'collection-folder':
      case 'import-options':
        return;
    }
    walkChildren(el, own, use);
  };

  const walkChildren = (el: XmlElement, content: Use, connected: Use) => {
    for (const c of el.children) walk(c, c.attrs.lane !== undefined ? connected : content);
  };

  const projects: XmlElement[] = [];
  const collectProjects = (el: XmlElement) => {
    for (const c of el.children) {
      if (c.name === 'project') projects.push(c);
      else if (c.name === 'library' || c.name === 'event') collectProjects(c);
    }
  };
  collectProjects(root);

  if (projects.length > 0) {
    for (const project of projects) {
      for (const seq of childrenNamed(project, 'sequence')) walkChildren(seq, 'video', 'video');
    }
  } else {
    const topLevel = (el: XmlElement) => {
      for (const c of el.children) {
        if (STORY_ITEMS.has(c.name)) walk(c, 'video');
        else if (c.name === 'library' || c.name === 'event') topLevel(c);
      }
    };
    topLevel(root);
  }
  return out.result();
}

function assetHasVideo(asset: XmlElement): boolean {
  if (asset.attrs.hasVideo !== undefined) return asset.attrs.hasVideo === '1';
  return asset.attrs.videoSources !== undefined && asset.attrs.videoSources !== '0';
}

/** FCPXML 1.9 and later: `<media-rep kind="original-media" src>`; up to 1.8: `<asset src>`. */
function assetSource(asset: XmlElement): string | undefined {
  const original = childrenNamed(asset, 'media-rep').find((r) => r.attrs.kind === 'original-media');
  const src = original?.attrs.src ?? asset.attrs.src;
  return src === undefined || src.trim() === '' ? undefined : src;
}
