/** Sender grants in SQLite (removed with their mailbox). */
import type { Db } from './db.ts';
import type { GrantRepo } from '../types.ts';
import type { GrantKind, SenderGrant } from '../../core/index.ts';

type Row = Record<string, unknown>;

export function createGrantRepo(db: Db, now: () => number): GrantRepo {
  const insert = db.prepare('INSERT OR IGNORE INTO sender_grants (mailbox_id, kind, value, created_at) VALUES (?, ?, ?, ?)');
  const del = db.prepare('DELETE FROM sender_grants WHERE mailbox_id = ? AND kind = ? AND value = ?');
  const byMailbox = db.prepare('SELECT * FROM sender_grants WHERE mailbox_id = ? ORDER BY kind, value');
  return {
    async add(g) {
      return insert.run(g.mailboxId, g.kind, g.value, now()).changes > 0;
    },
    async remove(g) {
      return del.run(g.mailboxId, g.kind, g.value).changes > 0;
    },
    async list(mailboxId) {
      return (byMailbox.all(mailboxId) as Row[]).map(
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
