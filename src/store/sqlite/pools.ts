/** Egress pool assignments in SQLite. */
import type { Db } from './db.ts';
import type { PoolRepo } from '../types.ts';
import { mostSpecificPool, POOL_ASSIGNMENT_SELECT, toPoolAssignment, type Row } from '../rows.ts';

export function createPoolRepo(db: Db, now: () => number): PoolRepo {
  const one = db.prepare(`${POOL_ASSIGNMENT_SELECT} WHERE p.kind = ? AND p.name = ?`);
  const applying = db.prepare(
    `SELECT kind, pool FROM pool_assignments WHERE customer_id = ?
       AND (kind = 'customer' OR (kind = 'domain' AND name = ?) OR (kind = 'site' AND site_id = ?))`,
  );
  const get = (kind: string, name: string) => {
    const r = one.get(kind, name) as Row | undefined;
    return r ? toPoolAssignment(r) : null;
  };
  return {
    async assign({ kind, name, customerId, domainId = null, siteId = null, pool }) {
      const t = now();
      db.prepare(
        `INSERT INTO pool_assignments (kind, name, customer_id, domain_id, site_id, pool, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (kind, name) DO UPDATE SET customer_id = excluded.customer_id, domain_id = excluded.domain_id, site_id = excluded.site_id,
           pool = excluded.pool, updated_at = excluded.updated_at`,
      ).run(kind, name, customerId, domainId, siteId, pool, t, t);
      return get(kind, name)!;
    },
    async unassign(kind, name) {
      return db.prepare('DELETE FROM pool_assignments WHERE kind = ? AND name = ?').run(kind, name).changes > 0;
    },
    async get(kind, name) {
      return get(kind, name);
    },
    async list(filter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.pool !== undefined) {
        where.push('p.pool = ?');
        params.push(filter.pool);
      }
      if (filter.customerId !== undefined) {
        where.push('p.customer_id = ?');
        params.push(filter.customerId);
      }
      const sql = `${POOL_ASSIGNMENT_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY p.kind, p.name`;
      return (db.prepare(sql).all(...params) as Row[]).map(toPoolAssignment);
    },
    async poolFor(m) {
      return mostSpecificPool(applying.all(m.customerId, m.senderDomain ?? '', m.siteId ?? -1) as { kind: string; pool: string }[]);
    },
  };
}
