/** DNS blocklist results of egress addresses in PostgreSQL. */
import type { Pool } from './db.ts';
import type { BlocklistRepo } from '../types.ts';
import type { BlocklistResult } from '../../core/index.ts';
import { nextBlocklistRow, toBlocklistResult, type Row } from '../rows.ts';

const ALL = 'SELECT * FROM blocklist_results ORDER BY pool COLLATE "C", address COLLATE "C", zone COLLATE "C"';

export function createBlocklistRepo(pool: Pool): BlocklistRepo {
  return {
    async record(results) {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        // one writer at a time, so "newly listed" is told once even with several nodes checking
        await c.query('LOCK TABLE blocklist_results IN SHARE ROW EXCLUSIVE MODE');
        const before = new Map((await c.query<Row>(ALL)).rows.map(toBlocklistResult).map((r) => [`${r.address} ${r.zone}`, r]));
        const fresh: BlocklistResult[] = [];
        for (const r of results) {
          const old = before.get(`${r.address} ${r.zone}`);
          const next = nextBlocklistRow(old, r);
          await c.query(
            `INSERT INTO blocklist_results (address, zone, pool, listed, codes, meaning, checked_at, listed_since) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (address, zone) DO UPDATE SET pool = excluded.pool, listed = excluded.listed, codes = excluded.codes,
               meaning = excluded.meaning, checked_at = excluded.checked_at, listed_since = excluded.listed_since`,
            [next.address, next.zone, next.pool, next.listed ? 1 : 0, next.codes.join(','), next.meaning, next.checkedAt, next.listedSince],
          );
          if (next.listed && !old?.listed) fresh.push(next);
        }
        await c.query('COMMIT');
        return fresh;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    },
    list: async () => (await pool.query<Row>(ALL)).rows.map(toBlocklistResult),
  };
}
