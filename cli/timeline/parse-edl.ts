import { isAbsoluteMediaPath, mediaRefToPath } from './file-url.ts';
import { badTimeline, type ParseContext } from './timeline-text.ts';

const EXPECTED_EVENT =
  'an event line "NNN  REEL  TRACK  TRANSITION [DURATION]  SRC-IN SRC-OUT REC-IN REC-OUT"';

/** A video event's media: a full path when a comment gives one, else the names to look up. */
export type EdlSource = { event: string; line: number } & (
  | { kind: 'path'; path: string }
  | {
      kind: 'names';
      /** Most file-like first: source file, clip, clip name, then the reel; may be empty. */
      names: string[];
    }
);

interface EventLine {
  num: string;
  reel: string;
  track: string;
  line: number;
}

interface Comments {
  sourceFile?: string;
  fromFile?: string;
  fromClip?: string;
  fromClipName?: string;
  toClipName?: string;
  toFile?: string;
}

const TIMECODE = /^\d{1,2}[:;.,]\d{2}[:;.,]\d{2}[:;.,]\d{2,3}$/;
const COMMENT =
  /^\*\s*(FROM CLIP NAME|FROM CLIP|FROM FILE|SOURCE FILE|TO CLIP NAME|TO FILE)\s*:\s*(.*?)\s*$/i;
/** FCP's EDL-X lists `>>> SOURCE <file name> -> <reel>` when it had to shorten reel names. */
const REEL_TABLE = /^>>>\s*SOURCE\s+(.+?)\s+->\s+(\S+)\s*$/i;
/** Reels that stand for no media (black) or for "see the clip name" (aux). */
const NO_MEDIA_REELS = new Set(['BL', 'BLK', 'BLACK']);
const AUX_REELS = new Set(['AX', 'AUX']);

function isVideoTrack(track: string): boolean {
  // V, V2, A/V, AA/V, and B (both picture and sound) carry picture; A, A2, AA and NONE do not.
  const t = track.toUpperCase();
  return t === 'B' || t.includes('V');
}

/**
 * The sources of the picture events of a CMX3600 EDL, in order of first use.
 *
 * An EDL names media only in comments, and each application writes different ones: Avid
 * `* FROM CLIP NAME:` and `* SOURCE FILE:` (a clip name without folder), Resolve and Premiere
 * `* FROM CLIP NAME:` with the file name, others `* FROM CLIP:` or `* FROM FILE:` with a full
 * path. A full path is used as it is; a name is looked up under the media root by the caller.
 * The reel is kept as the last name to try: camera clip names often survive only there.
 */
export function parseEdl(text: string, ctx: ParseContext): EdlSource[] {
  if (text.includes('\0')) {
    throw badTimeline(ctx.file, 'line 1', 'the file is binary', 'a plain-text CMX3600 EDL');
  }
  const lines = text.split(/\r\n|\r|\n/);
  const reelTable = new Map<string, string>();
  for (const l of lines) {
    const m = REEL_TABLE.exec(l.trim());
    // A SMPTE UMID (0X060A2B34...) identifies a recording, not a file; it cannot be looked up.
    if (m && !/^0X[0-9A-F]{32,}$/i.test(m[1]!)) reelTable.set(m[2]!, m[1]!);
  }

  interface Group {
    events: EventLine[];
    comments: Comments;
  }
  const groups: Group[] = [];
  let current: Group | undefined;
  let sawTitle = false;

  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.replace(/\s+$/, '');
    if (/^TITLE:/i.test(line)) sawTitle = true;
    if (/^\d+\s/.test(line) || /^\d+$/.test(line)) {
      const t = line.trim().split(/\s+/);
      const tcs = t.slice(-4);
      if (t.length < 8 || !tcs.every((tc) => TIMECODE.test(tc))) {
        throw badTimeline(
          ctx.file,
          `line ${lineNo}`,
          `the event line "${line.trim()}" does not end in four timecodes`,
          EXPECTED_EVENT,
        );
      }
      const ev: EventLine = { num: t[0]!, reel: t[1]!, track: t[2]!, line: lineNo };
      if (current && current.events[0]?.num === ev.num) current.events.push(ev);
      else {
        current = { events: [ev], comments: {} };
        groups.push(current);
      }
      return;
    }
    const c = COMMENT.exec(line.trim());
    if (c && current) {
      const key = c[1]!.toUpperCase();
      const value = c[2]!;
      if (value === '') return;
      const cm = current.comments;
      if (key === 'SOURCE FILE') cm.sourceFile ??= value;
      else if (key === 'FROM FILE') cm.fromFile ??= value;
      else if (key === 'FROM CLIP') cm.fromClip ??= value;
      else if (key === 'FROM CLIP NAME') cm.fromClipName ??= value;
      else if (key === 'TO CLIP NAME') cm.toClipName ??= value;
      else if (key === 'TO FILE') cm.toFile ??= value;
    }
  });

  if (groups.length === 0 && !sawTitle) {
    throw badTimeline(
      ctx.file,
      'line 1',
      'no TITLE: line and no event lines',
      `a CMX3600 EDL with ${EXPECTED_EVENT}`,
    );
  }

  const out: EdlSource[] = [];
  const seen = new Set<string>();
  const push = (s: EdlSource) => {
    const key =
      s.kind === 'path'
        ? `p\0${s.path}`
        : `n\0${s.names.length > 0 ? s.names.join('\0') : `event ${s.event}`}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(s);
  };

  const sourceOf = (ev: EventLine, said: (string | undefined)[]) => {
    if (!isVideoTrack(ev.track)) return;
    const reel = ev.reel.toUpperCase();
    if (NO_MEDIA_REELS.has(reel)) return;
    const given = said.filter((s): s is string => s !== undefined);
    for (const s of given) {
      if (!isAbsoluteMediaPath(s) && !/^file:/i.test(s)) continue;
      const p = mediaRefToPath(s, ctx.baseDir, { escaped: false });
      if (p !== undefined) return push({ kind: 'path', path: p, event: ev.num, line: ev.line });
    }
    const names = [...given];
    const fromTable = reelTable.get(ev.reel);
    if (fromTable) names.push(fromTable);
    if (!AUX_REELS.has(reel)) names.push(ev.reel);
    const unique = [...new Set(names.map((n) => n.trim()).filter((n) => n !== ''))];
    push({ kind: 'names', names: unique, event: ev.num, line: ev.line });
  };

  for (const g of groups) {
    const cm = g.comments;
    const from = [cm.sourceFile, cm.fromFile, cm.fromClip, cm.fromClipName];
    const first = g.events[0]!;
    sourceOf(first, from);
    // A transition is two lines with one number: the outgoing clip, then the incoming one,
    // which the TO comments name (or, without them, the same clip when the reel repeats).
    for (const ev of g.events.slice(1)) {
      const to = [cm.toFile, cm.toClipName];
      const hasTo = to.some((s) => s !== undefined);
      sourceOf(ev, hasTo ? to : ev.reel === first.reel ? from : []);
    }
  }
  return out;
}
