/**
 * Message tracking rows, shared by both adapters: what the enqueue, record and operator
 * transactions write (events of a verdict, of an attempt result, of an action), the storage
 * estimate retention is bounded by, and the prune walk (oldest first until under both bounds).
 *
 * Storage estimate (the `bytes` of a tracked message, summed for tracking.maxBytes): the text
 * lengths of its fields plus a fixed overhead per row for keys, numbers and index entries:
 * 256 bytes per message, 48 per recipient, 96 per event.
 */
import { describeRule, type EnqueueVerdict } from '../limits/index.ts';
import type { TrackFilter } from './types.ts';
import type {
  RecipientUpdate,
  TrackEvent,
  TrackEventType,
  TrackStatus,
  TrackedMessage,
  TrackingSummary,
  NewMessage,
} from '../core/index.ts';

export const TRACK_OVERHEAD = { message: 256, recipient: 48, event: 96 } as const;
export const REPLY_MAX = 1000;
export const SUBJECT_MAX = 200;

/** One event row as the adapters insert it. */
export interface EventRow extends TrackEvent {
  queueId: string;
  /** Its share of the tracking estimate (see messageBytes). */
  bytes: number;
}

/** What one batch of attempt results changes in a tracked message's summary. */
export interface StatusDelta {
  queueId: string;
  delivered: number;
  failed: number;
  deferred: boolean;
  bytes: number;
  at: number;
}

const len = (s: string | null | undefined) => (s ? s.length : 0);

export function clip(s: string | null | undefined, max: number): string | null {
  if (s == null) return null;
  return s.length > max ? s.slice(0, max) : s;
}

export function event(
  queueId: string,
  at: number,
  type: TrackEventType,
  o: Partial<Omit<EventRow, 'queueId' | 'at' | 'type' | 'bytes'>> = {},
): EventRow {
  const row = {
    queueId,
    at,
    type,
    recipient: o.recipient ?? null,
    remoteHost: o.remoteHost ?? null,
    reply: clip(o.reply, REPLY_MAX),
    category: o.category ?? null,
    ref: o.ref ?? null,
  };
  return {
    ...row,
    bytes:
      TRACK_OVERHEAD.event + type.length + len(row.recipient) + len(row.remoteHost) + len(row.reply) + len(row.category) + len(row.ref),
  };
}

/** The estimated storage of a tracked message row with its recipients (events are added as they come). */
export function messageBytes(m: NewMessage): number {
  const text = len(m.sender) + len(m.messageIdHeader) + len(m.subject) + len(m.clientIp) + len(m.listener) + len(m.authUser);
  return TRACK_OVERHEAD.message + text + m.recipients.reduce((n, r) => n + TRACK_OVERHEAD.recipient + r.address.length, 0);
}

/** The status a tracked message starts with. */
export function initialStatus(v: EnqueueVerdict): TrackStatus {
  return v.outcome === 'queued' ? 'queued' : v.outcome === 'held' ? 'held' : 'refused';
}

/** Why a message was held, in the words of QueuedMessage.holdReason. */
export function holdReasonOf(v: EnqueueVerdict): string {
  if (v.outcome !== 'held') return 'limit';
  return v.reason === 'content' ? 'content' : v.reason === 'mailbox-held' ? 'sender' : 'limit';
}

/** The first events of a message the enqueue decided on: accepted (and held), or refused. */
export function verdictEvents(m: NewMessage, v: EnqueueVerdict): EventRow[] {
  if (v.outcome === 'refused') {
    const rule = v.exceeded.find((e) => e.rule.action === v.action)?.rule ?? v.exceeded[0]?.rule;
    const why =
      v.reason === 'mailbox-held'
        ? 'the sender is on hold'
        : v.reason === 'held-full'
          ? 'too much held mail of the sender'
          : rule
            ? `sending limit reached: ${describeRule(rule)}`
            : 'sending limit reached';
    return [
      event(m.id, m.createdAt, 'refused', {
        category: v.reason ?? 'limit',
        reply: `${v.action === 'defer' ? 'deferred (4xx)' : 'rejected (5xx)'} after DATA: ${why}`,
      }),
    ];
  }
  const accepted = event(m.id, m.createdAt, 'accepted', { category: m.listener });
  if (v.outcome === 'queued') return [accepted];
  const reason = holdReasonOf(v);
  const rule = v.exceeded[0]?.rule;
  const reply =
    reason === 'content'
      ? 'held by the content scanner'
      : reason === 'sender'
        ? 'the sending mailbox or site is on hold'
        : rule
          ? `sending limit reached: ${describeRule(rule)}`
          : 'sending limit reached';
  return [accepted, event(m.id, m.createdAt, 'held', { category: reason, reply })];
}

