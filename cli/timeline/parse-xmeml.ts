import { mediaRefToPath } from './file-url.ts';
import {
  badTimeline,
  child,
  describeElement,
  parseXmlRoot,
  SourceCollector,
  type ParseContext,
  type ParsedSources,
  type XmlElement,
} from './timeline-text.ts';

const EXPECTED =
  'a Final Cut Pro 7 XML document (<xmeml version="4"> or "5") as Premiere, Resolve or Final Cut Pro 7 export it';

/** Containers whose sequences are timelines of their own, not clips inside a timeline. */
const CONTAINERS = new Set(['xmeml', 'project', 'bin', 'children']);

/**
 * Video-bearing files used on the video tracks of the sequences in a Final Cut Pro 7 XML
 * (xmeml) document.
 *
 * A `<file>` is written in full once and then as an empty `<file id=".."/>`; the full copy may
 * sit in a bin's master clip rather than in the sequence, so all of them are indexed first.
 * Nested sequences are followed where a clip uses them. Files on audio tracks only, files whose
 * `<media>` has no `<video>`, and generated media without a `<pathurl>` (slugs, titles) are not
 * sources. Disabled clips count, as in FCPXML.
 */
export function parseXmeml(text: string, ctx: ParseContext): ParsedSources {
  const root = parseXmlRoot(text, ctx, 'xmeml', EXPECTED);

  const files = new Map<string, XmlElement>();
  const sequences = new Map<string, XmlElement>();
  const index = (el: XmlElement) => {
    for (const c of el.children) {
      const id = c.attrs.id;
      if (id !== undefined && c.children.length > 0) {
        if (c.name === 'file' && !files.has(id)) files.set(id, c);
        if (c.name === 'sequence' && !sequences.has(id)) sequences.set(id, c);
      }
      index(c);
    }
  };
  index(root);

  const out = new SourceCollector();
  const sequencesInProgress = new Set<XmlElement>();

  const useFile = (ref: XmlElement, clip: XmlElement) => {
    let file = ref;
    if (ref.children.length === 0) {
      const id = ref.attrs.id;
      const full = id === undefined ? undefined : files.get(id);
      if (!full) {
        throw badTimeline(
          ctx.file,
          describeElement(ref),
          `the clip ${describeElement(clip)} refers to a file that is never written in full`,
          'each <file id> to be written with its <pathurl> once in the document',
        );
      }
      file = full;
    }
    const media = child(file, 'media');
    // No <media> at all says nothing either way; the clip sits on a video track.
    if (media && !child(media, 'video')) return;
    const url = child(file, 'pathurl')?.text.trim() ?? '';
    if (url === '') return;
    const p = mediaRefToPath(url, ctx.baseDir);
    if (p === undefined) {
      out.miss(child(file, 'name')?.text.trim() || url, `the media is not a local file: ${url}`);
    } else {
      out.add(p);
    }
  };

  const visitSequence = (ref: XmlElement) => {
    const seq = ref.children.length === 0 && ref.attrs.id ? sequences.get(ref.attrs.id) : ref;
    if (!seq || sequencesInProgress.has(seq)) return;
    sequencesInProgress.add(seq);
    const video = child(child(seq, 'media') ?? seq, 'video');
    for (const track of video?.children ?? []) {
      if (track.name !== 'track') continue;
      for (const item of track.children) {
        if (item.name === 'clipitem') visitClipContent(item, item);
      }
    }
    sequencesInProgress.delete(seq);
  };

  /** A clip item holds a file or a nested sequence; a multiclip holds angles with clip items. */
  const visitClipContent = (el: XmlElement, clip: XmlElement) => {
    for (const c of el.children) {
      if (c.name === 'file') useFile(c, clip);
      else if (c.name === 'sequence') visitSequence(c);
      else if (c.name === 'audio' || c.name === 'link' || c.name === 'filter') continue;
      else visitClipContent(c, c.name === 'clipitem' ? c : clip);
    }
  };

  const roots = (el: XmlElement) => {
    for (const c of el.children) {
      if (c.name === 'sequence') visitSequence(c);
      else if (CONTAINERS.has(c.name)) roots(c);
    }
  };
  roots(root);
  return out.result();
}
