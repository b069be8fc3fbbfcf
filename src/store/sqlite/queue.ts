/** The queue tables in SQLite: reads, operator actions, and the write transactions (queue-writes.ts). */
import type { Db } from './db.ts';
import type { AsyncQueueWrites } from './writer.ts';
import { HELD_BY, toQueuedMessage, toRecipient, type Row } from '../rows.ts';
import { prepareTrackingWrites } from './tracking-writes.ts';
import type { QueueFilter, QueueRepo } from '../types.ts';
import { NEVER, type AttemptRecord, type QueueDepthCounts, type QueuedMessage, type MessageState } from '../../core/index.ts';

const MESSAGE_SELECT = `SELECT m.id, m.customer_id, m.sender, m.size, m.body_path, m.state, m.hold_reason, m.message_id_header, m.client_ip,
  m.auth_user, m.listener, m.dsn_ret, m.dsn_envid, m.created_at, c.name AS customer_name, s.name AS site_name
  FROM messages m LEFT JOIN customers c ON c.id = m.customer_id LEFT JOIN sites s ON s.id = m.site_id`;

const PENDING = "state IN ('queued', 'deferred')";

/** WHERE clause and parameters of a queue listing. */
function filterSql(f: QueueFilter): { where: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (f.state === 'held') parts.push("m.state = 'held'");
  else if (f.state) {
    parts.push('EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state = ?)');
    params.push(f.state);
  }
  if (f.domain) {
    parts.push('EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.domain = ?)');
    params.push(f.domain.toLowerCase());
  }
  if (f.sender !== undefined) {
    parts.push('lower(m.sender) = ?');
    params.push(f.sender.toLowerCase());
  }
  if (f.authUser) {
    parts.push('m.auth_user = ?');
    params.push(f.authUser.toLowerCase());
  }
  if (f.site) {
    parts.push('s.name = ?');
    params.push(f.site);
  }
  if (f.customer) {
    parts.push('c.name = ?');
    params.push(f.customer);
  }
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/**
 * The queue repository. Reads and operator actions run on the caller's connection; the
 * delivery path's writes (enqueue, claim, record, releaseLeases) go to `writes`, which the
 * adapter points at the writer worker so that their fsyncs never block the event loop.
 */
export function createQueueRepo(db: Db, writes: AsyncQueueWrites, now: () => number = Date.now): QueueRepo {
  const tracking = prepareTrackingWrites(db);
  const recipientsOf = db.prepare('SELECT * FROM recipients WHERE message_id = ? ORDER BY idx');
  const messageById = db.prepare(`${MESSAGE_SELECT} WHERE m.id = ?`);
  const bodyById = db.prepare('SELECT body FROM messages WHERE id = ?').pluck();
  const stateById = db.prepare('SELECT state FROM messages WHERE id = ?').pluck();

  const toMessage = (r: Row): QueuedMessage => toQueuedMessage(r, (recipientsOf.all(r.id) as Row[]).map(toRecipient));
  const get = (id: string): QueuedMessage | null => {
    const r = messageById.get(id) as Row | undefined;
    return r ? toMessage(r) : null;
  };

  const hold = db.transaction((id: string, reason: 'postmaster' | 'customer') => {
    if (!db.prepare("UPDATE messages SET state = 'held', hold_reason = ? WHERE id = ? AND state = 'queued'").run(reason, id).changes)
      return false;
    // recipients in flight keep their lease: their attempt records its result, and the
    // claim skips held messages whatever their due time
    db.prepare(`UPDATE recipients SET next_attempt_at = ? WHERE message_id = ? AND ${PENDING} AND lease_owner IS NULL`).run(NEVER, id);
    tracking.action(id, now(), 'held', 'held', HELD_BY[reason]);
    return true;
  });
  const release = db.transaction((id: string, at: number) => {
    if (!db.prepare("UPDATE messages SET state = 'queued', hold_reason = NULL WHERE id = ? AND state = 'held'").run(id).changes)
      return false;
    // never a recipient in flight: making it due now could start a second delivery
    db.prepare(`UPDATE recipients SET next_attempt_at = ? WHERE message_id = ? AND ${PENDING} AND lease_owner IS NULL`).run(at, id);
    tracking.action(id, at, 'released', 'queued', 'released from hold');
    return true;
  });
  // the same holds and releases, for every message of a customer at once (as hold and release do one)
  const holdCustomer = db.transaction((customerId: number, at: number) => {
    const ids = db
      .prepare("UPDATE messages SET state = 'held', hold_reason = 'customer' WHERE customer_id = ? AND state = 'queued' RETURNING id")
      .pluck()
      .all(customerId) as string[];
    const due = db.prepare(`UPDATE recipients SET next_attempt_at = ? WHERE message_id = ? AND ${PENDING} AND lease_owner IS NULL`);
    for (const id of ids) {
      due.run(NEVER, id);
      tracking.action(id, at, 'held', 'held', HELD_BY.customer);
    }
    return ids.length;
  });
  const releaseCustomer = db.transaction((customerId: number, at: number) => {
    const ids = db
      .prepare(
        "UPDATE messages SET state = 'queued', hold_reason = NULL WHERE customer_id = ? AND state = 'held' AND hold_reason = 'customer' RETURNING id",
      )
      .pluck()
      .all(customerId) as string[];
    const due = db.prepare(`UPDATE recipients SET next_attempt_at = ? WHERE message_id = ? AND ${PENDING} AND lease_owner IS NULL`);
    for (const id of ids) {
      due.run(at, id);
      tracking.action(id, at, 'released', 'queued', 'released from hold');
    }
    return ids.length;
  });
  // Recipients in flight (leased) are left alone: their attempt decides.
  const retry = db.transaction((id: string | null, at: number) => {
    const made = db
      .prepare(
        `UPDATE recipients SET next_attempt_at = ? WHERE ${PENDING} AND lease_owner IS NULL AND next_attempt_at > ?
         AND message_id IN (SELECT id FROM messages WHERE state = 'queued' ${id === null ? '' : 'AND id = ?'}) RETURNING message_id`,
      )
      .pluck()
      .all(...(id === null ? [at, at] : [at, at, id])) as string[];
    for (const m of new Set(made)) tracking.action(m, at, 'retried', null, 'made due now by the postmaster');
    return made.length;
  });
  const cancel = db.transaction((id: string, at: number) => {
    if (!db.prepare("UPDATE messages SET state = 'cancelled' WHERE id = ? AND state IN ('queued', 'held')").run(id).changes) return false;
    db.prepare(`UPDATE recipients SET next_attempt_at = ? WHERE message_id = ? AND ${PENDING} AND lease_owner IS NULL`).run(at, id);
    tracking.action(id, at, 'cancelled', 'cancelled', 'deleted by the postmaster with a bounce');
    return true;
  });
  const remove = db.transaction((id: string) => {
    const m = get(id);
    if (m) {
      db.prepare('DELETE FROM messages WHERE id = ?').run(id);
      tracking.action(id, now(), 'deleted', 'deleted', 'deleted from the queue by the postmaster');
    }
    return m;
  });

  return {
    enqueueBatch: writes.enqueue,
    claim: writes.claim,
    record: writes.record,
    releaseLeases: writes.releaseLeases,
    async list(filter = {}) {
      const { where, params } = filterSql(filter);
      const rows = db
        .prepare(`${MESSAGE_SELECT} ${where} ORDER BY m.created_at, m.id LIMIT ?`)
        .all(...params, filter.limit ?? 1000) as Row[];
      return rows.map(toMessage);
    },
    async get(id) {
      return get(id);
    },
    async count() {
      return (db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n;
    },
    async depth() {
      const counts: QueueDepthCounts = { messages: { queued: 0, held: 0, cancelled: 0 }, recipients: { queued: 0, deferred: 0 } };
      for (const r of db.prepare('SELECT state, COUNT(*) AS n FROM messages GROUP BY state').all() as { state: MessageState; n: number }[])
        counts.messages[r.state] = r.n;
      for (const r of db.prepare(`SELECT state, COUNT(*) AS n FROM recipients WHERE ${PENDING} GROUP BY state`).all() as {
        state: 'queued' | 'deferred';
        n: number;
      }[])
        counts.recipients[r.state] = r.n;
      return counts;
    },
    async bodyPaths() {
      return new Set(db.prepare('SELECT body_path FROM messages WHERE body_path IS NOT NULL').pluck().all() as string[]);
    },
    async inlineBody(id) {
      return (bodyById.get(id) as Buffer | null | undefined) ?? null;
    },
    async stateOf(id) {
      return (stateById.get(id) as MessageState | undefined) ?? null;
    },
    async attempts(id) {
      const rows = db.prepare('SELECT * FROM attempts WHERE message_id = ? ORDER BY at, id').all(id) as Row[];
      return rows.map(
        (r): AttemptRecord => ({
          recipientIdx: r.recipient_idx as number,
          at: r.at as number,
          outcome: r.outcome as AttemptRecord['outcome'],
          category: r.category as string,
          reply: r.reply as string,
          remoteHost: (r.remote_host as string | null) ?? null,
        }),
      );
    },
    hold: async (id, reason = 'postmaster') => hold.immediate(id, reason),
    release: async (id, now) => release.immediate(id, now),
    holdCustomer: async (customerId, now) => holdCustomer.immediate(customerId, now),
    releaseCustomer: async (customerId, now) => releaseCustomer.immediate(customerId, now),
    retry: async (id, now) => retry.immediate(id, now),
    remove: async (id) => remove.immediate(id),
    cancel: async (id, now) => cancel.immediate(id, now),
  };
}