/** The events of one applied attempt result (none for a recipient given back untried). */
export function updateEvents(u: RecipientUpdate, address: string): EventRow[] {
  if (u.state === 'deferred' && !u.attempted) return [];
  const type: TrackEventType =
    u.state === 'deferred' ? 'attempt-deferred' : u.state === 'delivered' ? 'delivered' : u.category === 'expired' ? 'expired' : 'failed';
  const rows = [event(u.messageId, u.at, type, { recipient: address, remoteHost: u.remoteHost, reply: u.reply, category: u.category })];
  if (u.notice) {
    rows.push(
      event(u.messageId, u.at, u.notice.kind === 'failure' ? 'bounced' : 'notified', {
        recipient: address,
        category: u.notice.kind,
        ref: u.notice.queueId,
      }),
    );
  }
  return rows;
}

/** Sums the summary changes of a batch's events per message. */
export function deltas(rows: EventRow[]): StatusDelta[] {
  const by = new Map<string, StatusDelta>();
  for (const r of rows) {
    const d = by.get(r.queueId) ?? { queueId: r.queueId, delivered: 0, failed: 0, deferred: false, bytes: 0, at: r.at };
    if (r.type === 'delivered') d.delivered++;
    if (r.type === 'failed' || r.type === 'expired') d.failed++;
    if (r.type === 'attempt-deferred') d.deferred = true;
    d.bytes += r.bytes;
    d.at = Math.max(d.at, r.at);
    by.set(r.queueId, d);
  }
  return [...by.values()].sort((a, b) => (a.queueId < b.queueId ? -1 : a.queueId > b.queueId ? 1 : 0));
}

/** What an adapter gives the prune walk. */
export interface PruneSource {
  total(): Promise<number>;
  /** The oldest messages (created_at, queue_id order), at most `limit`. */
  oldest(limit: number): Promise<{ queueId: string; createdAt: number; bytes: number }[]>;
  remove(queueIds: string[]): Promise<void>;
}

const PRUNE_BATCH = 1000;

/** Deletes oldest first, in batches (each its own short transaction), until under both bounds. */
export async function pruneWith(
  src: PruneSource,
  bounds: { olderThan: number; maxBytes: number },
): Promise<{ messages: number; bytes: number }> {
  let total = await src.total();
  let messages = 0;
  let bytes = 0;
  for (;;) {
    const batch = await src.oldest(PRUNE_BATCH);
    const doomed: string[] = [];
    for (const m of batch) {
      if (m.createdAt >= bounds.olderThan && total <= bounds.maxBytes) break;
      doomed.push(m.queueId);
      total -= m.bytes;
      bytes += m.bytes;
    }
    if (!doomed.length) return { messages, bytes };
    await src.remove(doomed);
    messages += doomed.length;
    if (doomed.length < batch.length || batch.length < PRUNE_BATCH) return { messages, bytes };
  }
}

/** The columns of a tracked message as both adapters select them (t: tracked_messages, c: customers). */
export const TRACKED_SELECT = `SELECT t.queue_id, t.customer_id, c.name AS customer_name, t.auth_user, t.site_name, t.sender, t.message_id, t.subject,
  t.size, t.client_ip, t.listener, t.created_at, t.updated_at, t.status, t.bytes, t.removed_tenant
  FROM tracked_messages t LEFT JOIN customers c ON c.id = t.customer_id`;

/** The WHERE clause of a search, with `p` making a placeholder for a value ('?' or '$n'). */
export function trackWhere(f: TrackFilter, p: (v: unknown) => string): string {
  const parts: string[] = [];
  if (f.customerId !== undefined) parts.push(`t.customer_id = ${p(f.customerId)}`);
  if (f.queueId !== undefined) parts.push(`t.queue_id = ${p(f.queueId)}`);
  if (f.authUser !== undefined) parts.push(`t.auth_user = ${p(f.authUser)}`);
  if (f.messageId !== undefined) parts.push(`t.message_id = ${p(f.messageId)}`);
  if (f.sender !== undefined) parts.push(`lower(t.sender) = ${p(f.sender.toLowerCase())}`);
  if (f.recipient !== undefined) {
    parts.push(
      `EXISTS (SELECT 1 FROM tracked_recipients r WHERE r.queue_id = t.queue_id AND lower(r.address) = ${p(f.recipient.toLowerCase())})`,
    );
  }
  if (f.from !== undefined) parts.push(`t.created_at >= ${p(f.from)}`);
  if (f.to !== undefined) parts.push(`t.created_at < ${p(f.to)}`);
  if (f.status !== undefined) parts.push(`t.status = ${p(f.status)}`);
  if (f.before)
    parts.push(
      `(t.created_at < ${p(f.before.createdAt)} OR (t.created_at = ${p(f.before.createdAt)} AND t.queue_id < ${p(f.before.queueId)}))`,
    );
  return parts.length ? `WHERE ${parts.join(' AND ')}` : '';
}

type Row = Record<string, unknown>;

export function trackedOf(r: Row, recipients: string[]): TrackedMessage {
  return {
    queueId: r.queue_id as string,
    customerId: (r.customer_id as number | null) ?? null,
    customerName: (r.customer_name as string | null) ?? null,
    authUser: (r.auth_user as string | null) ?? null,
    siteName: (r.site_name as string | null) ?? null,
    sender: r.sender as string,
    messageId: (r.message_id as string | null) ?? null,
    subject: (r.subject as string | null) ?? null,
    recipients,
    size: Number(r.size),
    clientIp: r.client_ip as string,
    listener: r.listener as string,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    status: r.status as TrackStatus,
    removedTenant: (r.removed_tenant as string | null) ?? null,
    bytes: Number(r.bytes),
  };
}

