/**
 * The operator's dashboard (GET /console for an operator): the queue by state, the last hour's
 * deliveries, its top senders, what is held and banned, and the recent abuse signals. Every
 * panel names the Prometheus metric that carries the same figure: the store's figures come
 * through the admin service's figures (admin/figures.ts), which /metrics reads at scrape time
 * too; the counters (limit hits, failed logins, holds) are read from this process's registry.
 */
import type { Context } from 'hono';
import type { Registry } from 'prom-client';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { BASE, href, html, page, table, time, type Html } from '../html.ts';

/** The sum of a metric's samples whose labels match `match`; null when the registry has no such metric. */
export async function metricSum(registry: Registry | undefined, name: string, match: Record<string, string> = {}): Promise<number | null> {
  const m = registry?.getSingleMetric(name);
  if (!m) return null;
  const { values } = await m.get();
  return values.filter((v) => Object.entries(match).every(([k, want]) => String(v.labels[k]) === want)).reduce((a, v) => a + v.value, 0);
}

/** A figure with its label, where it leads (optional) and the metric that carries it. */
interface Figure {
  label: string;
  value: number | null;
  metric: string;
  link?: string;
}

function cards(figures: Figure[]): Html {
  // the caption in plain words; the Prometheus series behind it only when asked for (details)
  return html`<div class="cards">${figures.map((f) => html`<div class="card"><span class="figure">${f.value ?? '?'}</span><span class="caption">${f.link ? html`<a href="${f.link}">${f.label}</a>` : f.label}</span><details class="metric"><summary>metric<span class="vh"> of ${f.label}</span></summary><code>${f.metric}</code></details></div>`)}</div>`;
}

const metricNote = (...names: string[]) =>
  html`<p class="muted">Prometheus: ${names.map((n, i) => html`${i ? ', ' : ''}<code>${n}</code>`)}.</p>`;

const customerLink = (name: string | null) =>
  name ? html`<a href="${href(`/customers/${encodeURIComponent(name)}`)}">${name}</a>` : html`<span class="muted">none</span>`;

/** A top sender leads to its messages: a login to the message search by sender, a site to the queue of the site. */
const senderLink = (sender: string) =>
  sender.startsWith('site:')
    ? html`<a href="${href('/queue', { site: sender.slice(5) })}">${sender}</a>`
    : html`<a href="${href('/messages', { sender })}">${sender}</a>`;

