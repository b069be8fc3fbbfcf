/**
 * Password change: GET/POST /console/password. A mailbox user changes its own password, with
 * the current one checked like a login (a wrong one counts toward the mailbox lock and the
 * address ban, and waits like a failed login); its other console sessions end. A customer sets
 * or generates the password of one of its mailboxes (a generated one is shown once, on the
 * answer to the POST: never in a URL, a cookie or a log). Operators manage passwords on the
 * customer pages.
 */
import type { Context } from 'hono';
import type { Mailbox } from '../../../core/index.ts';
import { AdminError } from '../../errors.ts';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { field } from '../actions.ts';
import { roleOfContext } from '../guard.ts';
import { bannedFor, failedLogin } from '../login.ts';
import { BASE, csrfField, flash, html, page, type Html } from '../html.ts';

const TITLE = 'Password';

const errorLine = (error: string | null) => (error ? html`<p class="flash error" role="alert" id="pw-error">${error}</p>` : '');
const describedBy = (error: string | null) => (error ? html` aria-describedby="pw-error"` : '');

function ownForm(c: Context<ConsoleEnv>, error: string | null): Html {
  const s = c.get('session');
  return html`${errorLine(error)}<p>Change the password of <strong>${s.subject}</strong>. Your mail programs need the new password afterwards; your other console sessions are signed out.</p>
<form method="post" action="${BASE}/password" class="login">${csrfField(s)}
<input type="text" name="username" autocomplete="username" value="${s.subject}" hidden>
<label for="pw-current">Current password</label><input id="pw-current" name="current" type="password" autocomplete="current-password" required${describedBy(error)}>
<label for="pw-new">New password (at least 8 characters)</label><input id="pw-new" name="password" type="password" autocomplete="new-password" minlength="8" required>
<label for="pw-repeat">New password again</label><input id="pw-repeat" name="repeat" type="password" autocomplete="new-password" minlength="8" required>
<p><button type="submit">Change the password</button></p>
</form>`;
}

function customerForms(c: Context<ConsoleEnv>, mailboxes: Mailbox[], error: string | null, chosen = ''): Html {
  const s = c.get('session');
  if (!mailboxes.length) return html`<p>You have no mailboxes.</p>`;
  const select = (id: string) =>
    html`<label for="${id}">Mailbox</label><select id="${id}" name="mailbox" required>${mailboxes.map((m) => html`<option value="${m.address}"${m.address === chosen ? html` selected` : ''}>${m.address}</option>`)}</select>`;
  return html`${errorLine(error)}<p>Set a new password for one of your mailboxes. Its mail programs need the new password afterwards, and its console sessions are signed out.</p>
<h2>Choose a password</h2>
<form method="post" action="${BASE}/password" class="login">${csrfField(s)}<input type="hidden" name="action" value="set">
${select('pw-mailbox')}
<label for="pw-new">New password (at least 8 characters)</label><input id="pw-new" name="password" type="password" autocomplete="new-password" minlength="8" required${describedBy(error)}>
<label for="pw-repeat">New password again</label><input id="pw-repeat" name="repeat" type="password" autocomplete="new-password" minlength="8" required>
<p><button type="submit">Set the password</button></p>
</form>
<h2>Or generate one</h2>
<form method="post" action="${BASE}/password" class="login">${csrfField(s)}<input type="hidden" name="action" value="generate">
${select('pw-mailbox-gen')}
<p><button type="submit">Generate a new password</button></p>
</form>`;
}

/** The mailbox user's own change: the current password checked like a login. */
async function changeOwn(c: Context<ConsoleEnv>, deps: ConsoleDeps): Promise<Response> {
  const s = c.get('session');
  const show = (error: string, status: number) => page(c, { title: TITLE, status, body: ownForm(c, error) });
  const password = c.get('form').password ?? '';
  if (password !== (c.get('form').repeat ?? '')) return show('The two new passwords are not the same.', 422);
  const ip = c.env.incoming.socket.remoteAddress ?? '';
  const now = deps.clock.now();
  const wait = await bannedFor(deps, ip, now);
  if (wait !== null) {
    c.header('retry-after', String(wait));
    return show(`Too many failed sign-ins from your address. Try again in ${Math.ceil(wait / 60)} minutes.`, 429);
  }
  const r = await deps.authenticator.authenticate(s.subject, c.get('form').current ?? '', ip, { purpose: 'console' });
  if (!r.ok) {
    await failedLogin(deps, { ip, now, reason: r.reason, user: s.subject, counted: true, ipBanned: r.ipBanned });
    return show(
      r.reason === 'locked' ? 'Too many failed attempts for this mailbox. Try again later.' : 'The current password is not right.',
      401,
    );
  }
  try {
    await c.get('svc').setPassword(s.subject, password, c.get('scope'), { keepSession: s.idHash });
  } catch (err) {
    if (!(err instanceof AdminError)) throw err;
    return show(err.message, 422);
  }
  deps.logger.info({ evt: 'console', user: s.subject, result: 'password-changed' }, 'mailbox password changed in the console');
  flash(c, 'Your password was changed. Your other console sessions were signed out; use the new password in your mail programs.');
  return c.redirect(`${BASE}/password`, 303);
}

/** A customer sets or generates the password of one of its mailboxes. */
async function setForMailbox(c: Context<ConsoleEnv>): Promise<Response> {
  const svc = c.get('svc');
  const scope = c.get('scope');
  const address = field(c, 'mailbox');
  const generate = field(c, 'action') === 'generate';
  const password = c.get('form').password ?? '';
  const show = async (error: string, status: number) =>
    page(c, { title: TITLE, status, body: customerForms(c, await svc.listMailboxes({}, scope), error, address) });
  if (!generate && password !== (c.get('form').repeat ?? '')) return show('The two new passwords are not the same.', 422);
  let generated: string | null;
  try {
    ({ generated } = await svc.setPassword(address, generate ? undefined : password, scope));
  } catch (err) {
    if (!(err instanceof AdminError)) throw err;
    return show(err.message, err.kind === 'not-found' ? 404 : 422);
  }
  if (generated === null) {
    flash(c, `The password of ${address} was changed. Its console sessions were signed out.`);
    return c.redirect(`${BASE}/password`, 303);
  }
  return page(c, {
    title: 'New password',
    body: html`<p role="status">The new password of <strong>${address}</strong> is:</p>
<p><code id="new-password">${generated}</code></p>
<p>It is shown only this once: copy it into the mail programs of ${address} now. Its console sessions were signed out.</p>
<p><a href="${BASE}/password">Back to passwords</a></p>`,
  });
}

export function mountPassword(app: ConsoleApp, deps: ConsoleDeps): void {
  app.get('/password', async (c) => {
    const role = roleOfContext(c);
    if (role === 'operator') return c.redirect(`${BASE}/customers`, 303);
    if (role === 'mailbox') return page(c, { title: TITLE, body: ownForm(c, null) });
    return page(c, { title: TITLE, body: customerForms(c, await c.get('svc').listMailboxes({}, c.get('scope')), null) });
  });
  app.post('/password', async (c) => {
    const role = roleOfContext(c);
    if (role === 'operator') return c.redirect(`${BASE}/customers`, 303);
    return role === 'mailbox' ? changeOwn(c, deps) : setForMailbox(c);
  });
}
