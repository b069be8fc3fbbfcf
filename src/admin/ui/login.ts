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
import { suspendedWhat } from '../../credentials/index.ts';
import type { ConsoleDeps, ConsoleApp, ConsoleEnv } from './context.ts';
import { BASE, html, page, type Html } from './html.ts';
import { crossSite, readForm, safeNext } from './guard.ts';
import type { Sessions } from './session.ts';
import type { TwoFactor } from './two-factor.ts';

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

/** Seconds a banned client address still waits, or null when it is not banned. */
export async function bannedFor(deps: ConsoleDeps, ip: string, now: number): Promise<number | null> {
  if (deps.lockout.isTrusted(ip)) return null;
  const ban = await deps.store.authGuard.banOf(clientKey(ip), now);
  if (!ban) return null;
  deps.metrics?.auth.inc({ channel: 'console', result: 'banned' });
  return Math.max(1, Math.ceil((ban.bannedUntil - now) / 1000));
}

/**
 * A failed sign-in or password check: counted and logged; unless the authenticator already did
 * (`counted`), it counts toward the address's ban; then waits auth.failureDelayMs.
 */
export async function failedLogin(
  deps: ConsoleDeps,
  o: { ip: string; now: number; reason: string; user?: string; counted?: boolean; ipBanned?: boolean },
): Promise<void> {
  deps.metrics?.auth.inc({ channel: 'console', result: o.reason === 'locked' || o.reason === 'suspended' ? o.reason : 'failure' });
  deps.logger.warn(
    { evt: 'auth', listener: 'console', ip: o.ip, user: o.user || undefined, result: 'fail', reason: o.reason },
    'authentication failed',
  );
  const l = deps.lockout;
  const banned = o.counted
    ? o.ipBanned
    : !l.isTrusted(o.ip) && (await deps.store.authGuard.recordIpFailure(clientKey(o.ip), o.now, l.ipWindowMs, l.ipFailures, l.ipBanMs));
  if (banned) {
    deps.metrics?.bans.inc();
    deps.logger.warn({ evt: 'ban', ip: o.ip, result: 'banned' }, 'client address banned after too many failed logins');
  }
  if (deps.failureDelayMs) await new Promise((r) => setTimeout(r, deps.failureDelayMs));
}

export function mountLogin(app: ConsoleApp, deps: ConsoleDeps, sessions: Sessions, twoFactor: TwoFactor): void {
  const count = (result: AuthOutcome) => deps.metrics?.auth.inc({ channel: 'console', result });
  const ipOf = (c: Context<ConsoleEnv>) => c.env.incoming.socket.remoteAddress ?? '';
  const show = (c: Context<ConsoleEnv>, next: string, error: string | null, status = 200, login = '') =>
    page(c, { title: 'Sign in', session: null, status, body: loginForm(next, error, login) });

  /** Signing in over a session (switching who is signed in) ends that session on the server too. */
  const endPrevious = async (c: Context<ConsoleEnv>, now: number) => {
    const old = await sessions.current(c, now);
    if (old) await deps.store.consoleSessions.remove(old.idHash);
  };

  app.get('/login', async (c) => {
    const s = await sessions.current(c, deps.clock.now());
    if (s) return c.redirect(safeNext(c.req.query('next')), 303);
    return show(c, safeNext(c.req.query('next')), null);
  });

  app.post('/login', async (c) => {
    const ip = ipOf(c);
    const now = deps.clock.now();
    const wait = await bannedFor(deps, ip, now);
    if (wait !== null) {
      c.header('retry-after', String(wait));
      return show(c, BASE, `Too many failed sign-ins from your address. Try again in ${Math.ceil(wait / 60)} minutes.`, 429);
    }
    const form = crossSite(c) ? 'cross-site' : await readForm(c);
    if (form === 'control') return show(c, BASE, 'A field contains a control character (such as NUL); check what was pasted.', 400);
    if (typeof form === 'string')
      return show(c, BASE, 'The sign-in form could not be read (sent from another site, or too large). Try again.', 400);
    const next = safeNext(form.next);
    const fail = async (reason: string, text: string, login = '', o: { counted?: boolean; ipBanned?: boolean } = {}) => {
      await failedLogin(deps, { ip, now, reason, user: login, ...o });
      return show(c, next, text, 401, login);
    };
    if (form.method === 'token') {
      const t = await deps.service('console').authenticateToken((form.token ?? '').trim());
      if (!t) return fail('unknown-token', 'That API token is not valid (unknown or revoked).');
      if (t.customerStatus !== null && t.customerStatus !== 'active')
        return fail('suspended', 'This account is suspended; contact your provider.', t.name);
      count('success');
      await endPrevious(c, now);
      deps.logger.info({ evt: 'console', ip, user: t.name, result: 'first-factor' }, 'console sign-in');
      return twoFactor.afterFirstFactor(c, { via: 'token', subject: t.name, customerId: t.customerId }, next, now);
    }
    const login = (form.login ?? '').trim().slice(0, 320);
    const r = await deps.authenticator.authenticate(login, form.password ?? '', ip, { purpose: 'console' });
    if (!r.ok) {
      const text =
        r.reason === 'suspended'
          ? `This ${suspendedWhat(r.mailbox)} is suspended; contact your provider.`
          : r.reason === 'locked'
            ? 'Too many failed sign-ins for this mailbox. Try again later, or ask your provider.'
            : 'The email address or the password is not right.';
      return fail(r.reason, text, login, { counted: true, ipBanned: r.ipBanned });
    }
    count('success');
    await endPrevious(c, now);
    deps.logger.info({ evt: 'console', ip, user: r.mailbox.address, result: 'first-factor' }, 'console sign-in');
    return twoFactor.afterFirstFactor(c, { via: 'mailbox', subject: r.mailbox.address, customerId: r.mailbox.customerId }, next, now);
  });
}