export async function dashboardPage(c: Context<ConsoleEnv>, deps: ConsoleDeps): Promise<Response> {
  const svc = c.get('svc');
  const [depth, hour, holds, bans] = await Promise.all([svc.queueDepth(), svc.lastHourSummary(), svc.listHolds(), svc.listBans()]);
  const reg = deps.registry;
  const [limitHits, authFailures, lockedLogins, holdsMade, bansMade] = await Promise.all([
    metricSum(reg, 'postern_limit_hits_total'),
    metricSum(reg, 'postern_auth_total', { result: 'failure' }),
    metricSum(reg, 'postern_auth_total', { result: 'locked' }),
    metricSum(reg, 'postern_holds_total'),
    metricSum(reg, 'postern_auth_bans_total'),
  ]);
  const ev = (type: string) => hour.events[type as keyof typeof hour.events] ?? 0;
  const signals = [
    ...holds.mailboxes.map((h) => ({
      at: h.mailbox.heldSince ?? 0,
      what: 'mailbox on hold',
      who: h.mailbox.address,
      customer: h.mailbox.customerName,
      why: h.mailbox.holdReason,
    })),
    ...holds.sites.map((h) => ({
      at: h.site.heldSince ?? 0,
      what: 'site on hold',
      who: `site:${h.site.name}`,
      customer: h.site.customerName,
      why: h.site.holdReason,
    })),
    ...holds.messages.map((q) => ({
      at: q.createdAt,
      what: 'message held',
      who: q.authUser ?? (q.siteName ? `site:${q.siteName}` : q.id),
      customer: q.customerName,
      why: q.holdReason,
    })),
    ...bans.map((b) => ({
      at: b.createdAt,
      what: 'address banned',
      who: b.ip,
      customer: null,
      why: `${b.reason} (${b.failures} failed logins)`,
    })),
  ]
    .sort((a, b) => b.at - a.at)
    .slice(0, 15);

  return page(c, {
    title: 'Dashboard',
    body: html`<form class="filters" method="get" action="${BASE}/messages" role="search" aria-label="Find a message">
<div class="grow"><label for="dash-search">Where is my mail? An address, a queue id or a Message-ID</label>
<input id="dash-search" name="search" type="search" required></div>
<button type="submit">Find it</button></form>
<h2>Queue</h2>
${cards([
  { label: 'messages waiting', value: depth.messages.queued, metric: 'postern_queue_messages{state="queued"}', link: href('/queue') },
  {
    label: 'messages held',
    value: depth.messages.held,
    metric: 'postern_queue_messages{state="held"}',
    link: href('/queue', { state: 'held' }),
  },
  { label: 'messages being bounced', value: depth.messages.cancelled, metric: 'postern_queue_messages{state="cancelled"}' },
  {
    label: 'recipients never tried',
    value: depth.recipients.queued,
    metric: 'postern_queue_recipients{state="queued"}',
    link: href('/queue', { state: 'queued' }),
  },
  {
    label: 'recipients deferred',
    value: depth.recipients.deferred,
    metric: 'postern_queue_recipients{state="deferred"}',
    link: href('/queue', { state: 'deferred' }),
  },
])}
<h2>Deliveries in the last hour</h2>
${cards([
  { label: 'accepted', value: ev('accepted'), metric: 'postern_tracked_events_last_hour{type="accepted"}' },
  { label: 'delivered', value: ev('delivered'), metric: 'postern_tracked_events_last_hour{type="delivered"}' },
  { label: 'attempts deferred', value: ev('attempt-deferred'), metric: 'postern_tracked_events_last_hour{type="attempt-deferred"}' },
  { label: 'failed', value: ev('failed'), metric: 'postern_tracked_events_last_hour{type="failed"}' },
  { label: 'bounced', value: ev('bounced'), metric: 'postern_tracked_events_last_hour{type="bounced"}' },
])}
<p class="muted">From message tracking (every node's), the last 60 minutes.</p>
<h2>Top senders in the last hour</h2>
${metricNote('postern_top_sender_messages{sender}')}
${table(
  'Top senders by messages accepted in the last hour',
  ['Sender', 'Customer', 'Messages', 'Recipients'],
  hour.topSenders.map((t) => [senderLink(t.sender), customerLink(t.customerName), t.messages, t.recipients]),
  'Nobody sent mail in the last hour.',
)}
<h2>Held mailboxes and sites</h2>
${cards([
  { label: 'mailboxes on hold', value: holds.mailboxes.length, metric: 'postern_held_mailboxes', link: href('/holds') },
  { label: 'sites on hold', value: holds.sites.length, metric: 'postern_held_sites', link: href('/holds') },
])}
${
  holds.mailboxes.length || holds.sites.length
    ? html`<p>On hold: ${[...holds.mailboxes.map((h) => h.mailbox.address), ...holds.sites.map((h) => `site:${h.site.name}`)].join(', ')}. <a href="${BASE}/holds">Review the holds</a></p>`
    : html`<p>Nothing is on hold. <a href="${BASE}/holds">Holds</a></p>`
}
<h2>Bans</h2>
${cards([{ label: 'client addresses banned now', value: bans.length, metric: 'postern_bans_active', link: href('/bans') }])}
<h2>Recent abuse signals</h2>
${cards([
  { label: 'sending limits hit', value: limitHits, metric: 'postern_limit_hits_total' },
  { label: 'failed logins', value: authFailures, metric: 'postern_auth_total{result="failure"}' },
  { label: 'logins to locked mailboxes', value: lockedLogins, metric: 'postern_auth_total{result="locked"}' },
  { label: 'holds made', value: holdsMade, metric: 'postern_holds_total' },
  { label: 'addresses banned', value: bansMade, metric: 'postern_auth_bans_total' },
])}
<p class="muted">These counters count in this process since it started${reg ? '' : ' (no registry: unknown)'}; Prometheus adds up every worker's.</p>
${table(
  'Latest holds and bans, newest first',
  ['When', 'What', 'Who', 'Customer', 'Why'],
  signals.map((s) => [time(s.at), s.what, s.who, customerLink(s.customer), s.why ?? html`<span class="muted">not recorded</span>`]),
  'No mailbox, site or message is held and no address is banned.',
)}
<p class="muted">Mailboxes locked by failed logins are not listed: the store cannot list them cheaply. <a href="${BASE}/bans">Bans</a> unlocks one by its address.</p>`,
  });
}

export function mountDashboard(_app: ConsoleApp, _deps: ConsoleDeps): void {
  // the dashboard is GET /console itself (pages/index.ts routes it by role)
}
