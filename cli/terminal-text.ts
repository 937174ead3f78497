/**
 * Text from outside the CLI (file names, clip names, messages from the gateway or Resolve) is
 * printed to a terminal, which obeys control characters: a file named with ESC ] 0 ; ... BEL
 * retitles the window, ESC [ 2 J clears it, U+202E shows a name backwards. Everything the CLI
 * prints for people goes through here, so such characters are shown as visible escapes instead.
 */

/**
 * C0 controls, DEL and C1 controls, and the bidi embeddings, overrides and isolates
 * (U+202A-202E, U+2066-2069). \n is among them: a name holding one must not start a line.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * One line's worth of text, safe for a terminal. Idempotent: an escape is made of printable
 * characters only, so text escaped twice reads the same as once.
 */
export function terminalText(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** Lines the CLI prints itself: each escaped, joined by the newlines that are the CLI's own. */
export function terminalLines(lines: readonly string[]): string {
  return lines.map((l) => `${terminalText(l)}\n`).join('');
}

/**
 * JSON for stdout: the same value once parsed, with the characters JSON.stringify leaves raw
 * (DEL, C1, bidi controls) written as \u escapes, so even a terminal showing it is safe.
 */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
