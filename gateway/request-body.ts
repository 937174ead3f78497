import type { Context } from 'hono';
import { HttpError } from './errors.ts';

/** Refuses, never repairs: bytes that are not UTF-8 would otherwise turn into U+FFFD in paths. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function readJson(c: Context): Promise<unknown> {
  // The content type was checked for every write (requireJsonWrites).
  let text: string;
  try {
    text = utf8.decode(await c.req.arrayBuffer());
  } catch (err) {
    if (err instanceof TypeError) {
      throw new HttpError(
        400,
        'BAD_ENCODING',
        'request body is not valid UTF-8',
        'send the body as UTF-8 encoded JSON',
      );
    }
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(
      400,
      'BAD_JSON',
      `request body is not valid JSON (${(err as Error).message.split('\n')[0]})`,
      'send the body as JSON with content-type: application/json',
    );
  }
}
