/**
 * Message tracking writes in SQLite, prepared once per connection and called inside the queue's
 * own transactions (enqueue, record, operator actions): tracking never costs a commit of its own.
 * Events of a message that is not tracked (tracking off when it arrived, or pruned) are skipped.
 */
import type { Db } from './db.ts';
import type { EnqueueVerdict } from '../../limits/index.ts';
import type { TrackEventType, TrackStatus, NewMessage } from '../../core/index.ts';
import { clip, deltas, event, initialStatus, messageBytes, verdictEvents, SUBJECT_MAX, type EventRow } from '../tracking.ts';

export interface TrackingWrites {
  /** The tracked row, its recipients and first events of a message the enqueue decided on. */
  verdict(m: NewMessage, v: EnqueueVerdict): void;
  /** Events of attempt results (see updateEvents), with the summary of their messages. */
  outcomes(rows: EventRow[]): void;
  /** An operator action on a message; status null keeps the status. */
  action(queueId: string, at: number, type: TrackEventType, status: TrackStatus | null, reply: string): void;
}

export function prepareTrackingWrites(db: Db): TrackingWrites {
  const insertMessage = db.prepare(
    `INSERT INTO tracked_messages (queue_id, customer_id, auth_user, site_name, sender, message_id, subject, size, client_ip, listener,
       rcpt_count, status, created_at, updated_at, bytes)
     VALUES (@id, @customerId, @authUser, (SELECT name FROM sites WHERE id = @siteId), @sender, @messageId, @subject, @size, @clientIp, @listener,
       @rcpt, @status, @at, @at, @bytes + @eventBytes)
     ON CONFLICT (queue_id) DO NOTHING`, // queue ids are unique: a clash must never fail the enqueue
  );
  const insertRecipient = db.prepare('INSERT OR IGNORE INTO tracked_recipients (queue_id, idx, address) VALUES (?, ?, ?)');
  const insertEvent = db.prepare(
    `INSERT INTO tracked_events (queue_id, at, type, recipient, remote_host, reply, category, ref)
     SELECT @queueId, @at, @type, @recipient, @remoteHost, @reply, @category, @ref WHERE EXISTS (SELECT 1 FROM tracked_messages WHERE queue_id = @queueId)`,
  );
  // every recipient final: delivered, failed, or partial (some of each)
  const summarize = db.prepare(
    `UPDATE tracked_messages SET delivered = delivered + @delivered, failed = failed + @failed, bytes = bytes + @bytes, updated_at = @at,
       status = CASE
         WHEN delivered + @delivered + failed + @failed >= rcpt_count
           THEN CASE WHEN failed + @failed = 0 THEN 'delivered' WHEN delivered + @delivered = 0 THEN 'failed' ELSE 'partial' END
         WHEN @deferred = 1 AND status = 'queued' THEN 'deferred'
         ELSE status END
     WHERE queue_id = @queueId`,
  );
  const setStatus = db.prepare(
    'UPDATE tracked_messages SET status = COALESCE(@status, status), bytes = bytes + @bytes, updated_at = @at WHERE queue_id = @queueId',
  );
  const insert = (e: EventRow) => {
    const { bytes: _b, ...row } = e;
    insertEvent.run(row);
  };

  return {
    verdict(m, v) {
      const events = verdictEvents(m, v);
      insertMessage.run({
        id: m.id,
        customerId: m.customerId,
        authUser: m.authUser,
        siteId: m.siteId ?? null,
        sender: m.sender,
        messageId: m.messageIdHeader,
        subject: clip(m.subject, SUBJECT_MAX),
        size: m.size,
        clientIp: m.clientIp,
        listener: m.listener,
        rcpt: m.recipients.length,
        status: initialStatus(v),
        at: m.createdAt,
        bytes: messageBytes(m),
        eventBytes: events.reduce((n, e) => n + e.bytes, 0),
      });
      m.recipients.forEach((r, i) => insertRecipient.run(m.id, i, r.address));
      events.forEach(insert);
    },
    outcomes(rows) {
      rows.forEach(insert);
      for (const d of deltas(rows)) summarize.run({ ...d, deferred: d.deferred ? 1 : 0 });
    },
    action(queueId, at, type, status, reply) {
      const e = event(queueId, at, type, { reply });
      insert(e);
      setStatus.run({ queueId, at, status, bytes: e.bytes });
    },
  };
}
