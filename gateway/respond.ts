import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';

/**
 * Sends a body only after checking it against its contract schema: a gateway bug then shows up
 * as a 500 here instead of as a confusing failure in every client.
 */
export function respond<S extends z.ZodType>(
  c: Context,
  schema: S,
  body: z.input<S>,
  status: ContentfulStatusCode = 200,
): Response {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new Error(
      `response for ${c.req.method} ${c.req.path} does not match its contract: ${parsed.error.message}`,
    );
  }
  return c.json(parsed.data as never, status);
}
