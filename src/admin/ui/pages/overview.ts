/**
 * The start page of a customer and of a mailbox user (GET /console; operators get the
 * dashboard). A customer: sent-mail figures of the last day, recent bounces, its domains with
 * their DKIM state, its mailboxes and sites. A mailbox user: its own mailbox, its domain, what
 * its own login sent lately and what bounced. Everything through the admin service with the
 * session's scope; nothing of another customer, nothing of another login for a mailbox user.
 */
import type { Context } from 'hono';
import type { TrackedMessage, TrackingSummary } from '../../../core/index.ts';
import type { TenantScope } from '../../errors.ts';
import type { ConsoleDeps, ConsoleEnv } from '../context.ts';
import { roleOfContext } from '../guard.ts';
import { mailboxAddForm } from './mailboxes.ts';
import { BASE, href, html, page, state, table, time, type Html } from '../html.ts';

const DAY_MS = 86_400_000;
/** How far back "recent bounces" look. */
const BOUNCE_DAYS = 7;
const RECENT = 10;

const enc = encodeURIComponent;
const messageLink = (m: TrackedMessage) => html`<a href="${BASE}/messages/${enc(m.queueId)}">${m.subject || '(no subject)'}</a>`;

/** The failed and partly failed messages since `since`, newest first (with authUser: that login's only). */
async function bounces(c: Context<ConsoleEnv>, since: number, authUser?: string): Promise<TrackedMessage[]> {
  const svc = c.get('svc');
  const at = new Date(since).toISOString();
  const [failed, partial] = await Promise.all(
    ['failed', 'partial'].map((status) => svc.searchTracking({ status, since: at, limit: RECENT, authUser }, c.get('scope'))),
  );
  return [...failed!.messages, ...partial!.messages]
    .sort((a, b) => b.createdAt - a.createdAt || (a.queueId < b.queueId ? 1 : -1))
    .slice(0, RECENT);
}

function messageTable(caption: string, messages: TrackedMessage[], empty: string): Html {
  return table(
    caption,
    ['Accepted', 'Subject', 'Recipients', 'Status'],
    messages.map((m) => [time(m.createdAt), messageLink(m), m.recipients.join(', '), state(m.status)]),
    empty,
  );
}

function figures(s: TrackingSummary): Html {
  const e = s.events;
  const card = (label: string, n: number | undefined) =>
    html`<div class="card"><div class="figure">${String(n ?? 0)}</div><div>${label}</div></div>`;
  return html`<div class="cards">${card('messages accepted', e.accepted)}${card('deliveries', e.delivered)}${card('deferrals (will retry)', e['attempt-deferred'])}${card('failed deliveries', (e.failed ?? 0) + (e.expired ?? 0))}${card('refused at sending', e.refused)}</div>`;
}

/** A domain's DKIM state in a few words. */
async function dkimWords(c: Context<ConsoleEnv>, domain: string): Promise<string> {
  const keys = await c.get('svc').showDkim(domain, c.get('scope'));
  const active = keys.filter((k) => k.state === 'active').map((k) => k.selector);
  const pending = keys.filter((k) => k.state === 'pending');
  if (active.length) return `signing (selector ${active.join(', ')})${pending.length ? '; a new key waits for its DNS record' : ''}`;
  if (pending.length) return 'not signing yet: the key waits for its DNS record';
  return 'no DKIM key';
}