export function eventOf(r: Row): TrackEvent {
  return {
    at: Number(r.at),
    type: r.type as TrackEventType,
    recipient: (r.recipient as string | null) ?? null,
    remoteHost: (r.remote_host as string | null) ?? null,
    reply: (r.reply as string | null) ?? null,
    category: (r.category as string | null) ?? null,
    ref: (r.ref as string | null) ?? null,
  };
}

/** Recipient rows (queue_id, address; in idx order) grouped by message. */
export function recipientsBy(rows: Row[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const r of rows) {
    const list = by.get(r.queue_id as string) ?? [];
    list.push(r.address as string);
    by.set(r.queue_id as string, list);
  }
  return by;
}

export const DEFAULT_TRACK_LIMIT = 50;

/** A statement with its parameters. */
export interface Query {
  sql: string;
  params: unknown[];
}

/**
 * The two queries of TrackingRepo.summary, with `ph` making the placeholder of the n-th
 * parameter ('?' or '$n') and `collate` the byte-order collation of the adapter ('' in SQLite,
 * ' COLLATE "C"' in PostgreSQL: ties sort alike). Events are scoped to a customer through their
 * message. A sender is the login, else site:NAME; a message with neither (a bounce, a notice)
 * has no sender and is left out, and so is a refused one (never accepted). The same login under
 * two customers stays two rows (their counts never mix).
 */
export function summaryQueries(
  since: number,
  top: number,
  customerId: number | undefined,
  ph: (n: number) => string,
  collate: string,
): { events: Query; senders: Query } {
  const query = (build: (p: (v: unknown) => string) => string): Query => {
    const params: unknown[] = [];
    return { sql: build((v) => (params.push(v), ph(params.length))), params };
  };
  const scoped = customerId !== undefined;
  const events = query((p) =>
    scoped
      ? `SELECT e.type, COUNT(*) AS n FROM tracked_events e JOIN tracked_messages t ON t.queue_id = e.queue_id
       WHERE e.at >= ${p(since)} AND t.customer_id = ${p(customerId)} GROUP BY e.type`
      : `SELECT e.type, COUNT(*) AS n FROM tracked_events e WHERE e.at >= ${p(since)} GROUP BY e.type`,
  );
  const senders = query(
    (p) => `SELECT s.sender, c.name AS customer_name, COUNT(*) AS messages, SUM(s.rcpt_count) AS recipients
    FROM (SELECT COALESCE(t.auth_user, 'site:' || t.site_name) AS sender, t.customer_id, t.rcpt_count FROM tracked_messages t
          WHERE t.created_at >= ${p(since)}${scoped ? ` AND t.customer_id = ${p(customerId)}` : ''} AND t.status <> 'refused') s
    LEFT JOIN customers c ON c.id = s.customer_id
    WHERE s.sender IS NOT NULL
    GROUP BY s.sender, s.customer_id, c.name
    ORDER BY COUNT(*) DESC, s.sender${collate}, COALESCE(s.customer_id, 0)
    LIMIT ${p(Math.max(0, Math.floor(top)))}`,
  );
  return { events, senders };
}

/** The summary of the rows of summaryQueries. */
export function summaryOf(events: Row[], senders: Row[]): TrackingSummary {
  const byType: TrackingSummary['events'] = {};
  for (const r of events) byType[r.type as TrackEventType] = Number(r.n);
  return {
    events: byType,
    topSenders: senders.map((r) => ({
      sender: r.sender as string,
      customerName: (r.customer_name as string | null) ?? null,
      messages: Number(r.messages),
      recipients: Number(r.recipients),
    })),
  };
}

/** The query of TrackingRepo.repliesMentioning, with the adapter's placeholders. */
export function mentioningQuery(
  since: number,
  words: string[],
  top: number,
  ph: (n: number) => string,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [since];
  const likes = words.map((w) => (params.push(`%${w.toLowerCase().replace(/[%_\\]/g, '')}%`), `lower(e.reply) LIKE ${ph(params.length)}`));
  params.push(top);
  return {
    sql: `SELECT COALESCE(t.auth_user, 'site:' || t.site_name, t.sender) AS sender, c.name AS customer_name, COUNT(*) AS replies
      FROM tracked_events e JOIN tracked_messages t ON t.queue_id = e.queue_id LEFT JOIN customers c ON c.id = t.customer_id
      WHERE e.at >= ${ph(1)} AND e.type IN ('attempt-deferred', 'failed') AND (${likes.length ? likes.join(' OR ') : 'FALSE'})
      GROUP BY COALESCE(t.auth_user, 'site:' || t.site_name, t.sender), c.name ORDER BY replies DESC, sender LIMIT ${ph(params.length)}`,
    params,
  };
}

export const mentioningOf = (rows: Record<string, unknown>[]) =>
  rows.map((r) => ({ sender: r.sender as string, customerName: (r.customer_name as string | null) ?? null, replies: Number(r.replies) }));
