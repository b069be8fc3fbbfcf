/** The queue tables in PostgreSQL: reads and operator actions; the write transactions are in queue-writes.ts. */
import type { QueueFilter, QueueRepo } from '../types.ts';
import {
  NEVER,
  type AttemptRecord,
  type QueueDepthCounts,
  type MessageState,
  type QueuedMessage,
  type QueuedRecipient,
} from '../../core/index.ts';
import { tx, type Pool } from './db.ts';
import { HELD_BY, toQueuedMessage, toRecipient, type Row } from '../rows.ts';
import type { RepoDeps } from './deps.ts';
import { claim, enqueue, record, releaseLeases } from './queue-writes.ts';
import { trackAction } from './tracking-writes.ts';

const MESSAGE_SELECT = `SELECT m.id, m.customer_id, m.sender, m.size, m.state, m.hold_reason, m.message_id_header, m.client_ip,
  m.auth_user, m.listener, m.dsn_ret, m.dsn_envid, m.created_at, c.name AS customer_name, s.name AS site_name
  FROM messages m LEFT JOIN customers c ON c.id = m.customer_id LEFT JOIN sites s ON s.id = m.site_id`;

const PENDING = "state IN ('queued', 'deferred')";

/** WHERE clause and parameters of a queue listing. */
function filterSql(f: QueueFilter): { where: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (f.state === 'held') parts.push("m.state = 'held'");
  else if (f.state) parts.push(`EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state = ${p(f.state)})`);
  if (f.domain) parts.push(`EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.domain = ${p(f.domain.toLowerCase())})`);
  if (f.sender !== undefined) parts.push(`lower(m.sender) = ${p(f.sender.toLowerCase())}`);
  if (f.authUser) parts.push(`m.auth_user = ${p(f.authUser.toLowerCase())}`);
  if (f.site) parts.push(`s.name = ${p(f.site)}`);
  if (f.customer) parts.push(`c.name = ${p(f.customer)}`);
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export function createQueueRepo(pool: Pool, deps: RepoDeps): QueueRepo {
  /** Messages with their recipients (two queries, however many messages). */
  const withRecipients = async (rows: Row[]): Promise<QueuedMessage[]> => {
    if (!rows.length) return [];
    const { rows: rs } = await pool.query('SELECT * FROM recipients WHERE message_id = ANY($1::text[]) ORDER BY message_id, idx', [
      rows.map((r) => r.id),
    ]);
    const by = new Map<string, QueuedRecipient[]>();
    for (const r of rs) {
      const list = by.get(r.message_id) ?? [];
      list.push(toRecipient(r));
      by.set(r.message_id, list);
    }
    return rows.map((r) => toQueuedMessage(r, by.get(r.id as string) ?? []));
  };
  const get = async (id: string) => (await withRecipients((await pool.query(`${MESSAGE_SELECT} WHERE m.id = $1`, [id])).rows))[0] ?? null;

  return {
    enqueueBatch: (messages) => enqueue(pool, messages),
    claim: (o) => claim(pool, o),
    record: (u) => record(pool, u),
    releaseLeases: (owner, now) => releaseLeases(pool, owner, now),
    async list(filter = {}) {
      const { where, params } = filterSql(filter);
      const { rows } = await pool.query(`${MESSAGE_SELECT} ${where} ORDER BY m.created_at, m.id LIMIT $${params.length + 1}`, [
        ...params,
        filter.limit ?? 1000,
      ]);
      return withRecipients(rows);
    },
    get,
    async count() {
      return (await pool.query('SELECT COUNT(*) AS n FROM messages')).rows[0].n as number;
    },
    async depth() {
      const counts: QueueDepthCounts = { messages: { queued: 0, held: 0, cancelled: 0 }, recipients: { queued: 0, deferred: 0 } };
      const [m, r] = await Promise.all([
        pool.query<{ state: MessageState; n: number }>('SELECT state, COUNT(*) AS n FROM messages GROUP BY state'),
        pool.query<{ state: 'queued' | 'deferred'; n: number }>(
          `SELECT state, COUNT(*) AS n FROM recipients WHERE ${PENDING} GROUP BY state`,
        ),
      ]);
      for (const x of m.rows) counts.messages[x.state] = x.n;
      for (const x of r.rows) counts.recipients[x.state] = x.n;
      return counts;
    },
    async bodyPaths() {
      return new Set<string>(); // bodies live in the rows
    },
    async inlineBody(id) {
      const { rows } = await pool.query('SELECT body FROM messages WHERE id = $1', [id]);
      return (rows[0]?.body as Buffer | undefined) ?? null;
    },
    async stateOf(id) {
      const { rows } = await pool.query('SELECT state FROM messages WHERE id = $1', [id]);
      return (rows[0]?.state as MessageState | undefined) ?? null;
    },
    async attempts(id) {
      const { rows } = await pool.query('SELECT * FROM attempts WHERE message_id = $1 ORDER BY at, id', [id]);
      return rows.map(
        (r): AttemptRecord => ({
          recipientIdx: r.recipient_idx,
          at: r.at,
          outcome: r.outcome,
          category: r.category,
          reply: r.reply,
          remoteHost: r.remote_host ?? null,
        }),
      );
    },
    hold: (id, reason = 'postmaster') =>
      tx(pool, async (c) => {
        if (
          !(await c.query("UPDATE messages SET state = 'held', hold_reason = $2 WHERE id = $1 AND state = 'queued'", [id, reason])).rowCount
        )
          return false;
        // recipients in flight keep their lease: their attempt records its result, and the
        // claim skips held messages whatever their due time
        await c.query(`UPDATE recipients SET next_attempt_at = $1 WHERE message_id = $2 AND ${PENDING} AND lease_owner IS NULL`, [
          NEVER,
          id,
        ]);
        await trackAction(c, [id], deps.now(), 'held', 'held', HELD_BY[reason]);
        return true;
      }),
    release: (id, now) =>
      tx(pool, async (c) => {
        if (!(await c.query("UPDATE messages SET state = 'queued', hold_reason = NULL WHERE id = $1 AND state = 'held'", [id])).rowCount)
          return false;
        // never a recipient in flight: making it due now could start a second delivery
        await c.query(`UPDATE recipients SET next_attempt_at = $1 WHERE message_id = $2 AND ${PENDING} AND lease_owner IS NULL`, [now, id]);
        await trackAction(c, [id], now, 'released', 'queued', 'released from hold');
        return true;
      }),
    // the same holds and releases, for every message of a customer at once (as hold and release do one)
    holdCustomer: (customerId, now) =>
      tx(pool, async (c) => {
        const ids = (
          await c.query(
            "UPDATE messages SET state = 'held', hold_reason = 'customer' WHERE customer_id = $1 AND state = 'queued' RETURNING id",
            [customerId],
          )
        ).rows.map((r) => r.id as string);
        await c.query(
          `UPDATE recipients SET next_attempt_at = $1 WHERE message_id = ANY($2::text[]) AND ${PENDING} AND lease_owner IS NULL`,
          [NEVER, ids],
        );
        await trackAction(c, ids, now, 'held', 'held', HELD_BY.customer);
        return ids.length;
      }),
    releaseCustomer: (customerId, now) =>
      tx(pool, async (c) => {
        const ids = (
          await c.query(
            "UPDATE messages SET state = 'queued', hold_reason = NULL WHERE customer_id = $1 AND state = 'held' AND hold_reason = 'customer' RETURNING id",
            [customerId],
          )
        ).rows.map((r) => r.id as string);
        await c.query(
          `UPDATE recipients SET next_attempt_at = $1 WHERE message_id = ANY($2::text[]) AND ${PENDING} AND lease_owner IS NULL`,
          [now, ids],
        );
        await trackAction(c, ids, now, 'released', 'queued', 'released from hold');
        return ids.length;
      }),
    // Recipients in flight (leased) are left alone: their attempt decides.
    retry: (id, now) =>
      tx(pool, async (c) => {
        const r = await c.query(
          `UPDATE recipients SET next_attempt_at = $1 WHERE ${PENDING} AND lease_owner IS NULL AND next_attempt_at > $1
           AND message_id IN (SELECT id FROM messages WHERE state = 'queued' ${id === null ? '' : 'AND id = $2'}) RETURNING message_id`,
          id === null ? [now] : [now, id],
        );
        await trackAction(
          c,
          r.rows.map((x) => x.message_id as string),
          now,
          'retried',
          null,
          'made due now by the postmaster',
        );
        return r.rowCount ?? 0;
      }),
    cancel: (id, now) =>
      tx(pool, async (c) => {
        if (!(await c.query("UPDATE messages SET state = 'cancelled' WHERE id = $1 AND state IN ('queued', 'held')", [id])).rowCount)
          return false;
        await c.query(`UPDATE recipients SET next_attempt_at = $1 WHERE message_id = $2 AND ${PENDING} AND lease_owner IS NULL`, [now, id]);
        await trackAction(c, [id], now, 'cancelled', 'cancelled', 'deleted by the postmaster with a bounce');
        return true;
      }),
    async remove(id) {
      const m = await get(id);
      if (!m) return null;
      return tx(pool, async (c) => {
        const r = await c.query('DELETE FROM messages WHERE id = $1', [id]);
        if (!r.rowCount) return null;
        await trackAction(c, [id], deps.now(), 'deleted', 'deleted', 'deleted from the queue by the postmaster');
        return m;
      });
    },
  };
}
