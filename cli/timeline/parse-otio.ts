import { mediaRefToPath } from './file-url.ts';
import {
  badTimeline,
  lineAt,
  SourceCollector,
  type ParseContext,
  type ParsedSources,
} from './timeline-text.ts';

const EXPECTED = 'an OpenTimelineIO .otio JSON document whose root is a Timeline';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `Clip.2` -> `Clip`: the schema version changes fields, not meaning. */
function schemaOf(v: unknown): string | undefined {
  if (!isObject(v) || typeof v.OTIO_SCHEMA !== 'string') return undefined;
  return v.OTIO_SCHEMA.split('.')[0];
}

function jsonErrorLine(text: string, err: Error): number {
  const lineCol = /line (\d+) column \d+/.exec(err.message);
  if (lineCol) return Number(lineCol[1]);
  const pos = /position (\d+)/.exec(err.message);
  if (pos) return lineAt(text, Number(pos[1]));
  return lineAt(text, text.length);
}

/**
 * Media files of the clips on Video tracks of an OpenTimelineIO document, nested stacks and
 * tracks included. Only `ExternalReference` names a file: missing and generator references
 * have none, and an image sequence is stills, which get no proxy.
 */
export function parseOtio(text: string, ctx: ParseContext): ParsedSources {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw badTimeline(
      ctx.file,
      `line ${jsonErrorLine(text, err as Error)}`,
      `bad JSON: ${(err as Error).message}`,
      EXPECTED,
    );
  }
  const rootSchema = schemaOf(doc);
  if (
    rootSchema !== 'Timeline' &&
    rootSchema !== 'SerializableCollection' &&
    rootSchema !== 'Stack' &&
    rootSchema !== 'Track'
  ) {
    throw badTimeline(
      ctx.file,
      'the root object',
      rootSchema === undefined
        ? 'it has no OTIO_SCHEMA'
        : `it is a ${String((doc as Json).OTIO_SCHEMA)}`,
      EXPECTED,
    );
  }

  const out = new SourceCollector();

  const clipReference = (clip: Json, where: string): unknown => {
    if ('media_references' in clip) {
      const refs = clip.media_references;
      const key = clip.active_media_reference_key;
      if (!isObject(refs) || typeof key !== 'string' || !(key in refs)) {
        throw badTimeline(
          ctx.file,
          where,
          `active_media_reference_key ${JSON.stringify(key)} is not a key of media_references`,
          'the active key to name one of the clip’s media_references',
        );
      }
      return refs[key];
    }
    if (!('media_reference' in clip)) {
      throw badTimeline(
        ctx.file,
        where,
        'the clip has neither media_reference nor media_references',
        'a Clip.1 media_reference or Clip.2 media_references',
      );
    }
    return clip.media_reference;
  };

  const useClip = (clip: Json, where: string) => {
    const ref = clipReference(clip, where);
    const schema = schemaOf(ref);
    if (ref === null || schema === 'MissingReference' || schema === 'GeneratorReference') return;
    if (schema === 'ImageSequenceReference') return;
    const name = typeof clip.name === 'string' && clip.name !== '' ? clip.name : where;
    if (schema !== 'ExternalReference') {
      out.miss(name, `the media reference is a ${String((ref as Json)?.OTIO_SCHEMA ?? ref)}`);
      return;
    }
    const url = (ref as Json).target_url;
    if (typeof url !== 'string' || url.trim() === '') {
      throw badTimeline(
        ctx.file,
        where,
        'the ExternalReference has no target_url',
        'a target_url naming the media file',
      );
    }
    const p = mediaRefToPath(url, ctx.baseDir);
    if (p === undefined) out.miss(name, `the media is not a local file: ${url}`);
    else out.add(p);
  };

  /** `where` reads like `Timeline "Cut" > Stack "tracks" > Track 2 "V2" > Clip 3 "A001"`. */
  const walk = (node: unknown, kind: string | undefined, where: string, index?: number) => {
    const schema = schemaOf(node);
    if (schema === undefined) return;
    const obj = node as Json;
    const named = typeof obj.name === 'string' && obj.name ? ` "${obj.name}"` : '';
    const self = `${schema}${index === undefined ? '' : ` ${index + 1}`}${named}`;
    const label = where === '' ? self : `${where} > ${self}`;
    switch (schema) {
      case 'Clip':
        if (kind === 'Video') useClip(obj, label);
        return;
      case 'Timeline':
        walk(obj.tracks, undefined, label);
        return;
      case 'Track':
        kind = typeof obj.kind === 'string' ? obj.kind : kind;
        break;
    }
    if (Array.isArray(obj.children)) {
      obj.children.forEach((c, i) => walk(c, kind, label, i));
    }
  };
  walk(doc, undefined, '');
  return out.result();
}