async function customerBody(c: Context<ConsoleEnv>, deps: ConsoleDeps, scope: TenantScope): Promise<Html> {
  const svc = c.get('svc');
  const now = deps.clock.now();
  const [summary, recent, domains, mailboxes, sites] = await Promise.all([
    svc.trackingSummary(now - DAY_MS, 5, scope),
    bounces(c, now - BOUNCE_DAYS * DAY_MS),
    svc.listDomains(undefined, scope),
    svc.listMailboxes({}, scope),
    svc.listSites(undefined, scope),
  ]);
  const dkim = await Promise.all(domains.map((d) => dkimWords(c, d.name)));
  const mailboxState = (m: (typeof mailboxes)[number]) => (m.status !== 'active' ? m.status : m.heldSince !== null ? 'held' : 'active');
  return html`<h2>Sent mail in the last 24 hours</h2>
${figures(summary)}
${table(
  'Who sent the most',
  ['Sent by', 'Messages', 'Recipients'],
  summary.topSenders.map((t) => [
    t.sender.startsWith('site:')
      ? `the site ${t.sender.slice(5)}`
      : html`<a href="${href('/messages', { sender: t.sender })}">${t.sender}</a>`,
    String(t.messages),
    String(t.recipients),
  ]),
  'Nothing was sent in the last 24 hours.',
)}
<p><a href="${BASE}/messages">All sent mail</a></p>
<h2>Recent bounces</h2>
${messageTable(`Messages that failed in the last ${BOUNCE_DAYS} days, newest first`, recent, `No message failed in the last ${BOUNCE_DAYS} days.`)}
<h2>Domains</h2>
${table(
  'Your domains',
  ['Domain', 'DKIM signing', 'DNS records'],
  domains.map((d, i) => [
    html`<a href="${BASE}/domains/${enc(d.name)}">${d.name}</a>`,
    dkim[i]!,
    html`<a href="${BASE}/domains/${enc(d.name)}">Check the DNS of ${d.name}</a>`,
  ]),
  'No domains yet.',
)}
<h2>Mailboxes</h2>
${table(
  'Your mailboxes',
  ['Address', 'State', 'Since'],
  mailboxes.map((m) => [html`<a href="${BASE}/mailboxes/${enc(m.address)}">${m.address}</a>`, state(mailboxState(m)), time(m.createdAt)]),
  'No mailboxes yet.',
)}
<p><a href="${BASE}/password">Set a mailbox's password</a></p>
${
  domains.length
    ? mailboxAddForm(
        c,
        domains.map((d) => d.name),
        BASE,
      )
    : ''
}
<h2>Sites</h2>
${table(
  'Your sites (websites and scripts that send mail)',
  ['Site', 'Runs as', 'May send as', 'State'],
  sites.map(({ site, grants }) => [
    site.name,
    site.unixUser ?? 'API key only',
    grants.map((g) => (g.kind === 'domain' ? `any address at ${g.value}` : g.value)).join(', ') || 'nothing yet',
    state(site.heldSince !== null ? 'held' : 'active'),
  ]),
  'No sites.',
)}`;
}

async function mailboxBody(c: Context<ConsoleEnv>, deps: ConsoleDeps, scope: TenantScope): Promise<Html> {
  const svc = c.get('svc');
  const me = c.get('session').subject;
  const now = deps.clock.now();
  const [{ mailbox, login }, sent, recent] = await Promise.all([
    svc.getMailbox(me, scope),
    svc.searchTracking({ authUser: me, limit: RECENT }, scope),
    bounces(c, now - BOUNCE_DAYS * DAY_MS, me),
  ]);
  const domain = me.slice(me.lastIndexOf('@') + 1);
  const word =
    mailbox.status !== 'active'
      ? mailbox.status
      : mailbox.heldSince !== null
        ? 'held'
        : login.lockedUntil !== null && login.lockedUntil > now
          ? 'locked'
          : 'active';
  return html`<h2>Your mailbox</h2>
<dl class="facts"><dt>Address</dt><dd>${mailbox.address}</dd><dt>State</dt><dd>${state(word)}${mailbox.heldSince !== null ? html` since ${time(mailbox.heldSince)}: its outgoing mail waits for a check by your provider` : ''}</dd>
<dt>Domain</dt><dd><a href="${BASE}/domains/${enc(domain)}">${domain}</a></dd>
<dt>Password</dt><dd><a href="${BASE}/password">Change your password</a></dd></dl>
<h2>Recently sent</h2>
${messageTable('Your latest messages, newest first', sent.messages, 'You have not sent anything that is still in the log.')}
<p><a href="${BASE}/messages">All your sent mail</a></p>
<h2>Recent bounces</h2>
${messageTable(`Your messages that failed in the last ${BOUNCE_DAYS} days, newest first`, recent, `None of your messages failed in the last ${BOUNCE_DAYS} days.`)}`;
}

/** GET /console for a customer or a mailbox user. */
export async function overviewPage(c: Context<ConsoleEnv>, deps: ConsoleDeps): Promise<Response> {
  const scope = c.get('scope')!;
  const mailbox = roleOfContext(c) === 'mailbox';
  const body = mailbox ? await mailboxBody(c, deps, scope) : await customerBody(c, deps, scope);
  return page(c, { title: mailbox ? 'Your mailbox' : `Overview of ${scope.customerName}`, body });
}
