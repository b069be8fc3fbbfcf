/**
 * The queue browser (operators only): the messages in the queue filtered by state, recipient
 * domain, sender, customer and site (a GET form, so a filtered list is a bookmark), each with
 * its recipients and their states, and the actions the admin service has: retry now, hold,
 * release, delete, delete with a bounce to the sender; one message at a time, or every
 * message listed (deleting many asks once more). After an action, back to the same list.
 */
import type { Context } from 'hono';
import { NEVER, type QueuedMessage } from '../../../core/index.ts';
import { AdminError, pendingOf, type QueueListInput } from '../../service.ts';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { act, field } from '../actions.ts';
import { confirmPage, confirmed } from '../confirm.ts';
import { only } from '../guard.ts';
import { BASE, count, csrfField, href, html, idText, page, postButton, state, table, time, type Html } from '../html.ts';

const STATES = ['queued', 'deferred', 'delivered', 'failed', 'held'] as const;
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/** How much of a remote reply the list shows (the message page has all of it). */
const REPLY_CHARS = 80;

export type QueueQuery = Record<'state' | 'domain' | 'sender' | 'customer' | 'site' | 'limit', string>;

/** The GET form's fields as typed ('' when absent). */
export function queryOf(get: (name: string) => string | undefined): QueueQuery {
  const v = (k: string) => (get(k) ?? '').trim();
  return { state: v('state'), domain: v('domain'), sender: v('sender'), customer: v('customer'), site: v('site'), limit: v('limit') };
}

/** The service's listing input of a query: empty fields are no filter; the limit is bounded. */
export function listInputOf(q: QueueQuery): QueueListInput {
  const n = q.limit === '' ? DEFAULT_LIMIT : Number(q.limit);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw new AdminError(`the limit must be a whole number from 1 to ${MAX_LIMIT}`);
  return {
    state: q.state || undefined,
    domain: q.domain || undefined,
    sender: q.sender || undefined,
    customer: q.customer || undefined,
    site: q.site || undefined,
    limit: n,
  };
}

/** When a message's next attempt is: "held", "in an attempt now", a time, or nothing pending. */
export function nextAttemptOf(
  m: QueuedMessage,
  now: number,
): { kind: 'held' | 'running' | 'none' | 'cancelled' } | { kind: 'at'; at: number } {
  if (m.state === 'held') return { kind: 'held' };
  if (m.state === 'cancelled') return { kind: 'cancelled' };
  const { waiting, inFlight } = pendingOf(m, now);
  const due = waiting.map((r) => r.nextAttemptAt).filter((t) => t < NEVER);
  if (due.length) return { kind: 'at', at: Math.min(...due) };
  return inFlight.length ? { kind: 'running' } : { kind: 'none' };
}

