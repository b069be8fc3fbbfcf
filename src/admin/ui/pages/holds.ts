/**
 * Holds (operators only): the mailboxes and sites on hold (suspected misuse) with why, since
 * when and what they kept back (of it, how much the content scanner held as spam), and the
 * held messages of no held mailbox or site. Release a mailbox or site with its held mail
 * (spam only when asked), or one message; purge what a mailbox or site kept back, after a
 * second page that says how many messages go (there is no script to ask "are you sure?").
 */
import type { Context } from 'hono';
import type { QueuedMessage } from '../../../core/index.ts';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { act, field } from '../actions.ts';
import { confirmPage, confirmed } from '../confirm.ts';
import { only } from '../guard.ts';
import { BASE, csrfField, href, html, idText, page, postButton, table, time, type Html } from '../html.ts';

type Holds = Awaited<ReturnType<ConsoleEnv['Variables']['svc']['listHolds']>>;

const BACK = `${BASE}/holds`;
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The release form of a mailbox or site: its held mail goes too, spam only with the box ticked. */
function releaseForm(c: Context<ConsoleEnv>, target: string, key: string, spam: number): Html {
  return html`<form class="inline" method="post" action="${BASE}/holds/release">${csrfField(c.get('session'))}<input type="hidden" name="target" value="${target}">
${spam ? html`<input type="checkbox" id="spam-${key}" name="include_spam" value="1"> <label class="inline" for="spam-${key}">also the ${plural(spam, 'message')} held as spam</label> ` : ''}<button type="submit" aria-describedby="h-${key}">Release</button></form>`;
}

const purgeButton = (c: Context<ConsoleEnv>, target: string, key: string, n: number): Html =>
  n ? postButton(c, `${BASE}/holds/purge`, 'Purge…', { fields: { target }, danger: true, describedBy: `h-${key}` }) : html``;

const customerLink = (name: string | null) =>
  name ? html`<a href="${href(`/customers/${encodeURIComponent(name)}`)}">${name}</a>` : html`<span class="muted">none</span>`;

function heldRows(c: Context<ConsoleEnv>, holds: Holds): { mailboxes: unknown[][]; sites: unknown[][]; messages: unknown[][] } {
  return {
    mailboxes: holds.mailboxes.map(({ mailbox: m, heldMessages, heldSpam }, i) => [
      html`<span id="h-m${i}">${m.address}</span>`,
      customerLink(m.customerName),
      m.holdReason ?? html`<span class="muted">not recorded</span>`,
      time(m.heldSince),
      heldMessages,
      heldSpam,
      html`${releaseForm(c, m.address, `m${i}`, heldSpam)} ${purgeButton(c, m.address, `m${i}`, heldMessages)}`,
    ]),
    sites: holds.sites.map(({ site: s, heldMessages, heldSpam }, i) => [
      html`<span id="h-s${i}">site:${s.name}</span>`,
      customerLink(s.customerName),
      s.holdReason ?? html`<span class="muted">not recorded</span>`,
      time(s.heldSince),
      heldMessages ? html`<a href="${href('/queue', { state: 'held', site: s.name })}">${heldMessages}</a>` : 0,
      heldSpam,
      html`${releaseForm(c, `site:${s.name}`, `s${i}`, heldSpam)} ${purgeButton(c, `site:${s.name}`, `s${i}`, heldMessages)}`,
    ]),
    messages: holds.messages.map((q: QueuedMessage) => [
      idText(q.id, { to: `${BASE}/messages/${encodeURIComponent(q.id)}`, anchor: `h-${q.id}` }),
      q.sender || html`<span class="muted">&lt;&gt; (none)</span>`,
      q.authUser ?? (q.siteName ? `site:${q.siteName}` : html`<span class="muted">—</span>`),
      customerLink(q.customerName),
      q.holdReason ?? html`<span class="muted">not recorded</span>`,
      time(q.createdAt),
      q.recipients.length,
      postButton(c, `${BASE}/holds/release`, 'Release', { fields: { target: q.id }, describedBy: `h-${q.id}` }),
    ]),
  };
}

