/**
 * Webhook endpoints and their durable outbox in PostgreSQL: events go in with one INSERT ...
 * SELECT (duplicates of an event for an endpoint are ignored), deliveries are claimed with FOR
 * UPDATE SKIP LOCKED and a lease, so several nodes never send the same one at once.
 */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import type { CustomerScope, WebhookRepo } from '../types.ts';
import type { WebhookJob } from '../../core/index.ts';
import { eventsColumn, toDelivery, toEndpoint } from '../webhook-rows.ts';

type Row = Record<string, unknown>;

const ENDPOINT = 'SELECT e.*, c.name AS customer_name FROM webhook_endpoints e JOIN customers c ON c.id = e.customer_id';
const DELIVERY = `SELECT d.*, c.name AS customer_name, e.url, e.secret FROM webhook_deliveries d
  JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN customers c ON c.id = e.customer_id`;

/** Conditions and parameters, numbered from $1. */
class Where {
  readonly parts: string[] = ['TRUE'];
  readonly args: unknown[] = [];
  add(sql: (n: string) => string, arg: unknown): this {
    this.args.push(arg);
    this.parts.push(sql(`$${this.args.length}`));
    return this;
  }
  scope(s: CustomerScope | undefined, col = 'e.customer_id'): this {
    return s?.customerId === undefined ? this : this.add((n) => `${col} = ${n}`, s.customerId);
  }
  get sql(): string {
    return this.parts.join(' AND ');
  }
  get next(): string {
    return `$${this.args.length + 1}`;
  }
}

export function createWebhookRepo(pool: Pool, deps: RepoDeps): WebhookRepo {
  const one = async (id: string, scope?: CustomerScope) => {
    const w = new Where().add((n) => `e.id = ${n}`, id).scope(scope);
    const r = (await pool.query<Row>(`${ENDPOINT} WHERE ${w.sql}`, w.args)).rows[0];
    return r ? toEndpoint(r) : null;
  };
  return {
    async addEndpoint(e) {
      await pool.query(
        'INSERT INTO webhook_endpoints (id, customer_id, url, secret, events, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6, $6)',
        [e.id, e.customerId, e.url, e.secret, eventsColumn(e.events), deps.now()],
      );
      return (await one(e.id))!;
    },
    endpoint: (id, scope) => one(id, scope),
    async endpoints(scope) {
      const w = new Where().scope(scope);
      return (await pool.query<Row>(`${ENDPOINT} WHERE ${w.sql} ORDER BY e.created_at, e.id`, w.args)).rows.map(toEndpoint);
    },
    async updateEndpoint(id, change, scope) {
      const w = new Where().add((n) => `id = ${n}`, id).scope(scope, 'customer_id');
      const sets = [`updated_at = ${w.next}`];
      w.args.push(deps.now());
      if (change.secret !== undefined) {
        w.args.push(change.secret);
        sets.push(`secret = $${w.args.length}`);
      }
      if (change.enabled !== undefined) {
        w.args.push(change.enabled);
        sets.push(`enabled = $${w.args.length}`);
      }
      const { rowCount } = await pool.query(`UPDATE webhook_endpoints SET ${sets.join(', ')} WHERE ${w.sql}`, w.args);
      return rowCount ? one(id, scope) : null;
    },
    async removeEndpoint(id, scope) {
      const w = new Where().add((n) => `id = ${n}`, id).scope(scope, 'customer_id');
      return ((await pool.query(`DELETE FROM webhook_endpoints WHERE ${w.sql}`, w.args)).rowCount ?? 0) > 0;
    },
    async enqueue(events, t) {
      if (!events.length) return 0;
      // one statement for the whole batch: every event joined with the endpoints it goes to
      const { rowCount } = await pool.query(
        `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, event_at, data, next_attempt_at, created_at)
         SELECT e.id, v.event_id, v.event_type, v.event_at, v.data, $6, $6
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $7::text[])
           AS v(event_id, event_type, event_at, data, customer_id, endpoint_id)
         JOIN webhook_endpoints e ON e.customer_id = v.customer_id
           AND (CASE WHEN v.endpoint_id IS NULL THEN e.enabled AND e.events LIKE '%,' || v.event_type || ',%' ELSE e.id = v.endpoint_id END)
         ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
        [
          events.map((e) => e.id),
          events.map((e) => e.type),
          events.map((e) => e.at),
          events.map((e) => JSON.stringify(e.data)),
          events.map((e) => e.customerId),
          t,
          events.map((e) => e.endpointId ?? null),
        ],
      );
      return rowCount ?? 0;
    },
    async claim(o) {
      const until = o.now + o.leaseMs;
      const { rows } = await pool.query<Row>(
        `WITH due AS (
           SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
           WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND e.enabled
           ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED
         ), leased AS (
           UPDATE webhook_deliveries d SET next_attempt_at = $3, lease_owner = $4 FROM due WHERE d.id = due.id RETURNING d.id
         )
         ${DELIVERY} JOIN leased l ON l.id = d.id ORDER BY d.id`,
        [o.now, o.limit, until, o.owner],
      );
      // the outer SELECT sees the rows as they were before the UPDATE: the lease is ours
      return rows.map(
        (r): WebhookJob => ({
          ...toDelivery({ ...r, next_attempt_at: until, lease_owner: o.owner }),
          url: r.url as string,
          secret: r.secret as string,
          lease: { owner: o.owner, until },
        }),
      );
    },
    async record(r) {
      const { rowCount } = await pool.query(
        `UPDATE webhook_deliveries SET attempts = attempts + 1, state = $1, next_attempt_at = $2, lease_owner = NULL,
           last_status = $3, last_error = $4, last_attempt_at = $5, delivered_at = $6
         WHERE id = $7 AND state = 'pending' AND lease_owner = $8 AND next_attempt_at = $9`,
        [
          r.state,
          r.state === 'pending' ? r.nextAttemptAt : r.at,
          r.status,
          r.error,
          r.at,
          r.state === 'delivered' ? r.at : null,
          r.id,
          r.lease.owner,
          r.lease.until,
        ],
      );
      return (rowCount ?? 0) > 0;
    },
    async releaseLeases(owner, t) {
      const { rowCount } = await pool.query(
        "UPDATE webhook_deliveries SET next_attempt_at = $1, lease_owner = NULL WHERE lease_owner = $2 AND state = 'pending'",
        [t, owner],
      );
      return rowCount ?? 0;
    },
    async log(filter = {}) {
      const w = new Where().scope(filter);
      if (filter.endpointId !== undefined) w.add((n) => `d.endpoint_id = ${n}`, filter.endpointId);
      const limit = w.next;
      return (
        await pool.query<Row>(`${DELIVERY} WHERE ${w.sql} ORDER BY d.id DESC LIMIT ${limit}`, [...w.args, filter.limit ?? 100])
      ).rows.map(toDelivery);
    },
    async prune(before) {
      const { rowCount } = await pool.query("DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'failed') AND created_at < $1", [
        before,
      ]);
      return rowCount ?? 0;
    },
  };
}
