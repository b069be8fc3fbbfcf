/**
 * App passwords: GET/POST /console/app-passwords. A mailbox user manages its own; a customer
 * those of any of its mailboxes (?mailbox=ADDRESS). Each has a name, its creation, last use and
 * client address; a new one is shown once, on the answer to the POST (never in a URL, a cookie
 * or a log); revocation takes effect at the next login. "App passwords only" makes the
 * mailbox's own password useless on the submission ports. Operators use the customer pages
 * (or the CLI / API).
 */
import type { Context } from 'hono';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { AdminError } from '../../errors.ts';
import { act, field } from '../actions.ts';
import { roleOfContext } from '../guard.ts';
import { BASE, csrfField, html, page, postButton, table, time, type Html } from '../html.ts';
import { secretPage, seg } from './manage-parts.ts';

const TITLE = 'App passwords';
const PATH = `${BASE}/app-passwords`;

/** Whose app passwords: the mailbox user's own, or the customer's chosen mailbox ('' when none is chosen). */
function targetOf(c: Context<ConsoleEnv>, chosen: string): string {
  return roleOfContext(c) === 'mailbox' ? c.get('session').subject : chosen;
}

async function mailboxPicker(c: Context<ConsoleEnv>, chosen: string): Promise<Html> {
  if (roleOfContext(c) === 'mailbox') return html``;
  const mailboxes = await c.get('svc').listMailboxes({}, c.get('scope'));
  if (!mailboxes.length) return html`<p>You have no mailboxes.</p>`;
  return html`<form method="get" action="${PATH}" class="filters"><label for="ap-mailbox">Mailbox</label><select id="ap-mailbox" name="mailbox">${mailboxes.map((m) => html`<option value="${m.address}"${m.address === chosen ? html` selected` : ''}>${m.address}</option>`)}</select>
<div><button type="submit">Show</button></div></form>`;
}

async function view(c: Context<ConsoleEnv>, chosen: string): Promise<Response> {
  const address = targetOf(c, chosen);
  const picker = await mailboxPicker(c, chosen);
  if (!address) return page(c, { title: TITLE, body: html`<p>Choose a mailbox to see and make its app passwords.</p>${picker}` });
  let found: Awaited<ReturnType<ConsoleEnv['Variables']['svc']['listAppPasswords']>>;
  try {
    found = await c.get('svc').listAppPasswords(address, c.get('scope'));
  } catch (err) {
    if (!(err instanceof AdminError)) throw err;
    return page(c, {
      title: TITLE,
      status: err.kind === 'not-found' ? 404 : 422,
      body: html`<p class="flash error" role="alert">${err.message}</p>${picker}`,
    });
  }
  const { mailbox: m, appPasswords } = found;
  const hidden = { mailbox: m.address };
  const rows = appPasswords.map((a) => [
    a.name,
    time(a.createdAt),
    a.lastUsedAt === null ? 'never' : time(a.lastUsedAt),
    a.lastIp ?? '',
    postButton(c, PATH, 'Revoke', { fields: { ...hidden, action: 'revoke', name: a.name }, danger: true, what: a.name }),
  ]);
  const back = `${PATH}?mailbox=${seg(m.address)}`;
  return page(c, {
    title: TITLE,
    body: html`${picker}<p>An app password lets one mail program send as <strong>${m.address}</strong>. Make one per program or device, so that a lost phone is revoked without changing the password everywhere.</p>
${table(`App passwords of ${m.address}`, ['Name', 'Made', 'Last used', 'From', 'Action'], rows, 'No app passwords yet.')}
<h2>Make an app password</h2>
<form method="post" action="${PATH}" class="login">${csrfField(c.get('session'))}<input type="hidden" name="action" value="add"><input type="hidden" name="mailbox" value="${m.address}">
<label for="ap-name">Name (the program or device, e.g. Phone)</label><input id="ap-name" name="name" maxlength="63" required>
<p><button type="submit">Make it</button></p></form>
<h2>Own password on the sending ports</h2>
<p id="ap-only-what">${
      m.appPasswordsOnly
        ? html`Only app passwords send mail now: the password of <strong>${m.address}</strong> (webmail, the website) is refused on the sending ports.`
        : html`The password of <strong>${m.address}</strong> also sends mail. Turn this off once every mail program uses an app password: a password leaked from webmail or a website then cannot send.`
    }</p>
<p>${postButton(c, PATH, m.appPasswordsOnly ? 'Allow the own password again' : 'Only app passwords', { fields: { ...hidden, action: 'only', on: m.appPasswordsOnly ? 'off' : 'on' }, describedBy: 'ap-only-what' })}</p>
<p><a href="${back}">Reload</a></p>`,
  });
}

async function post(c: Context<ConsoleEnv>, deps: ConsoleDeps): Promise<Response> {
  const svc = c.get('svc');
  const scope = c.get('scope');
  const address = targetOf(c, field(c, 'mailbox'));
  const back = roleOfContext(c) === 'mailbox' ? PATH : `${PATH}?mailbox=${seg(address)}`;
  const action = field(c, 'action');
  if (action === 'add') {
    let made: Awaited<ReturnType<typeof svc.addAppPassword>>;
    try {
      made = await svc.addAppPassword(address, field(c, 'name'), scope);
    } catch (err) {
      return act(c, back, () => Promise.reject(err));
    }
    deps.logger.info(
      {
        evt: 'console',
        user: c.get('session').subject,
        mailbox: made.mailbox.address,
        result: 'app-password-added',
        name: made.appPassword.name,
      },
      'app password made in the console',
    );
    return secretPage(c, {
      title: 'New app password',
      intro: `The app password "${made.appPassword.name}" of ${made.mailbox.address} is made. Enter it as the password in that mail program (the login stays ${made.mailbox.address}).`,
      label: 'App password',
      secret: made.password,
      back,
      backLabel: 'Back to app passwords',
    });
  }
  if (action === 'revoke') {
    const name = field(c, 'name');
    return act(
      c,
      back,
      async () =>
        `The app password "${name}" of ${(await svc.revokeAppPassword(address, name, scope)).address} is revoked; a program still using it can no longer send.`,
    );
  }
  if (action === 'only') {
    const on = field(c, 'on') === 'on';
    return act(c, back, async () => {
      const m = await svc.setAppPasswordsOnly(address, on, scope);
      return on ? `Only app passwords send mail for ${m.address} now.` : `The own password of ${m.address} sends mail again.`;
    });
  }
  return act(c, back, () => Promise.reject(new AdminError(`unknown action: ${action}`)));
}

export function mountAppPasswords(app: ConsoleApp, deps: ConsoleDeps): void {
  app.get('/app-passwords', async (c) => {
    if (roleOfContext(c) === 'operator') return c.redirect(`${BASE}/customers`, 303);
    return view(c, (c.req.query('mailbox') ?? '').trim());
  });
  app.post('/app-passwords', async (c) => {
    if (roleOfContext(c) === 'operator') return c.redirect(`${BASE}/customers`, 303);
    return post(c, deps);
  });
}
