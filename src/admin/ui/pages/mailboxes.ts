/**
 * Mailboxes, for operators and customers (the admin service keeps a customer to its own): add
 * one (with a password, or a generated one shown once on the answer page), its page (state,
 * login failures and lock, sender grants, limits), suspend and resume, unlock, a new password,
 * and removal behind a confirmation page. mailboxAddForm() is the form other pages embed.
 */
import type { Context } from 'hono';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { only, roleOfContext, safeNext } from '../guard.ts';
import { act, field } from '../actions.ts';
import { BASE, csrfField, flash, html, page, postButton, state, table, time, type Html } from '../html.ts';
import { AdminError } from '../../service.ts';
import { describeGrant } from '../../grants.ts';
import { confirmPage, confirmed, customerLink, domainLink, limitsTable, secretPage, seg } from './manage-parts.ts';

const mailboxUrl = (address: string) => `${BASE}/mailboxes/${seg(address)}`;

/** The "add a mailbox" form (POST /console/mailboxes); `back` is where a refusal returns to. */
export function mailboxAddForm(c: Context<ConsoleEnv>, domains: string[], back: string): Html {
  return html`<h3>Add a mailbox</h3>
<form method="post" action="${BASE}/mailboxes">${csrfField(c.get('session'))}<input type="hidden" name="back" value="${back}">
<label for="mb-address">Address</label><input id="mb-address" name="address" type="email" required autocomplete="off" aria-describedby="mb-address-help">
<p class="muted" id="mb-address-help">At one of: ${domains.join(', ')}.</p>
<label for="mb-password">Password (leave empty to have one generated)</label><input id="mb-password" name="password" type="password" autocomplete="new-password" minlength="8">
<p><button type="submit">Add the mailbox</button></p></form>`;
}

/** Where to go after a mailbox is gone: the customer's page (operator) or the customer's overview. */
const afterRemoval = (c: Context<ConsoleEnv>, customer: string) =>
  roleOfContext(c) === 'operator' ? `${BASE}/customers/${seg(customer)}` : BASE;

