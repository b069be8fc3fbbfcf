/**
 * Message tracking in PostgreSQL: search, one message's timeline, retention (prune) and its size.
 * One node prunes at a time (an advisory lock; the others skip their turn).
 */
import type { TrackingRepo } from '../types.ts';
import {
  DEFAULT_TRACK_LIMIT,
  TRACKED_SELECT,
  eventOf,
  pruneWith,
  recipientsBy,
  summaryOf,
  summaryQueries,
  trackWhere,
  trackedOf,
  mentioningOf,
  mentioningQuery,
} from '../tracking.ts';
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';

type Row = Record<string, unknown>;

// Any constant the nodes agree on: the advisory lock of the prune.
const PRUNE_LOCK = 0x7472616b; // 'trak'

export function createTrackingRepo(pool: Pool, _deps: RepoDeps): TrackingRepo {
  const recipientsOf = async (ids: string[]) =>
    recipientsBy(
      (await pool.query('SELECT queue_id, address FROM tracked_recipients WHERE queue_id = ANY($1::text[]) ORDER BY queue_id, idx', [ids]))
        .rows,
    );
  const select = async (where: string, params: unknown[], tail = '') =>
    (await pool.query(`${TRACKED_SELECT} ${where} ${tail}`, params)).rows as Row[];

  return {
    async search(f) {
      const params: unknown[] = [];
      const where = trackWhere(f, (v) => (params.push(v), `$${params.length}`));
      params.push(f.limit ?? DEFAULT_TRACK_LIMIT);
      const rows = await select(where, params, `ORDER BY t.created_at DESC, t.queue_id DESC LIMIT $${params.length}`);
      const by = await recipientsOf(rows.map((r) => r.queue_id as string));
      return rows.map((r) => trackedOf(r, by.get(r.queue_id as string) ?? []));
    },
    async get(queueId, customerId) {
      const params: unknown[] = [];
      const [r] = await select(
        trackWhere({ queueId, customerId }, (v) => (params.push(v), `$${params.length}`)),
        params,
      );
      if (!r) return null;
      const { rows } = await pool.query('SELECT * FROM tracked_events WHERE queue_id = $1 ORDER BY at, id', [queueId]);
      return { ...trackedOf(r, (await recipientsOf([queueId])).get(queueId) ?? []), events: rows.map(eventOf) };
    },
    async prune(bounds) {
      const c = await pool.connect();
      try {
        const { rows } = await c.query('SELECT pg_try_advisory_lock($1) AS ok', [PRUNE_LOCK]);
        if (!rows[0].ok) return { messages: 0, bytes: 0 }; // another node is pruning
        try {
          return await pruneWith(
            {
              total: async () => Number((await c.query('SELECT COALESCE(SUM(bytes), 0) AS n FROM tracked_messages')).rows[0].n),
              oldest: async (limit) =>
                (
                  await c.query('SELECT queue_id, created_at, bytes FROM tracked_messages ORDER BY created_at, queue_id LIMIT $1', [limit])
                ).rows.map((r) => ({ queueId: r.queue_id as string, createdAt: Number(r.created_at), bytes: Number(r.bytes) })),
              remove: async (ids) => {
                await c.query('DELETE FROM tracked_messages WHERE queue_id = ANY($1::text[])', [ids]);
              },
            },
            bounds,
          );
        } finally {
          await c.query('SELECT pg_advisory_unlock($1)', [PRUNE_LOCK]);
        }
      } finally {
        c.release();
      }
    },
    async stats() {
      const [m, e] = await Promise.all([
        pool.query('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes, MIN(created_at) AS oldest FROM tracked_messages'),
        pool.query('SELECT COUNT(*) AS n FROM tracked_events'),
      ]);
      const r = m.rows[0];
      return {
        messages: Number(r.n),
        events: Number(e.rows[0].n),
        bytes: Number(r.bytes),
        oldest: r.oldest === null ? null : Number(r.oldest),
      };
    },
    async summary(since, top, customerId) {
      const q = summaryQueries(since, top, customerId, (n) => `$${n}`, ' COLLATE "C"');
      const [events, senders] = await Promise.all([
        pool.query<Row>(q.events.sql, q.events.params),
        pool.query<Row>(q.senders.sql, q.senders.params),
      ]);
      return summaryOf(events.rows, senders.rows);
    },
    async repliesMentioning(since, words, top) {
      const q = mentioningQuery(since, words, top, (n) => `$${n}`);
      return mentioningOf((await pool.query<Row>(q.sql, q.params)).rows);
    },
  };
}
