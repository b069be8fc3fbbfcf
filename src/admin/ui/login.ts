/**
 * Signing in and out. Two forms on one page: a mailbox login (address and password, checked
 * like SMTP AUTH: the mailbox lock and the address ban apply) and an API token (operator or
 * customer). A banned client address gets 429 before anything is checked; every failure counts
 * toward its ban and waits auth.failureDelayMs. A successful sign-in starts a new session (a
 * fixed session id is never reused) and goes to the page asked for.
 */
import type { Context } from 'hono';
import { clientKey } from '../../core/index.ts';
import type { AuthOutcome } from '../../observability/index.ts';
import type { ConsoleDeps, ConsoleApp, ConsoleEnv } from './context.ts';
import { BASE, html, page, type Html } from './html.ts';
import { crossSite, readForm, safeNext } from './guard.ts';
import type { Sessions } from './session.ts';

function loginForm(next: string, error: string | null, login = ''): Html {
  return html`${error ? html`<p class="flash error" role="alert" id="login-error">${error}</p>` : ''}
<div class="login">
<h2>With your mailbox</h2>
<form method="post" action="${BASE}/login">
<input type="hidden" name="method" value="mailbox"><input type="hidden" name="next" value="${next}">
<label for="login">Email address</label>
<input id="login" name="login" type="email" autocomplete="username" required value="${login}"${error ? html` aria-describedby="login-error"` : ''}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button type="submit">Sign in</button></p>
</form>
<h2>With an API token</h2>
<p class="muted">Operators, and customers whose provider gave them a token (<code>pat_…</code>).</p>
<form method="post" action="${BASE}/login">
<input type="hidden" name="method" value="token"><input type="hidden" name="next" value="${next}">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<p><button type="submit">Sign in with the token</button></p>
</form></div>`;
}

export function mountLogin(app: ConsoleApp, deps: ConsoleDeps, sessions: Sessions): void {
  const count = (result: AuthOutcome) => deps.metrics?.auth.inc({ channel: 'console', result });
  const ipOf = (c: Context<ConsoleEnv>) => c.env.incoming.socket.remoteAddress ?? '';
  const show = (c: Context<ConsoleEnv>, next: string, error: string | null, status = 200, login = '') =>
    page(c, { title: 'Sign in', session: null, status, body: loginForm(next, error, login) });

  app.get('/login', async (c) => {
    const s = await sessions.current(c, deps.clock.now());
    if (s) return c.redirect(safeNext(c.req.query('next')), 303);
    return show(c, safeNext(c.req.query('next')), null);
  });

  app.post('/login', async (c) => {
    const ip = ipOf(c);
    const now = deps.clock.now();
    const ban = await deps.store.authGuard.banOf(clientKey(ip), now);
    if (ban) {
      count('banned');
      const wait = Math.max(1, Math.ceil((ban.bannedUntil - now) / 1000));
      c.header('retry-after', String(wait));
      return show(c, BASE, `Too many failed sign-ins from your address. Try again in ${Math.ceil(wait / 60)} minutes.`, 429);
    }
    const form = crossSite(c) ? null : await readForm(c);
    if (!form) return show(c, BASE, 'The sign-in form could not be read (sent from another site, or too large). Try again.', 400);
    const next = safeNext(form.next);
    const fail = async (reason: string, text: string, login = '', counted = false) => {
      count(reason === 'locked' || reason === 'suspended' ? reason : 'failure');
      deps.logger.warn({ evt: 'auth', listener: 'console', ip, user: login || undefined, result: 'fail', reason }, 'authentication failed');
      if (!counted && await deps.store.authGuard.recordIpFailure(clientKey(ip), now, deps.lockout.ipWindowMs, deps.lockout.ipFailures, deps.lockout.ipBanMs)) {
        deps.metrics?.bans.inc();
        deps.logger.warn({ evt: 'ban', ip, result: 'banned' }, 'client address banned after too many failed logins');
      }
      if (deps.failureDelayMs) await new Promise((r) => setTimeout(r, deps.failureDelayMs));
      return show(c, next, text, 401, login);
    };
    if (form.method === 'token') {
      const t = await deps.service('console').authenticateToken((form.token ?? '').trim());
      if (!t) return fail('unknown-token', 'That API token is not valid (unknown or revoked).');
      count('success');
      await sessions.start(c, { via: 'token', subject: t.name, customerId: t.customerId }, now);
      deps.logger.info({ evt: 'console', ip, user: t.name, result: 'signed-in' }, 'console sign-in');
      return c.redirect(next, 303);
    }
    const login = (form.login ?? '').trim().slice(0, 320);
    const r = await deps.authenticator.authenticate(login, form.password ?? '', ip);
    if (!r.ok) {
      if (r.ipBanned) {
        deps.metrics?.bans.inc();
        deps.logger.warn({ evt: 'ban', ip, result: 'banned' }, 'client address banned after too many failed logins');
      }
      const text = r.reason === 'suspended' ? 'This mailbox is suspended; contact your provider.'
        : r.reason === 'locked' ? 'Too many failed sign-ins for this mailbox. Try again later, or ask your provider.'
          : 'The email address or the password is not right.';
      return fail(r.reason, text, login, true);
    }
    count('success');
    await sessions.start(c, { via: 'mailbox', subject: r.mailbox.address, customerId: r.mailbox.customerId }, now);
    deps.logger.info({ evt: 'console', ip, user: r.mailbox.address, result: 'signed-in' }, 'console sign-in');
    return c.redirect(next, 303);
  });
}