async function mailboxPage(c: Context<ConsoleEnv>) {
  const svc = c.get('svc');
  const scope = c.get('scope');
  const { mailbox: m, login } = await svc.getMailbox(c.req.param('address')!, scope);
  const [{ grants }, limits] = await Promise.all([svc.grants(m.address, scope), svc.showLimits('mailbox', m.address, scope)]);
  const operator = roleOfContext(c) === 'operator';
  const url = mailboxUrl(m.address);
  const now = Date.now();
  const locked = login.lockedUntil !== null && login.lockedUntil > now;
  const domain = m.address.slice(m.address.lastIndexOf('@') + 1);
  return page(c, {
    title: `Mailbox ${m.address}`,
    body: html`<dl class="facts"><dt>Address</dt><dd>${m.address}</dd>
${operator ? html`<dt>Customer</dt><dd>${customerLink(m.customerName)}</dd>` : ''}<dt>Domain</dt><dd>${domainLink(domain)}</dd>
<dt>State</dt><dd>${state(m.status)}${m.heldSince !== null ? html` ${state('held')} since ${time(m.heldSince)}: ${m.holdReason ?? ''}${operator ? html` (<a href="${BASE}/holds">holds</a>)` : ''}` : ''}</dd>
<dt>Added</dt><dd>${time(m.createdAt)}</dd><dt>Last changed</dt><dd>${time(m.updatedAt)}</dd></dl>
<h2>Sign-in state</h2>
<dl class="facts"><dt>Failed sign-ins since the last success</dt><dd>${login.failures}</dd>
<dt>Locked</dt><dd>${locked ? html`${state('locked')} until ${time(login.lockedUntil)}` : 'no'}</dd></dl>
${locked || login.failures > 0 ? html`<p>${postButton(c, `${url}/unlock`, locked ? 'Unlock now' : 'Reset the failure count')}</p>` : ''}
<h2>State</h2>
<p>${
      m.status === 'active'
        ? html`${postButton(c, `${url}/suspend`, 'Suspend', { danger: true, describedBy: 'suspend-help' })} <span class="muted" id="suspend-help">A suspended mailbox cannot sign in or send; its console sessions end.</span>`
        : postButton(c, `${url}/resume`, 'Resume')
    }</p>
<h2>Password</h2>
<form method="post" action="${url}/password">${csrfField(c.get('session'))}
<label for="new-password">New password (leave empty to have one generated)</label><input id="new-password" name="password" type="password" autocomplete="new-password" minlength="8">
<p><button type="submit">Set the password</button></p></form>
<p class="muted">Mail programs using the old password stop working; the mailbox's console sessions end.</p>
<h2>May also send as</h2>
${table(
  `Sender grants of ${m.address}`,
  ['Grant', 'Since'],
  grants.map((g) => [describeGrant(g), time(g.createdAt)]),
  'Only its own address.',
)}
<h2>Limits</h2>
${limitsTable(c, `Sending limits of ${m.address}`, limits)}
${operator ? html`<p><a href="${BASE}/customers/${seg(m.customerName)}">Set or remove limits on the customer's page</a></p>` : ''}
<h2>Remove</h2>
<p><a href="${url}/remove">Remove this mailbox…</a></p>`,
  });
}

export function mountMailboxes(app: ConsoleApp, _deps: ConsoleDeps): void {
  const staff = only('operator', 'customer');
  app.post('/mailboxes', staff, async (c) => {
    const back = safeNext(field(c, 'back') || BASE);
    const password = c.get('form').password ?? '';
    try {
      const { mailbox, generated } = await c
        .get('svc')
        .addMailbox(field(c, 'address'), password === '' ? undefined : password, c.get('scope'));
      if (generated === null) {
        flash(c, `Mailbox ${mailbox.address} added with the password you chose.`);
        return c.redirect(mailboxUrl(mailbox.address), 303);
      }
      return secretPage(c, {
        title: 'Mailbox added',
        intro: `Mailbox ${mailbox.address} added with a generated password.`,
        label: `Password of ${mailbox.address}`,
        secret: generated,
        back: mailboxUrl(mailbox.address),
        backLabel: `Go to ${mailbox.address}`,
      });
    } catch (err) {
      if (!(err instanceof AdminError)) throw err;
      flash(c, err.message, 'error');
      return c.redirect(back, 303);
    }
  });
  app.get('/mailboxes/:address', staff, mailboxPage);
  app.post('/mailboxes/:address/password', staff, async (c) => {
    const address = c.req.param('address');
    const password = c.get('form').password ?? '';
    try {
      const { mailbox, generated } = await c.get('svc').setPassword(address, password === '' ? undefined : password, c.get('scope'));
      if (generated === null) {
        flash(c, `The password of ${mailbox.address} is changed.`);
        return c.redirect(mailboxUrl(mailbox.address), 303);
      }
      return secretPage(c, {
        title: 'New password',
        intro: `The password of ${mailbox.address} is changed to a generated one.`,
        label: `Password of ${mailbox.address}`,
        secret: generated,
        back: mailboxUrl(mailbox.address),
        backLabel: `Back to ${mailbox.address}`,
      });
    } catch (err) {
      if (!(err instanceof AdminError) || err.kind === 'not-found') throw err;
      flash(c, err.message, 'error');
      return c.redirect(mailboxUrl(address), 303);
    }
  });
  for (const [verb, run] of [
    [
      'suspend',
      async (c: Context<ConsoleEnv>, a: string) =>
        `${(await c.get('svc').suspend(a, c.get('scope'))).address} is suspended: it can neither sign in nor send.`,
    ],
    ['resume', async (c: Context<ConsoleEnv>, a: string) => `${(await c.get('svc').resume(a, c.get('scope'))).address} is active again.`],
    [
      'unlock',
      async (c: Context<ConsoleEnv>, a: string) => {
        const r = await c.get('svc').unlock(a, c.get('scope'));
        return r.wasLocked ? `${r.mailbox.address} is unlocked.` : `${r.mailbox.address} was not locked; its failure count is reset.`;
      },
    ],
  ] as const) {
    app.post(`/mailboxes/:address/${verb}`, staff, async (c) => {
      const address = c.req.param('address');
      await c.get('svc').getMailbox(address, c.get('scope')); // another customer's: 404, not a message on a page
      return act(c, mailboxUrl(address), () => run(c, address));
    });
  }
  const confirmRemoval = async (c: Context<ConsoleEnv>) => {
    const { mailbox: m } = await c.get('svc').getMailbox(c.req.param('address')!, c.get('scope'));
    return confirmPage(c, {
      title: `Remove ${m.address}?`,
      action: `${mailboxUrl(m.address)}/remove`,
      button: `Remove ${m.address}`,
      back: mailboxUrl(m.address),
      what: html`The mailbox ${m.address} (1 mailbox) will be removed: it can no longer sign in or send, and its grants and password are gone. Mail already queued is still delivered. This cannot be undone.`,
    });
  };
  app.get('/mailboxes/:address/remove', staff, confirmRemoval);
  app.post('/mailboxes/:address/remove', staff, async (c) => {
    if (!confirmed(c)) return confirmRemoval(c);
    const { mailbox: m } = await c.get('svc').getMailbox(c.req.param('address')!, c.get('scope'));
    return act(c, afterRemoval(c, m.customerName), async () => {
      await c.get('svc').removeMailbox(m.address, c.get('scope'));
      return `Mailbox ${m.address} removed.`;
    });
  });
}
