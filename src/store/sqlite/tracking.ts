/** Message tracking in SQLite: search, one message's timeline, retention (prune) and its size. */
import type { Db } from './db.ts';
import type { TrackingRepo } from '../types.ts';
import {
  mentioningOf,
  mentioningQuery,
  DEFAULT_TRACK_LIMIT,
  TRACKED_SELECT,
  eventOf,
  pruneWith,
  recipientsBy,
  summaryOf,
  summaryQueries,
  trackWhere,
  trackedOf,
} from '../tracking.ts';

type Row = Record<string, unknown>;

export function createTrackingRepo(db: Db): TrackingRepo {
  const recipientsOf = (ids: string[]) =>
    recipientsBy(
      db
        .prepare(
          'SELECT queue_id, address FROM tracked_recipients WHERE queue_id IN (SELECT value FROM json_each(?)) ORDER BY queue_id, idx',
        )
        .all(JSON.stringify(ids)) as Row[],
    );
  const eventsOf = db.prepare('SELECT * FROM tracked_events WHERE queue_id = ? ORDER BY at, id');
  const removeBatch = db.transaction((ids: string[]) => {
    db.prepare('DELETE FROM tracked_messages WHERE queue_id IN (SELECT value FROM json_each(?))').run(JSON.stringify(ids));
  });

  return {
    async search(f) {
      const params: unknown[] = [];
      const where = trackWhere(f, (v) => (params.push(v), '?'));
      const rows = db
        .prepare(`${TRACKED_SELECT} ${where} ORDER BY t.created_at DESC, t.queue_id DESC LIMIT ?`)
        .all(...params, f.limit ?? DEFAULT_TRACK_LIMIT) as Row[];
      const by = recipientsOf(rows.map((r) => r.queue_id as string));
      return rows.map((r) => trackedOf(r, by.get(r.queue_id as string) ?? []));
    },
    async get(queueId, customerId) {
      const params: unknown[] = [];
      const where = trackWhere({ queueId, customerId }, (v) => (params.push(v), '?'));
      const r = db.prepare(`${TRACKED_SELECT} ${where}`).get(...params) as Row | undefined;
      if (!r) return null;
      const events = (eventsOf.all(queueId) as Row[]).map(eventOf);
      return { ...trackedOf(r, recipientsOf([queueId]).get(queueId) ?? []), events };
    },
    prune(bounds) {
      return pruneWith(
        {
          total: async () => db.prepare('SELECT COALESCE(SUM(bytes), 0) FROM tracked_messages').pluck().get() as number,
          oldest: async (limit) =>
            (
              db
                .prepare('SELECT queue_id, created_at, bytes FROM tracked_messages ORDER BY created_at, queue_id LIMIT ?')
                .all(limit) as Row[]
            ).map((r) => ({ queueId: r.queue_id as string, createdAt: r.created_at as number, bytes: r.bytes as number })),
          remove: async (ids) => removeBatch.immediate(ids),
        },
        bounds,
      );
    },
    async stats() {
      const m = db
        .prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes, MIN(created_at) AS oldest FROM tracked_messages')
        .get() as Row;
      const events = db.prepare('SELECT COUNT(*) FROM tracked_events').pluck().get() as number;
      return { messages: m.n as number, events, bytes: m.bytes as number, oldest: (m.oldest as number | null) ?? null };
    },
    async summary(since, top, customerId) {
      const q = summaryQueries(since, top, customerId, () => '?', '');
      const run = ({ sql, params }: { sql: string; params: unknown[] }) => db.prepare(sql).all(...params) as Row[];
      // one read transaction: the counts and the senders see the same moment
      return db.transaction(() => summaryOf(run(q.events), run(q.senders)))();
    },
    async repliesMentioning(since, words, top) {
      const q = mentioningQuery(since, words, top, () => '?');
      return mentioningOf(db.prepare(q.sql).all(...q.params) as Row[]);
    },
  };
}