/** The newest remote reply of a message's recipients, abbreviated, or null. */
export function lastReplyOf(m: QueuedMessage, max = REPLY_CHARS): string | null {
  const r = m.recipients.filter((x) => x.lastReply).sort((a, b) => (b.lastAttemptAt ?? 0) - (a.lastAttemptAt ?? 0))[0];
  if (!r?.lastReply) return null;
  const text = r.lastReply.replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const thisUrl = (c: Context<ConsoleEnv>) => c.req.path + new URL(c.req.url).search;
const backOf = (c: Context<ConsoleEnv>) => field(c, 'back') || `${BASE}/queue`;

function filters(q: QueueQuery): Html {
  const text = (name: keyof QueueQuery, label: string, type = 'text') =>
    html`<div><label for="q-${name}">${label}</label><input id="q-${name}" name="${name}" type="${type}" value="${q[name]}"></div>`;
  return html`<form class="filters" method="get" action="${BASE}/queue">
<div><label for="q-state">State</label><select id="q-state" name="state"><option value="">any</option>${STATES.map((s) => html`<option value="${s}"${q.state === s ? html` selected` : ''}>${s}</option>`)}</select></div>
${text('domain', 'Recipient domain')}${text('sender', 'Sender (<> for none)')}${text('customer', 'Customer')}${text('site', 'Site')}
<div><label for="q-limit">At most</label><input id="q-limit" name="limit" type="number" min="1" max="${MAX_LIMIT}" value="${q.limit || DEFAULT_LIMIT}"></div>
<div><button type="submit">Show</button> <a href="${BASE}/queue">Clear</a></div></form>`;
}

function actions(c: Context<ConsoleEnv>, m: QueuedMessage, back: string): Html {
  const at = `${BASE}/queue/${encodeURIComponent(m.id)}`;
  const o = { fields: { back }, describedBy: `m-${m.id}` };
  // one menu per row (no script: a details element), so a row stays one line high
  return html`<details class="menu-actions"><summary>Actions<span class="vh"> for message ${m.id}</span></summary><div class="items">${m.state === 'queued' ? html`${postButton(c, `${at}/retry`, 'Retry now', o)}${postButton(c, `${at}/hold`, 'Hold', o)}` : ''}${m.state === 'held' ? postButton(c, `${at}/release`, 'Release', o) : ''}${postButton(c, `${at}/delete`, 'Delete…', { ...o, danger: true })}${m.sender !== '' && m.state !== 'cancelled' ? postButton(c, `${at}/delete`, 'Delete and bounce…', { ...o, fields: { back, bounce: '1' }, danger: true }) : ''}</div></details>`;
}

function row(c: Context<ConsoleEnv>, m: QueuedMessage, now: number, back: string): unknown[] {
  const next = nextAttemptOf(m, now);
  const reply = lastReplyOf(m);
  return [
    idText(m.id, { to: `${BASE}/messages/${encodeURIComponent(m.id)}`, anchor: `m-${m.id}` }),
    html`${state(m.state)}${m.state === 'held' && m.holdReason ? html` <span class="muted">(${m.holdReason})</span>` : ''}`,
    m.sender === '' ? html`<span class="muted">&lt;&gt; (none)</span>` : m.sender,
    html`${m.recipients.map((r, i) => html`${i ? html`<br>` : ''}${r.address} ${state(r.state)}`)}`,
    m.customerName
      ? html`<a href="${href(`/customers/${encodeURIComponent(m.customerName)}`)}">${m.customerName}</a>`
      : html`<span class="muted">none</span>`,
    time(m.createdAt),
    next.kind === 'at'
      ? time(next.at)
      : html`<span class="muted">${{ held: 'held', running: 'in an attempt now', none: 'nothing pending', cancelled: 'being bounced' }[next.kind]}</span>`,
    reply ?? html`<span class="muted">none yet</span>`,
    actions(c, m, back),
  ];
}

function bulkForm(c: Context<ConsoleEnv>, list: QueuedMessage[], back: string): Html {
  if (!list.length) return html``;
  return html`<h2>All messages listed</h2>
<form method="post" action="${BASE}/queue/bulk">${csrfField(c.get('session'))}
<input type="hidden" name="ids" value="${list.map((m) => m.id).join(',')}"><input type="hidden" name="back" value="${back}">
<label for="bulk-action">Do with the ${count(list.length, 'message')} listed</label>
<select id="bulk-action" name="action"><option value="retry">Retry now</option><option value="hold">Hold</option><option value="release">Release</option><option value="delete">Delete</option><option value="bounce">Delete and bounce</option></select>
<button type="submit">Apply</button></form>`;
}

async function queuePage(c: Context<ConsoleEnv>, deps: ConsoleDeps): Promise<Response> {
  const q = queryOf((k) => c.req.query(k));
  let list: QueuedMessage[] = [];
  let error: string | null = null;
  try {
    list = await c.get('svc').listQueue(listInputOf(q), c.get('scope'));
  } catch (err) {
    if (!(err instanceof AdminError)) throw err;
    error = err.message;
  }
  const back = thisUrl(c);
  const now = deps.clock.now();
  const limit = Number(q.limit) || DEFAULT_LIMIT;
  return page(c, {
    title: 'Queue',
    body: html`${filters(q)}
${error ? html`<p class="flash error" role="alert">${error}</p>` : ''}
<p class="muted">${list.length === limit ? `The first ${limit} messages (raise "At most" to see more).` : `${count(list.length, 'message')}.`} Prometheus: <code>postern_queue_messages{state}</code>, <code>postern_queue_recipients{state}</code>.</p>
${table(
  'Messages in the queue',
  ['ID', 'State', 'Sender', 'Recipients', 'Customer', 'Created', 'Next attempt', 'Last reply', 'Actions'],
  list.map((m) => row(c, m, now, back)),
  error ? 'No list (see above).' : 'No message in the queue matches.',
)}
${bulkForm(c, list, back)}`,
  });
}

type Verb = 'retry' | 'hold' | 'release' | 'delete' | 'bounce';

/** One action on one message, as the sentence the next page shows. */
async function apply(c: Context<ConsoleEnv>, deps: ConsoleDeps, verb: Verb, id: string): Promise<string> {
  const svc = c.get('svc');
  switch (verb) {
    case 'retry': {
      const n = await svc.retryQueue(id);
      return `Message ${id}: ${n} recipient${n === 1 ? '' : 's'} due now${n ? '' : ' (none was waiting: each is due already, in an attempt or final)'}.`;
    }
    case 'hold':
      await svc.holdMessage(id);
      return `Message ${id} is held.`;
    case 'release':
      await svc.releaseMessage(id);
      return `Message ${id} is released.`;
    default: {
      const r = await svc.deleteMessage(id, { bounce: verb === 'bounce', removeBody: deps.removeBody });
      if (r.outcome === 'cancelled')
        return `Message ${id} is cancelled: ${r.bounced} recipient${r.bounced === 1 ? '' : 's'} will be bounced to ${r.message.sender}.`;
      const running = r.inFlight.length
        ? ` (${r.inFlight.length} recipient${r.inFlight.length === 1 ? ' was' : 's were'} in an attempt: that attempt decides them)`
        : '';
      return `Message ${id} is deleted${r.nullSender ? ' (it had no sender to bounce to)' : ''}${running}.`;
    }
  }
}

const VERBS: Verb[] = ['retry', 'hold', 'release', 'delete', 'bounce'];
const DANGER: Verb[] = ['delete', 'bounce'];

function confirmBulk(c: Context<ConsoleEnv>, verb: Verb, ids: string[], back: string): Promise<Response> {
  const what = verb === 'bounce' ? 'Delete and bounce' : 'Delete';
  return confirmPage(c, {
    title: `${what} ${count(ids.length, 'message')}?`,
    what: html`${verb === 'bounce' ? `Each of the ${count(ids.length, 'message')} listed is cancelled and its pending recipients are bounced to its sender.` : `Each of the ${count(ids.length, 'message')} listed is deleted at once, with its body; nobody is told.`} This cannot be undone.`,
    action: `${BASE}/queue/bulk`,
    fields: { ids: ids.join(','), back, action: verb },
    button: `${what} ${count(ids.length, 'message')}`,
    back,
  });
}

/** The confirmation of deleting (or deleting and bouncing) one message: whom it concerns, and how many recipients. */
async function confirmOne(c: Context<ConsoleEnv>, id: string, bounce: boolean, back: string): Promise<Response> {
  const { message: m } = await c.get('svc').showMessage(id, c.get('scope'));
  const open = m.recipients.filter((r) => r.state !== 'delivered' && r.state !== 'failed').length;
  const from = m.sender === '' ? 'the null sender (a bounce)' : m.sender;
  const what = bounce
    ? html`Message <span class="mono">${m.id}</span> from ${from} is cancelled: its ${count(open, 'recipient')} not yet delivered ${open === 1 ? 'is' : 'are'} never tried again and ${open === 1 ? 'is' : 'are'} reported to ${m.sender} in a bounce. This cannot be undone.`
    : html`Message <span class="mono">${m.id}</span> from ${from} (1 message, ${count(open, 'recipient')} not yet delivered) is deleted at once with its body; nobody is told. This cannot be undone.`;
  return confirmPage(c, {
    title: `${bounce ? 'Delete and bounce' : 'Delete'} message ${m.id}?`,
    what,
    action: `${BASE}/queue/${encodeURIComponent(m.id)}/delete`,
    fields: { back, ...(bounce ? { bounce: '1' } : {}) },
    button: bounce ? `Delete and bounce ${count(open, 'recipient')}` : 'Delete 1 message',
    back,
  });
}

export function mountQueue(app: ConsoleApp, deps: ConsoleDeps): void {
  app.get('/queue', only('operator'), (c) => queuePage(c, deps));
  app.post('/queue/bulk', only('operator'), async (c) => {
    const verb = field(c, 'action') as Verb;
    const ids = field(c, 'ids')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const back = backOf(c);
    if (!VERBS.includes(verb))
      return act(c, back, async () => {
        throw new AdminError(`not an action: ${verb}`);
      });
    if (DANGER.includes(verb) && !confirmed(c) && ids.length) return confirmBulk(c, verb, ids, back);
    return act(c, back, async () => {
      let done = 0;
      const refused: string[] = [];
      for (const id of ids) {
        try {
          await apply(c, deps, verb, id);
          done++;
        } catch (err) {
          if (!(err instanceof AdminError)) throw err;
          refused.push(err.message);
        }
      }
      const head = `${{ retry: 'Retried', hold: 'Held', release: 'Released', delete: 'Deleted', bounce: 'Cancelled with a bounce' }[verb]} ${done} of ${count(ids.length, 'message')}.`;
      return refused.length
        ? `${head} Not done: ${refused.slice(0, 5).join('; ')}${refused.length > 5 ? ` (and ${refused.length - 5} more)` : ''}.`
        : head;
    });
  });
  for (const verb of ['retry', 'hold', 'release', 'delete'] as const) {
    app.post(`/queue/:id/${verb}`, only('operator'), (c) => {
      const bounce = verb === 'delete' && field(c, 'bounce') === '1';
      if (verb === 'delete' && !confirmed(c)) return confirmOne(c, c.req.param('id'), bounce, backOf(c));
      return act(c, backOf(c), () => apply(c, deps, bounce ? 'bounce' : verb, c.req.param('id')));
    });
  }
}
