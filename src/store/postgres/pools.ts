/** Egress pool assignments in PostgreSQL. */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import type { PoolRepo } from '../types.ts';
import { mostSpecificPool, POOL_ASSIGNMENT_SELECT, toPoolAssignment, type Row } from '../rows.ts';

export function createPoolRepo(pool: Pool, deps: RepoDeps): PoolRepo {
  const get = async (kind: string, name: string) => {
    const r = (await pool.query<Row>(`${POOL_ASSIGNMENT_SELECT} WHERE p.kind = $1 AND p.name = $2`, [kind, name])).rows[0];
    return r ? toPoolAssignment(r) : null;
  };
  return {
    async assign({ kind, name, customerId, domainId = null, siteId = null, pool: poolName }) {
      // replacing keeps the creation time
      await pool.query(
        `INSERT INTO pool_assignments (kind, name, customer_id, domain_id, site_id, pool, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (kind, name) DO UPDATE SET customer_id = excluded.customer_id, domain_id = excluded.domain_id, site_id = excluded.site_id,
           pool = excluded.pool, updated_at = excluded.updated_at`,
        [kind, name, customerId, domainId, siteId, poolName, deps.now()],
      );
      return (await get(kind, name))!;
    },
    async unassign(kind, name) {
      return ((await pool.query('DELETE FROM pool_assignments WHERE kind = $1 AND name = $2', [kind, name])).rowCount ?? 0) > 0;
    },
    get,
    async list(filter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.pool !== undefined) {
        params.push(filter.pool);
        where.push(`p.pool = $${params.length}`);
      }
      if (filter.customerId !== undefined) {
        params.push(filter.customerId);
        where.push(`p.customer_id = $${params.length}`);
      }
      const sql = `${POOL_ASSIGNMENT_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY p.kind, p.name COLLATE "C"`;
      return (await pool.query<Row>(sql, params)).rows.map(toPoolAssignment);
    },
    async poolFor(m) {
      const { rows } = await pool.query<{ kind: string; pool: string }>(
        `SELECT kind, pool FROM pool_assignments WHERE customer_id = $1
           AND (kind = 'customer' OR (kind = 'domain' AND name = $2) OR (kind = 'site' AND site_id = $3))`,
        [m.customerId, m.senderDomain ?? '', m.siteId ?? -1],
      );
      return mostSpecificPool(rows);
    },
  };
}
