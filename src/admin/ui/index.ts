/**
 * admin/ui: the web console at /console on the HTTPS listener. Server-rendered HTML with one
 * stylesheet and no script (plain forms; everything works without JavaScript). Operators see
 * the dashboard, the queue, holds, bans, customers and their domains, mailboxes and limits,
 * suppressions and webhooks; customers their own account; a mailbox user its own sent mail.
 * Every read and change is a call of the admin service with the session's tenant scope (the
 * same walls as the API); sessions, CSRF and sign-in limits are in session.ts, guard.ts and
 * login.ts. Never touches the store itself except for sessions and sign-in. Fails with an
 * error page (404 for what is not the caller's, 503 when the store does not answer).
 * Imports: core, observability, credentials, limits, store, dkim, webhooks, inject, admin.
 */
import { Hono } from 'hono';
import type { Env } from '../../inject/index.ts';
import { AdminError } from '../errors.ts';
import type { ConsoleApp, ConsoleDeps } from './context.ts';
import { BASE, SECURITY_HEADERS, html, page } from './html.ts';
import { CONSOLE_CSS } from './style.ts';
import { mountLogin } from './login.ts';
import { notFound, refuseControlCharacters, requireSession } from './guard.ts';
import { createSessions } from './session.ts';
import { mountPages } from './pages/index.ts';
import { createTwoFactor } from './two-factor.ts';

export type { ConsoleDeps } from './context.ts';

/** Mounts the console under /console on the web listener's app (the server prunes old sessions with message tracking). */
export function mountConsole(parent: Hono<Env>, deps: ConsoleDeps): void {
  const sessions = createSessions(deps.store, deps.sessions);
  const app: ConsoleApp = new Hono();
  app.use('*', refuseControlCharacters());
  app.get('/console.css', (c) =>
    c.body(CONSOLE_CSS, 200, {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
    }),
  );
  const twoFactor = createTwoFactor(deps, sessions);
  mountLogin(app, deps, sessions, twoFactor);
  twoFactor.mountSignIn(app);
  app.use('*', requireSession(deps, sessions));
  twoFactor.mountSecurity(app);
  app.post('/logout', async (c) => {
    await sessions.end(c, c.get('session'));
    return c.redirect(`${BASE}/login`, 303);
  });
  mountPages(app, deps);
  // last: what no page answered (a sub-app's notFound is not used once it is mounted)
  app.all('*', (c) => notFound(c));
  app.onError((err, c) => {
    if (err instanceof AdminError) {
      const status = err.kind === 'not-found' ? 404 : err.kind === 'forbidden' ? 403 : err.kind === 'conflict' ? 409 : 422;
      if (status === 404) return notFound(c, err.message);
      return page(c, { title: 'Not possible', status, body: html`<p>${err.message}</p>` });
    }
    deps.logger.error({ evt: 'console', path: c.req.path, err: err.message }, 'console request failed');
    return c.html(
      '<!doctype html><title>Temporarily unavailable</title><h1>Temporarily unavailable</h1><p>The console could not reach its store. Try again in a moment.</p>',
      503,
      { ...SECURITY_HEADERS, 'retry-after': '5' },
    );
  });
  parent.route(BASE, app as unknown as Hono<Env>);
}
