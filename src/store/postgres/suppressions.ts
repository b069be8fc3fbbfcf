/** The suppression list in PostgreSQL: one atomic upsert per entry, shared by every node. */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import type { SuppressionRepo } from '../types.ts';
import { SUPPRESSION_SELECT, toSuppression, type Row } from '../rows.ts';
import { suppressionKey } from '../suppression-key.ts';

export function createSuppressionRepo(pool: Pool, _deps: RepoDeps): SuppressionRepo {
  return {
    async add(e) {
      const key = suppressionKey(e.address);
      // one statement: two nodes recording bounces of the same address at once both land
      const { rows } = await pool.query<Row>(
        `WITH up AS (
           INSERT INTO suppressions (customer_id, address_key, address, reason, source, created_at, updated_at, until)
           VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
           ON CONFLICT (customer_id, address_key) DO UPDATE SET
             created_at = CASE WHEN suppressions.until < excluded.updated_at THEN excluded.created_at ELSE suppressions.created_at END,
             address = excluded.address, reason = excluded.reason, source = excluded.source, updated_at = excluded.updated_at,
             until = GREATEST(suppressions.until, excluded.until)
           RETURNING *)
         SELECT up.*, c.name AS customer_name FROM up JOIN customers c ON c.id = up.customer_id`,
        [e.customerId, key, e.address.trim(), e.reason, e.source, e.now, e.until],
      );
      return toSuppression(rows[0]);
    },
    async find(customerId, address, now) {
      const r = (
        await pool.query<Row>(`${SUPPRESSION_SELECT} WHERE s.customer_id = $1 AND s.address_key = $2 AND s.until > $3`, [
          customerId,
          suppressionKey(address),
          now,
        ])
      ).rows[0];
      return r ? toSuppression(r) : null;
    },
    async list(f = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      const param = (v: unknown) => (params.push(v), `$${params.length}`);
      if (f.customerId !== undefined) where.push(`s.customer_id = ${param(f.customerId)}`);
      if (f.address !== undefined) where.push(`s.address_key = ${param(suppressionKey(f.address))}`);
      if (f.now !== undefined) where.push(`s.until > ${param(f.now)}`);
      const sql = `${SUPPRESSION_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY s.updated_at DESC, s.address_key COLLATE "C" LIMIT ${param(f.limit ?? 1000)}`;
      return (await pool.query<Row>(sql, params)).rows.map(toSuppression);
    },
    async remove(customerId, address) {
      return (
        ((await pool.query('DELETE FROM suppressions WHERE customer_id = $1 AND address_key = $2', [customerId, suppressionKey(address)]))
          .rowCount ?? 0) > 0
      );
    },
    async prune(now) {
      return (await pool.query('DELETE FROM suppressions WHERE until <= $1', [now])).rowCount ?? 0;
    },
  };
}
