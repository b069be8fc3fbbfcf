/** Webhook endpoints and their durable outbox in SQLite (claims run in one immediate transaction). */
import type { Db } from './db.ts';
import type { CustomerScope, WebhookRepo } from '../types.ts';
import type { WebhookJob } from '../../core/index.ts';
import { eventsColumn, toDelivery, toEndpoint } from '../webhook-rows.ts';

type Row = Record<string, unknown>;

const ENDPOINT = 'SELECT e.*, c.name AS customer_name FROM webhook_endpoints e JOIN customers c ON c.id = e.customer_id';
const DELIVERY = `SELECT d.*, c.name AS customer_name, e.url, e.secret FROM webhook_deliveries d
  JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN customers c ON c.id = e.customer_id`;

/** " AND e.customer_id = ?" and its argument when scoped. */
const scoped = (scope: CustomerScope | undefined, col = 'e.customer_id') =>
  scope?.customerId === undefined ? { sql: '', args: [] as unknown[] } : { sql: ` AND ${col} = ?`, args: [scope.customerId] as unknown[] };

export function createWebhookRepo(db: Db, now: () => number): WebhookRepo {
  const one = (id: string, scope?: CustomerScope) => {
    const s = scoped(scope);
    const r = db.prepare(`${ENDPOINT} WHERE e.id = ?${s.sql}`).get(id, ...s.args) as Row | undefined;
    return r ? toEndpoint(r) : null;
  };
  const toSubscribers =
    db.prepare(`INSERT OR IGNORE INTO webhook_deliveries (endpoint_id, event_id, event_type, event_at, data, next_attempt_at, created_at)
    SELECT id, ?, ?, ?, ?, ?, ? FROM webhook_endpoints WHERE customer_id = ? AND enabled = 1 AND events LIKE ?`);
  const toEndpointOnly =
    db.prepare(`INSERT OR IGNORE INTO webhook_deliveries (endpoint_id, event_id, event_type, event_at, data, next_attempt_at, created_at)
    SELECT id, ?, ?, ?, ?, ?, ? FROM webhook_endpoints WHERE customer_id = ? AND id = ?`);
  const endpointCustomers = db.prepare('SELECT DISTINCT customer_id FROM webhook_endpoints WHERE enabled = 1').pluck();
  const enqueue = db.transaction((events: Parameters<WebhookRepo['enqueue']>[0], t: number) => {
    let added = 0;
    for (const e of events) {
      const common = [e.id, e.type, e.at, JSON.stringify(e.data), t, t, e.customerId];
      added += (e.endpointId ? toEndpointOnly.run(...common, e.endpointId) : toSubscribers.run(...common, `%,${e.type},%`)).changes;
    }
    return added;
  });
  const claim = db.transaction((o: { owner: string; now: number; leaseMs: number; limit: number }): WebhookJob[] => {
    const ids = db
      .prepare(`SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
      WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND e.enabled = 1 ORDER BY d.next_attempt_at, d.id LIMIT ?`)
      .pluck()
      .all(o.now, o.limit) as number[];
    const until = o.now + o.leaseMs;
    const lease = db.prepare('UPDATE webhook_deliveries SET next_attempt_at = ?, lease_owner = ? WHERE id = ?');
    for (const id of ids) lease.run(until, o.owner, id);
    return ids.map((id) => {
      const r = db.prepare(`${DELIVERY} WHERE d.id = ?`).get(id) as Row;
      return { ...toDelivery(r), url: r.url as string, secret: r.secret as string, lease: { owner: o.owner, until } };
    });
  });
  return {
    async addEndpoint(e) {
      const t = now();
      db.prepare(
        'INSERT INTO webhook_endpoints (id, customer_id, url, secret, events, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)',
      ).run(e.id, e.customerId, e.url, e.secret, eventsColumn(e.events), t, t);
      return one(e.id)!;
    },
    endpoint: async (id, scope) => one(id, scope),
    async endpoints(scope) {
      const s = scoped(scope);
      return (db.prepare(`${ENDPOINT} WHERE 1 = 1${s.sql} ORDER BY e.created_at, e.id`).all(...s.args) as Row[]).map(toEndpoint);
    },
    async updateEndpoint(id, change, scope) {
      if (!one(id, scope)) return null;
      if (change.secret !== undefined)
        db.prepare('UPDATE webhook_endpoints SET secret = ?, updated_at = ? WHERE id = ?').run(change.secret, now(), id);
      if (change.enabled !== undefined)
        db.prepare('UPDATE webhook_endpoints SET enabled = ?, updated_at = ? WHERE id = ?').run(change.enabled ? 1 : 0, now(), id);
      return one(id, scope);
    },
    async removeEndpoint(id, scope) {
      const s = scoped(scope, 'customer_id');
      return db.prepare(`DELETE FROM webhook_endpoints WHERE id = ?${s.sql}`).run(id, ...s.args).changes > 0;
    },
    async enqueue(events, t) {
      // Most customers have no endpoint: their events are dropped after a read, so the usual
      // batch takes no write lock here on the event loop (where waiting for the queue writer's
      // commit would stall every session).
      const subscribed = new Set(endpointCustomers.all() as number[]);
      const kept = events.filter((e) => e.endpointId || subscribed.has(e.customerId));
      return kept.length ? enqueue.immediate(kept, t) : 0;
    },
    claim: async (o) => claim.immediate(o),
    async record(r) {
      return (
        db
          .prepare(`UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?, next_attempt_at = ?, lease_owner = NULL,
          last_status = ?, last_error = ?, last_attempt_at = ?, delivered_at = ?
        WHERE id = ? AND state = 'pending' AND lease_owner = ? AND next_attempt_at = ?`)
          .run(
            r.state,
            r.state === 'pending' ? r.nextAttemptAt : r.at,
            r.status,
            r.error,
            r.at,
            r.state === 'delivered' ? r.at : null,
            r.id,
            r.lease.owner,
            r.lease.until,
          ).changes > 0
      );
    },
    async releaseLeases(owner, t) {
      return db
        .prepare("UPDATE webhook_deliveries SET next_attempt_at = ?, lease_owner = NULL WHERE lease_owner = ? AND state = 'pending'")
        .run(t, owner).changes;
    },
    async log(filter = {}) {
      const s = scoped(filter);
      const byEndpoint = filter.endpointId === undefined ? '' : ' AND d.endpoint_id = ?';
      const args = [...s.args, ...(filter.endpointId === undefined ? [] : [filter.endpointId]), filter.limit ?? 100];
      return (db.prepare(`${DELIVERY} WHERE 1 = 1${s.sql}${byEndpoint} ORDER BY d.id DESC LIMIT ?`).all(...args) as Row[]).map(toDelivery);
    },
    async prune(before) {
      return db.prepare("DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'failed') AND created_at < ?").run(before).changes;
    },
  };
}
