import { z } from 'zod';
import { InputError } from '../core/errors.ts';

/**
 * Command options are validated by a zod schema before anything runs, so a bad value is one
 * clear error naming the option and what it accepts (exit 2).
 */
export function parseOptions<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  /** For the hint: `proxima <command> --help`. */
  command: string,
  /** Display names for keys that are arguments, not --options. */
  names: Record<string, string> = {},
): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = String(issue.path[0] ?? '');
  const name = names[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const got = valueAt(raw, key);
  const expected =
    issue.code === 'invalid_value'
      ? `one of ${issue.values.map(String).join(', ')}`
      : issue.message;
  throw new InputError(
    'BAD_OPTION',
    got === undefined || (Array.isArray(got) && got.length === 0)
      ? `${name}: ${expected}`
      : `${name} ${JSON.stringify(got)}: expected ${expected}`,
    `see \`proxima ${command} --help\``,
  );
}

function valueAt(raw: unknown, key: string): unknown {
  return typeof raw === 'object' && raw !== null
    ? (raw as Record<string, unknown>)[key]
    : undefined;
}

/** A whole number given on the command line as text. */
export function intOption(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, `a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `a whole number from ${min} to ${max}`)
        .max(max, `a whole number from ${min} to ${max}`),
    );
}

/** commander option parser for a repeatable option: `--timeline A --timeline B` -> ['A', 'B']. */
export function repeatable(value: string, previous: string[]): string[] {
  return [...previous, value];
}
