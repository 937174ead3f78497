/**
 * Broker passwords kept out of everything a person may paste into a chat or a bug report:
 * terminal output, logs, `config show`. Pure functions, no I/O, so the logger can use them
 * without loading a Redis client.
 */

export const HIDDEN = '***';

/** Query parameters ioredis takes as credentials (`redis://host?password=...`). */
const SECRET_PARAMS = ['password', 'pass', 'pwd'];

/** A broker URL without its password: `redis://:***@host:6379`, `redis://name:***@host`. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return redactText(url);
  }
  if (u.password) u.password = HIDDEN;
  for (const key of [...u.searchParams.keys()]) {
    if (SECRET_PARAMS.includes(key.toLowerCase())) u.searchParams.set(key, HIDDEN);
  }
  return u.toString().replace(/%2A%2A%2A/g, HIDDEN);
}

/**
 * Every `scheme://user:password@` in free text (an error message, a stack) with the password
 * hidden. The user part stays: a name tells which credentials were used, and is not secret.
 */
export function redactText(text: string): string {
  return (
    text
      // `:/*`: also a URL mistyped with one slash or none, which is still someone's password.
      .replace(/([a-z][a-z0-9+.-]*:\/*[^\s:@/]*):[^\s@]+@/gi, `$1:${HIDDEN}@`)
      .replace(
        new RegExp(`([?&](?:${SECRET_PARAMS.join('|')})=)[^&\\s]+`, 'gi'),
        (_m, head: string) => `${head}${HIDDEN}`,
      )
  );
}

/**
 * Redis commands whose arguments carry credentials. ioredis attaches the failed command to its
 * errors (`err.command.args`), so a refused login would otherwise log the password it tried.
 */
const CREDENTIAL_COMMANDS = new Set(['auth', 'hello', 'migrate', 'acl', 'config']);

export function redactCommandArgs(name: string, args: readonly unknown[]): unknown[] {
  if (!CREDENTIAL_COMMANDS.has(name.toLowerCase())) return [...args];
  // Names and subcommands are useful in a log; every argument after them may be a secret.
  const keep = name.toLowerCase() === 'hello' ? 1 : name.toLowerCase() === 'auth' ? 0 : 1;
  return args.map((a, i) => (i < keep ? a : HIDDEN));
}

/**
 * A serialized error (pino's `err`) made safe to print: credentials in its failed command and
 * URLs in its text are hidden, also in its causes.
 */
export function redactSerializedError(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null || depth > 5) return value;
  if (Array.isArray(value)) return value.map((v) => redactSerializedError(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'command' && isCommand(v)) {
      out[key] = { ...v, args: redactCommandArgs(v.name, v.args) };
    } else {
      out[key] = redactSerializedError(v, depth + 1);
    }
  }
  return out;
}

function isCommand(v: unknown): v is { name: string; args: unknown[] } {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { name?: unknown }).name === 'string' &&
    Array.isArray((v as { args?: unknown }).args)
  );
}
