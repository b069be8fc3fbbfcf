/**
 * Message tracking writes in PostgreSQL, run on the client of the queue's own transactions
 * (enqueue, record, operator actions): a few set-based statements per batch, never a commit of
 * their own. Events of a message that is not tracked (tracking off when it arrived, or pruned)
 * are skipped; a tracked summary is changed by one UPDATE (its row lock orders the nodes).
 */
import type { EnqueueVerdict } from '../../limits/index.ts';
import type { TrackEventType, TrackStatus, NewMessage } from '../../core/index.ts';
import { clip, deltas, event, initialStatus, messageBytes, verdictEvents, SUBJECT_MAX, type EventRow } from '../tracking.ts';
import type { Client } from './db.ts';

/** The tracked rows, recipients and first events of the messages an enqueue decided on. */
export async function trackVerdicts(c: Client, decided: { m: NewMessage; v: EnqueueVerdict }[]): Promise<void> {
  const mine = decided.filter((d) => d.m.track);
  if (!mine.length) return;
  const events = mine.map((d) => verdictEvents(d.m, d.v));
  const col = <T>(f: (d: (typeof mine)[number], i: number) => T) => mine.map(f);
  await c.query(
    `INSERT INTO tracked_messages (queue_id, customer_id, auth_user, site_name, sender, message_id, subject, size, client_ip, listener,
       rcpt_count, status, created_at, updated_at, bytes)
     SELECT x.id, x.customer_id, x.auth_user, s.name, x.sender, x.message_id, x.subject, x.size, x.client_ip, x.listener, x.rcpt, x.status, x.at, x.at, x.bytes
     FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[],
       $11::int[], $12::text[], $13::bigint[], $14::bigint[])
       AS x(id, customer_id, auth_user, site_id, sender, message_id, subject, size, client_ip, listener, rcpt, status, at, bytes)
     LEFT JOIN sites s ON s.id = x.site_id
     ON CONFLICT (queue_id) DO NOTHING`, // queue ids are unique: a clash must never fail the enqueue
    [
      col((d) => d.m.id),
      col((d) => d.m.customerId),
      col((d) => d.m.authUser),
      col((d) => d.m.siteId ?? null),
      col((d) => d.m.sender),
      col((d) => d.m.messageIdHeader),
      col((d) => clip(d.m.subject, SUBJECT_MAX)),
      col((d) => d.m.size),
      col((d) => d.m.clientIp),
      col((d) => d.m.listener),
      col((d) => d.m.recipients.length),
      col((d) => initialStatus(d.v)),
      col((d) => d.m.createdAt),
      col((d, i) => messageBytes(d.m) + events[i]!.reduce((n, e) => n + e.bytes, 0)),
    ],
  );
  const rc = mine.flatMap((d) => d.m.recipients.map((r, i) => ({ id: d.m.id, i, address: r.address })));
  await c.query(
    `INSERT INTO tracked_recipients (queue_id, idx, address) SELECT * FROM unnest($1::text[], $2::int[], $3::text[]) ON CONFLICT DO NOTHING`,
    [rc.map((r) => r.id), rc.map((r) => r.i), rc.map((r) => r.address)],
  );
  await insertEvents(c, events.flat());
}

async function insertEvents(c: Client, rows: EventRow[]): Promise<void> {
  if (!rows.length) return;
  const col = <T>(f: (e: EventRow) => T) => rows.map(f);
  await c.query(
    `INSERT INTO tracked_events (queue_id, at, type, recipient, remote_host, reply, category, ref)
     SELECT x.queue_id, x.at, x.type, x.recipient, x.remote_host, x.reply, x.category, x.ref
     FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY
       AS x(queue_id, at, type, recipient, remote_host, reply, category, ref, n)
     WHERE EXISTS (SELECT 1 FROM tracked_messages t WHERE t.queue_id = x.queue_id)
     ORDER BY x.n`, // ids in the batch's order: events of one instant keep it
    [
      col((e) => e.queueId),
      col((e) => e.at),
      col((e) => e.type),
      col((e) => e.recipient),
      col((e) => e.remoteHost),
      col((e) => e.reply),
      col((e) => e.category),
      col((e) => e.ref),
    ],
  );
}

/** Events of attempt results, and the summary of their messages (every recipient final: delivered, failed or partial). */
export async function trackOutcomes(c: Client, rows: EventRow[]): Promise<void> {
  if (!rows.length) return;
  await insertEvents(c, rows);
  const ds = deltas(rows);
  await c.query(
    `UPDATE tracked_messages t SET delivered = t.delivered + x.delivered, failed = t.failed + x.failed, bytes = t.bytes + x.bytes, updated_at = x.at,
       status = CASE
         WHEN t.delivered + x.delivered + t.failed + x.failed >= t.rcpt_count
           THEN CASE WHEN t.failed + x.failed = 0 THEN 'delivered' WHEN t.delivered + x.delivered = 0 THEN 'failed' ELSE 'partial' END
         WHEN x.deferred AND t.status = 'queued' THEN 'deferred'
         ELSE t.status END
     FROM unnest($1::text[], $2::int[], $3::int[], $4::boolean[], $5::bigint[], $6::bigint[]) AS x(queue_id, delivered, failed, deferred, bytes, at)
     WHERE t.queue_id = x.queue_id`,
    [
      ds.map((d) => d.queueId),
      ds.map((d) => d.delivered),
      ds.map((d) => d.failed),
      ds.map((d) => d.deferred),
      ds.map((d) => d.bytes),
      ds.map((d) => d.at),
    ],
  );
}

/** An operator action on messages (one event each); status null keeps their status. */
export async function trackAction(
  c: Pick<Client, 'query'>,
  queueIds: string[],
  at: number,
  type: TrackEventType,
  status: TrackStatus | null,
  reply: string,
): Promise<void> {
  if (!queueIds.length) return;
  const e = event('', at, type, { reply });
  await c.query(
    `WITH t AS (
       UPDATE tracked_messages SET status = COALESCE($5, status), bytes = bytes + $6, updated_at = $2
       WHERE queue_id = ANY($1::text[]) RETURNING queue_id)
     INSERT INTO tracked_events (queue_id, at, type, reply) SELECT queue_id, $2, $3, $4 FROM t`,
    [[...new Set(queueIds)].sort(), at, type, e.reply, status, e.bytes],
  );
}
