/** App passwords of mailboxes in SQLite (only their SHA-256 is stored). */
import type { Db } from './db.ts';
import { StoreError, type AppPasswordRepo } from '../types.ts';
import { toAppPassword, type Row } from '../rows.ts';

export function createAppPasswordRepo(db: Db, now: () => number): AppPasswordRepo {
  const byName = db.prepare('SELECT * FROM app_passwords WHERE mailbox_id = ? AND name = ?');
  return {
    async add({ mailboxId, name, tokenHash }) {
      try {
        db.prepare('INSERT INTO app_passwords (mailbox_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)').run(
          mailboxId,
          name,
          tokenHash,
          now(),
        );
      } catch (err) {
        if (/UNIQUE.*app_passwords\.mailbox_id/.test((err as Error).message))
          throw new StoreError('conflict', `an app password named ${name} already exists`);
        throw err;
      }
      return toAppPassword(byName.get(mailboxId, name) as Row);
    },
    list: async (mailboxId) =>
      (db.prepare('SELECT * FROM app_passwords WHERE mailbox_id = ? ORDER BY created_at, id').all(mailboxId) as Row[]).map(toAppPassword),
    async byHash(mailboxId, tokenHash) {
      const r = db.prepare('SELECT * FROM app_passwords WHERE mailbox_id = ? AND token_hash = ?').get(mailboxId, tokenHash) as
        | Row
        | undefined;
      return r ? toAppPassword(r) : null;
    },
    revoke: async (mailboxId, name) =>
      db.prepare('DELETE FROM app_passwords WHERE mailbox_id = ? AND name = ?').run(mailboxId, name).changes > 0,
    async used(id, t, ip) {
      db.prepare('UPDATE app_passwords SET last_used_at = ?, last_ip = ? WHERE id = ?').run(t, ip, id);
    },
  };
}