async function holdsPage(c: Context<ConsoleEnv>): Promise<Response> {
  const holds = await c.get('svc').listHolds();
  const rows = heldRows(c, holds);
  const cols = ['Held messages', 'Held as spam', 'Actions'];
  return page(c, {
    title: 'Holds',
    body: html`<p>A mailbox or site is put on hold when it looks misused (a stolen password, a hacked website); its new mail waits here until it is released. Releasing sends its held mail on, except what the content scanner held as spam unless you tick the box; purging deletes the held mail and keeps the hold.</p>
<p class="muted">Prometheus: <code>postern_held_mailboxes</code>, <code>postern_held_sites</code>, <code>postern_queue_messages{state="held"}</code>.</p>
<h2>Held mailboxes</h2>
${table('Mailboxes on hold', ['Mailbox', 'Customer', 'Why', 'Since', ...cols], rows.mailboxes, 'No mailbox is on hold.')}
<h2>Held sites</h2>
${table('Sites on hold', ['Site', 'Customer', 'Why', 'Since', ...cols], rows.sites, 'No site is on hold.')}
<h2>Other held messages</h2>
<p class="muted">Held by a sending limit, the content scanner or an operator, from a mailbox or site that is not on hold.</p>
${table('Held messages of no held mailbox or site', ['ID', 'Sender', 'Sent by', 'Customer', 'Why', 'Held since', 'Recipients', 'Action'], rows.messages, 'No other message is held.')}`,
  });
}

/** How many held messages a purge of `target` (an address or site:NAME) would delete. */
function heldCount(holds: Holds, target: string): number {
  const site = target.startsWith('site:') ? target.slice(5) : null;
  const row =
    site === null ? holds.mailboxes.find((h) => h.mailbox.address === target.toLowerCase()) : holds.sites.find((h) => h.site.name === site);
  const loose = holds.messages.filter((q) => (site === null ? q.authUser === target.toLowerCase() : q.siteName === site)).length;
  return (row?.heldMessages ?? 0) + loose;
}

async function confirmPurge(c: Context<ConsoleEnv>, target: string): Promise<Response> {
  const n = heldCount(await c.get('svc').listHolds(), target);
  return confirmPage(c, {
    title: `Purge ${plural(n, 'message')} of ${target}?`,
    what: html`The ${plural(n, 'held message')} of <strong>${target}</strong> will be deleted with their bodies; nobody is told and this cannot be undone. ${target} stays on hold.`,
    action: `${BASE}/holds/purge`,
    fields: { target },
    button: `Purge ${plural(n, 'message')}`,
    back: BACK,
  });
}

export function mountHolds(app: ConsoleApp, deps: ConsoleDeps): void {
  app.get('/holds', only('operator'), (c) => holdsPage(c));
  app.post('/holds/release', only('operator'), (c) =>
    act(c, BACK, async () => {
      const target = field(c, 'target');
      const r = await c.get('svc').releaseHold(target, { includeSpam: field(c, 'include_spam') === '1' });
      const who = r.site ? `site:${r.site.name}` : r.mailbox ? r.mailbox.address : `Message ${target}`;
      return `${who} released: ${plural(r.released, 'held message')} sent on${r.keptSpam ? `; ${plural(r.keptSpam, 'message')} held as spam kept back` : ''}.`;
    }),
  );
  app.post('/holds/purge', only('operator'), (c) => {
    const target = field(c, 'target');
    if (!confirmed(c)) return confirmPurge(c, target);
    return act(c, BACK, async () => {
      const n = await c.get('svc').purgeHold(target, deps.removeBody);
      return `Purged ${plural(n, 'held message')} of ${target}; it stays on hold until released.`;
    });
  });
}
