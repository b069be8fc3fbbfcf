/**
 * Message search and log: GET /console/messages ("Find a message" for operators, "Sent mail"
 * for customers and mailbox users) and GET /console/messages/ID (message.ts). A GET form, so a
 * search is a bookmarkable link; results newest first, paged by the service's cursor. A
 * customer sees its own messages only (the service's scope), a mailbox user only what its own
 * login sent (authUser), an operator everything and may filter by customer.
 */
import type { Context } from 'hono';
import { TRACK_STATUSES, type TrackedMessage } from '../../../core/index.ts';
import { AdminError } from '../../errors.ts';
import type { TrackSearchInput } from '../../tracking.ts';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { roleOfContext } from '../guard.ts';
import { BASE, href, html, page, state, table, time, type Html } from '../html.ts';
import { inputOf, readQuery, readingsOf, type MessageQuery, type Reading } from './message-query.ts';
import { messagePage } from './message.ts';

/** Messages per page. */
export const PAGE_SIZE = 25;
/** Statuses whose last reply the list shows (abbreviated). */
const TROUBLE = new Set(['failed', 'partial', 'deferred', 'refused']);
const REPLY_SHOWN = 90;

/** The last reply that tells why a message is in trouble (from its timeline), abbreviated. */
async function reasonsOf(c: Context<ConsoleEnv>, messages: TrackedMessage[]): Promise<Map<string, string>> {
  const svc = c.get('svc');
  const out = new Map<string, string>();
  await Promise.all(
    messages
      .filter((m) => TROUBLE.has(m.status))
      .map(async (m) => {
        const t = await svc.showTracking(m.queueId, c.get('scope')).catch(() => null);
        const e = t?.events.filter((x) => x.reply && ['failed', 'expired', 'attempt-deferred', 'refused'].includes(x.type)).at(-1);
        if (e?.reply) out.set(m.queueId, e.reply.length > REPLY_SHOWN ? `${e.reply.slice(0, REPLY_SHOWN - 1)}…` : e.reply);
      }),
  );
  return out;
}

function searchForm(q: MessageQuery, operator: boolean): Html {
  const input = (name: keyof MessageQuery, label: string, type = 'text', help = false) =>
    html`<div><label for="q-${name}">${label}</label><input id="q-${name}" name="${name}" type="${type}" value="${q[name] ?? ''}"${help ? html` aria-describedby="q-${name}-help"` : ''}></div>`;
  return html`<form class="filters" method="get" action="${BASE}/messages" role="search" aria-label="Find messages">
${input('search', 'Search (address, queue id or Message-ID)', 'search', true)}
${input('recipient', 'Recipient')}${input('sender', 'Sender')}${input('messageId', 'Message-ID')}${input('id', 'Queue id')}
<div><label for="q-status">Status</label><select id="q-status" name="status"><option value="">any</option>${TRACK_STATUSES.map((s) => html`<option value="${s}"${q.status === s ? html` selected` : ''}>${s}</option>`)}</select></div>
${input('since', 'From (date, UTC)', 'date')}${input('until', 'Until (date, UTC, included)', 'date')}
${operator ? input('customer', 'Customer') : ''}
<div><button type="submit">Search</button></div>
</form>
<p class="muted" id="q-search-help">The search box takes a recipient or sender address, a queue id, or a Message-ID (with or without its angle brackets).</p>`;
}

function results(
  r: { messages: TrackedMessage[]; next: string | null },
  reasons: Map<string, string>,
  o: { operator: boolean; query: MessageQuery },
): Html {
  const rows = r.messages.map((m) => [
    time(m.createdAt),
    html`<a href="${BASE}/messages/${encodeURIComponent(m.queueId)}">${m.subject || '(no subject)'}</a>`,
    m.sender || '<> (a bounce)',
    m.recipients.join(', '),
    state(m.status),
    reasons.get(m.queueId) ?? '',
    ...(o.operator ? [m.customerName ?? ''] : []),
  ]);
  const headers = ['Accepted', 'Subject', 'Sender', 'Recipients', 'Status', 'Last reply', ...(o.operator ? ['Customer'] : [])];
  const { before: _before, search: _search, ...rest } = o.query;
  return html`${table('Messages, newest first', headers, rows, 'No message matches.')}
<nav aria-label="Pages of results" class="pager">${o.query.before ? html`<a href="${href('/messages', rest)}">Newest messages</a> ` : ''}${r.next ? html`<a href="${href('/messages', { ...rest, before: r.next })}" rel="next">Older messages</a>` : ''}</nav>`;
}

export function mountMessages(app: ConsoleApp, deps: ConsoleDeps): void {
  app.get('/messages', async (c) => {
    const role = roleOfContext(c);
    const operator = role === 'operator';
    const title = operator ? 'Find a message' : 'Sent mail';
    let q = readQuery(c.req.query());
    const base = inputOf(q, { limit: PAGE_SIZE, operator, authUser: role === 'mailbox' ? c.get('session').subject : undefined });
    const svc = c.get('svc');
    let notice: Html = html``;
    let found: { messages: TrackedMessage[]; next: string | null } = { messages: [], next: null };
    try {
      if (q.search) {
        const readings = readingsOf(q.search);
        let hit: Reading | null = null;
        for (const reading of readings) {
          const input: TrackSearchInput = { ...base, ...reading.fields };
          found = await svc.searchTracking(input, c.get('scope'));
          if (found.messages.length) {
            hit = reading;
            break;
          }
        }
        if (hit) {
          // the links of this result (paging) carry what the search box was read as
          const { search: _s, ...rest } = q;
          q = { ...rest, ...hit.fields };
          notice = html`<p role="status">Showing messages whose ${hit.as} is <strong>${Object.values(hit.fields)[0]}</strong>.</p>`;
        } else {
          notice = html`<p role="status">${
            readings.length
              ? `Nothing found for ${q.search} as ${readings.map((x) => x.as).join(', or as ')}.`
              : `"${q.search}" is not an address, a queue id or a Message-ID; use the fields below for anything else.`
          }</p>`;
        }
      } else {
        found = await svc.searchTracking(base, c.get('scope'));
      }
    } catch (err) {
      if (!(err instanceof AdminError)) throw err;
      const text = err.message.replace(/--(\w+)/g, (_m, f: string) => (f === 'since' ? 'From' : f === 'until' ? 'Until' : f));
      return page(c, { title, status: 422, body: html`<p class="flash error" role="alert">${text}</p>${searchForm(q, operator)}` });
    }
    const reasons = await reasonsOf(c, found.messages);
    return page(c, {
      title,
      body: html`${searchForm(q, operator)}${notice}<h2>Results</h2>${results(found, reasons, { operator, query: q })}`,
    });
  });

  app.get('/messages/:id', (c) => messagePage(c, c.req.param('id'), deps.clock.now()));
}
