/** The audit trail in PostgreSQL (append only; before and after kept as JSON text, as in SQLite). */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import type { AuditRepo } from '../types.ts';
import type { AuditRecord } from '../../core/index.ts';

type Row = Record<string, unknown>;

const parse = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as unknown) : null);
const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

export function createAuditRepo(pool: Pool, _deps: RepoDeps): AuditRepo {
  return {
    async add(r) {
      await pool.query('INSERT INTO audit (at, actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6)', [
        r.at,
        r.actor,
        r.action,
        r.target,
        json(r.before),
        json(r.after),
      ]);
    },
    async list(f = {}) {
      const limit = (f.limit ?? 100) < 0 ? null : (f.limit ?? 100); // negative: no limit, as in SQLite
      const { rows } = f.target
        ? await pool.query<Row>('SELECT * FROM audit WHERE target = $1 ORDER BY id DESC LIMIT $2', [f.target, limit])
        : await pool.query<Row>('SELECT * FROM audit ORDER BY id DESC LIMIT $1', [limit]);
      return rows.map(
        (r): AuditRecord => ({
          id: r.id as number,
          at: r.at as number,
          actor: r.actor as string,
          action: r.action as string,
          target: r.target as string,
          before: parse(r.before),
          after: parse(r.after),
        }),
      );
    },
  };
}
