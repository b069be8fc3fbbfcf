/** The audit trail in SQLite (append only). */
import type { Db } from './db.ts';
import type { AuditRepo } from '../types.ts';
import type { AuditRecord } from '../../core/index.ts';

type Row = Record<string, unknown>;

const parse = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as unknown) : null);

export function createAuditRepo(db: Db): AuditRepo {
  const insert = db.prepare('INSERT INTO audit (at, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)');
  return {
    async add(r) {
      insert.run(
        r.at,
        r.actor,
        r.action,
        r.target,
        r.before === undefined ? null : JSON.stringify(r.before),
        r.after === undefined ? null : JSON.stringify(r.after),
      );
    },
    async list(f = {}) {
      const rows = (
        f.target
          ? db.prepare('SELECT * FROM audit WHERE target = ? ORDER BY id DESC LIMIT ?').all(f.target, f.limit ?? 100)
          : db.prepare('SELECT * FROM audit ORDER BY id DESC LIMIT ?').all(f.limit ?? 100)
      ) as Row[];
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
