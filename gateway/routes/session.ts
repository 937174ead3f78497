import { Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import {
  SESSION_COOKIE,
  sessionRequestSchema,
  sessionResponseSchema,
} from '../../core/job/monitor-contract.ts';
import { sessionOf } from '../auth.ts';
import type { AppDeps } from '../deps.ts';
import { HttpError, unauthorized } from '../errors.ts';
import { readJson } from '../request-body.ts';
import { respond } from '../respond.ts';
import { csrfOf, issueSession, same, SESSION_SECONDS } from '../session.ts';

/** Paths requireToken lets through: signing in and out need no session. */
export function sessionOpen(method: string, path: string): boolean {
  return path === '/v1/session' && (method === 'POST' || method === 'DELETE');
}

/** The monitor's sign-in: the gateway token traded for a session cookie (see session.ts). */
export function sessionRoutes(deps: AppDeps): Hono {
  const token = deps.config.gateway.token;
  const app = new Hono();

  // Reached only by a caller requireToken let in.
  app.get('/session', (c) => {
    const session = token === '' ? undefined : sessionOf(c, token);
    return respond(c, sessionResponseSchema, {
      tokenRequired: token !== '',
      csrf: session === undefined ? '' : csrfOf(token, session),
    });
  });

  app.post('/session', async (c) => {
    const parsed = sessionRequestSchema.safeParse(await readJson(c));
    if (!parsed.success) {
      throw new HttpError(400, 'BAD_REQUEST', 'send {"token": "..."}', 'type the gateway token');
    }
    if (token === '') return c.body(null, 204);
    if (!same(parsed.data.token, token)) {
      deps.logger.warn({ from: c.req.header('x-forwarded-for') ?? null }, 'sign-in refused');
      throw unauthorized('that is not the gateway token');
    }
    setCookie(c, SESSION_COOKIE, issueSession(token, Date.now()), {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      maxAge: SESSION_SECONDS,
      // Only where the page itself came over TLS: a cookie marked Secure is dropped over http.
      secure: new URL(c.req.url).protocol === 'https:',
    });
    deps.logger.info('monitor signed in');
    return c.body(null, 204);
  });

  app.delete('/session', (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.body(null, 204);
  });

  return app;
}
