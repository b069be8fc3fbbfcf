/** Sender grants in PostgreSQL (removed with their mailbox). */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import type { GrantRepo } from '../types.ts';
import type { GrantKind, SenderGrant } from '../../core/index.ts';

type Row = Record<string, unknown>;

export function createGrantRepo(pool: Pool, deps: RepoDeps): GrantRepo {
  return {
    async add(g) {
      const r = await pool.query(
        'INSERT INTO sender_grants (mailbox_id, kind, value, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [g.mailboxId, g.kind, g.value, deps.now()],
      );
      return (r.rowCount ?? 0) > 0;
    },
    async remove(g) {
      const r = await pool.query('DELETE FROM sender_grants WHERE mailbox_id = $1 AND kind = $2 AND value = $3', [
        g.mailboxId,
        g.kind,
        g.value,
      ]);
      return (r.rowCount ?? 0) > 0;
    },
    async list(mailboxId) {
      const { rows } = await pool.query<Row>(
        'SELECT * FROM sender_grants WHERE mailbox_id = $1 ORDER BY kind COLLATE "C", value COLLATE "C"',
        [mailboxId],
      );
      return rows.map(
        (r): SenderGrant => ({
          mailboxId: r.mailbox_id as number,
          kind: r.kind as GrantKind,
          value: r.value as string,
          createdAt: r.created_at as number,
        }),
      );
    },
  };
}
