/**
 * One message: GET /console/messages/ID. Its facts, each recipient's outcome with the remote
 * server's reply in full and what it means in plain words (reasons.ts), the whole timeline,
 * and, while it is still in the queue, its live state (next attempt; for operators the queue
 * actions). Another customer's message, and for a mailbox user a message another login sent,
 * is "not found".
 */
import type { Context } from 'hono';
import { NEVER, type AttemptRecord, type QueuedMessage, type TrackEvent, type TrackedMessage } from '../../../core/index.ts';
import { AdminError, missing } from '../../errors.ts';
import type { ConsoleEnv } from '../context.ts';
import { notFound, roleOfContext } from '../guard.ts';
import { BASE, copyField, href, html, idText, page, postButton, state, table, time, type Html } from '../html.ts';
import { explain } from './reasons.ts';

type Tracked = TrackedMessage & { events: TrackEvent[] };
type Queued = { message: QueuedMessage; attempts: AttemptRecord[] };

/** What each event type is called on the page (bounced and notified depend on the message: eventWord). */
const EVENT_WORDS: Record<TrackEvent['type'], string> = {
  accepted: 'accepted',
  held: 'held for a check',
  released: 'released',
  retried: 'retry asked',
  'attempt-deferred': 'deferred (will retry)',
  delivered: 'delivered',
  failed: 'failed',
  expired: 'expired (gave up)',
  bounced: 'bounce sent to the sender',
  notified: 'delay notice sent to the sender',
  cancelled: 'cancelled',
  deleted: 'deleted',
  refused: 'refused',
};
/** Events whose category is a delivery classification (the others carry a listener, a notice kind or a reason). */
const CLASSIFIED = new Set<TrackEvent['type']>(['attempt-deferred', 'delivered', 'failed', 'expired']);
const NO_BOUNCE = 'no bounce sent: this message is itself a bounce or notice (Postern never bounces one, so no loop can start)';

const VIA: Record<string, string> = {
  api: 'from the HTTP send API',
  sendmail: 'from postern sendmail (a local site)',
  maildrop: 'from the sendmail drop folder',
  bounce: 'from Postern itself (a bounce)',
  postmaster: 'from Postern itself (a report to the postmaster)',
  notice: 'from Postern itself (a notice)',
};
/** Where a message came in, from its listener name ("submission:587" -> "over SMTP on port 587 (submission)"). */
export function viaWords(listener: string): string {
  const smtp = /^(mx|submissions?):(\d+)$/.exec(listener);
  if (smtp) return `over SMTP on port ${smtp[2]} (${smtp[1]})`;
  return VIA[listener] ?? `via ${listener}`;
}

/**
 * The words of one event, true to the message: a notice about a message with the null sender
 * went to the postmaster, not to "the sender"; a failure of such a message has no bounce; the
 * listener of "accepted" and the reason of "held" or "refused" are said in words, not as a category.
 */
export function eventWord(e: TrackEvent, nullSender: boolean, bouncedRecipients: ReadonlySet<string>): string {
  const base = EVENT_WORDS[e.type] ?? e.type;
  if (e.type === 'accepted' && e.category) return `accepted ${viaWords(e.category)}`;
  if ((e.type === 'held' || e.type === 'refused') && e.category) return `${base} (${e.category.replace(/-/g, ' ')})`;
  if (e.type === 'bounced' && nullSender)
    return 'failure reported to the postmaster (this message is itself a bounce: never to its null sender)';
  if ((e.type === 'failed' || e.type === 'expired') && nullSender && !bouncedRecipients.has((e.recipient ?? '').toLowerCase()))
    return `${base}; ${NO_BOUNCE}`;
  return base;
}

const OUTCOME_TYPES = new Set<TrackEvent['type']>(['delivered', 'failed', 'expired', 'attempt-deferred']);
const MESSAGE_TYPES = new Set<TrackEvent['type']>(['refused', 'held', 'cancelled', 'deleted']);

const notFoundToNull = (err: unknown): null => {
  if (err instanceof AdminError && err.kind === 'not-found') return null;
  throw err;
};

export function sizeOf(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

interface Outcome {
  recipient: string;
  word: string;
  at: number | null;
  remoteHost: string | null;
  reply: string | null;
  meaning: string | null;
}

/** Each recipient's outcome: its last delivery event (or the live queue state, or the message's own fate). */
export function outcomesOf(t: Tracked | null, q: Queued | null): Outcome[] {
  const events = t?.events ?? [];
  const whole = events.filter((e) => e.recipient === null && MESSAGE_TYPES.has(e.type)).at(-1);
  const recipients = t?.recipients ?? q!.message.recipients.map((r) => r.address);
  const nullSender = (t?.sender ?? q!.message.sender) === '';
  return recipients.map((recipient) => {
    const mine = events.filter((e) => e.recipient?.toLowerCase() === recipient.toLowerCase());
    const last = mine.filter((e) => OUTCOME_TYPES.has(e.type)).at(-1);
    const live = q?.message.recipients.find((r) => r.address.toLowerCase() === recipient.toLowerCase());
    let word: string;
    if (last?.type === 'delivered') word = 'delivered';
    else if (last?.type === 'failed' || last?.type === 'expired') word = mine.some((e) => e.type === 'bounced') ? 'bounced' : 'failed';
    else if (live) word = q!.message.state === 'held' ? 'held' : live.state === 'queued' && live.attempts === 0 ? 'pending' : live.state;
    else if (last) word = 'deferred';
    else word = whole?.type ?? (t && ['cancelled', 'deleted', 'refused', 'held'].includes(t.status) ? t.status : 'pending');
    const from = last ?? (live?.lastReply ? null : whole);
    const reply = from?.reply ?? live?.lastReply ?? null;
    const category = from?.category ?? live?.category ?? null;
    return {
      recipient,
      word,
      at: from?.at ?? live?.lastAttemptAt ?? null,
      remoteHost: from?.remoteHost ?? live?.remoteHost ?? null,
      reply,
      meaning:
        word === 'delivered'
          ? null
          : [explain(reply, category), word === 'failed' && nullSender ? `${NO_BOUNCE[0]!.toUpperCase()}${NO_BOUNCE.slice(1)}.` : null]
              .filter(Boolean)
              .join(' ') || null,
    };
  });
}

function facts(c: Context<ConsoleEnv>, t: Tracked | null, q: Queued | null): Html {
  const operator = roleOfContext(c) === 'operator';
  const m = q?.message;
  const authUser = t?.authUser ?? m?.authUser ?? null;
  const site = t?.siteName ?? m?.siteName ?? null;
  const sender = t?.sender ?? m!.sender;
  const fact = (k: string, v: unknown) => html`<dt>${k}</dt><dd>${v as string}</dd>`;
  return html`<dl class="facts">
${fact('Queue id', copyField('Queue id, to copy', t?.queueId ?? m!.id, 'copy-qid'))}
${fact('Message-ID', html`<span class="mono">${t?.messageId ?? m?.messageIdHeader ?? 'none'}</span>`)}
${t ? fact('Subject', t.subject || '(no subject)') : ''}
${fact('Sender', sender || '<> (none: this is a bounce)')}
${fact('Sent by', site ? `the site ${site}` : authUser ? `the login ${authUser}` : 'Postern itself (a bounce or notice)')}
${operator ? fact('Customer', t?.customerName ?? m?.customerName ?? 'none') : ''}
${operator ? fact('Client address', t?.clientIp ?? m!.clientIp) : ''}
${operator ? fact('Listener', t?.listener ?? m!.listener) : ''}
${fact('Size', sizeOf(t?.size ?? m!.size))}
${fact('Accepted', time(t?.createdAt ?? m!.createdAt))}
${fact('Status', state(t?.status ?? m!.state))}
</dl>`;
}

function timeline(events: TrackEvent[], linkDsn: boolean, nullSender: boolean): Html {
  const bounced = new Set(events.filter((e) => e.type === 'bounced').map((e) => (e.recipient ?? '').toLowerCase()));
  const rows = events.map((e) => [
    time(e.at),
    eventWord(e, nullSender, bounced),
    e.recipient ?? '',
    e.remoteHost ?? '',
    e.reply ? html`<span class="mono">${e.reply}</span>` : '',
    CLASSIFIED.has(e.type) ? (e.category ?? '') : '',
    e.ref ? (linkDsn ? idText(e.ref, { to: `${BASE}/messages/${encodeURIComponent(e.ref)}` }) : idText(e.ref)) : '',
  ]);
  return table(
    'Every event, oldest first',
    ['Time', 'Event', 'Recipient', 'Remote server', 'Reply', 'Category', 'Notice message'],
    rows,
    'No events were recorded (tracking was off or has been pruned).',
  );
}

function queueState(c: Context<ConsoleEnv>, q: Queued, now: number): Html {
  const m = q.message;
  const operator = roleOfContext(c) === 'operator';
  const next = (r: QueuedMessage['recipients'][number]) => {
    if (r.state === 'delivered' || r.state === 'failed') return 'none (final)';
    if (m.state === 'held') return 'none while held';
    if (r.leaseOwner !== null && r.nextAttemptAt > now) return 'being delivered now';
    return r.nextAttemptAt >= NEVER ? 'none' : time(Math.max(r.nextAttemptAt, now));
  };
  const rows = m.recipients.map((r) => [
    r.address,
    state(r.state),
    String(r.attempts),
    time(r.lastAttemptAt),
    next(r),
    r.lastReply ? html`<span class="mono">${r.lastReply}</span>` : '',
  ]);
  const actions = operator
    ? html`<p>${
        m.state === 'held'
          ? postButton(c, `${BASE}/queue/${encodeURIComponent(m.id)}/release`, 'Release')
          : html`${postButton(c, `${BASE}/queue/${encodeURIComponent(m.id)}/retry`, 'Retry now')} ${postButton(c, `${BASE}/queue/${encodeURIComponent(m.id)}/hold`, 'Hold')}`
      }
<a href="${href('/queue', { sender: m.sender || '<>' })}">This sender's messages in the queue</a></p>`
    : '';
  return html`<h2>In the queue now</h2>
<p>The message is still in the queue: ${state(m.state)}${m.holdReason ? ` (held because of: ${m.holdReason})` : ''}.</p>
${table('Recipients in the queue', ['Recipient', 'State', 'Attempts', 'Last attempt', 'Next attempt', 'Last reply'], rows)}${actions}`;
}

/** GET /console/messages/ID. */
export async function messagePage(c: Context<ConsoleEnv>, id: string, now: number): Promise<Response> {
  const svc = c.get('svc');
  const scope = c.get('scope');
  const [t, q] = await Promise.all([svc.showTracking(id, scope).catch(notFoundToNull), svc.showMessage(id, scope).catch(notFoundToNull)]);
  if (!t && !q) throw missing(`There is no message ${id}, or it is not yours to see.`);
  if (roleOfContext(c) === 'mailbox') {
    const by = (t?.authUser ?? q?.message.authUser ?? '').toLowerCase();
    if (by !== c.get('session').subject.toLowerCase()) return notFound(c, `There is no message ${id}, or it is not yours to see.`);
  }
  const outcomes = outcomesOf(t, q).map((o) => [
    o.recipient,
    state(o.word),
    time(o.at),
    o.remoteHost ?? '',
    o.reply ? html`<span class="mono">${o.reply}</span>` : '',
    o.meaning ?? '',
  ]);
  const body = html`${facts(c, t, q)}
<h2>Recipients</h2>
${table('What happened to each recipient', ['Recipient', 'Outcome', 'When', 'Remote server', 'Reply of the remote server', 'What it means'], outcomes)}
${q ? queueState(c, q, now) : html`<h2>In the queue now</h2><p>${t?.status === 'refused' ? 'This message was refused, so it never entered the queue.' : 'This message is no longer in the queue: its outcome above is final.'}</p>`}
<h2>Timeline</h2>
${t ? timeline(t.events, roleOfContext(c) !== 'mailbox', (t.sender ?? '') === '') : html`<p>No tracking record (tracking was off, or it has been pruned).</p>`}
<p><a href="${BASE}/messages">Back to the messages</a></p>`;
  return page(c, { title: t?.subject ? `Message: ${t.subject}` : `Message ${id}`, body });
}
