/** App passwords of mailboxes in PostgreSQL (only their SHA-256 is stored; each change is one statement). */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import { StoreError, type AppPasswordRepo } from '../types.ts';
import { toAppPassword, type Row } from '../rows.ts';

export function createAppPasswordRepo(pool: Pool, deps: RepoDeps): AppPasswordRepo {
  return {
    async add({ mailboxId, name, tokenHash }) {
      try {
        const r = await pool.query<Row>(
          'INSERT INTO app_passwords (mailbox_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING *',
          [mailboxId, name, tokenHash, deps.now()],
        );
        return toAppPassword(r.rows[0]!);
      } catch (err) {
        const e = err as { code?: string; constraint?: string };
        if (e.code === '23505' && e.constraint === 'app_passwords_mailbox_id_name_key')
          throw new StoreError('conflict', `an app password named ${name} already exists`);
        throw err;
      }
    },
    list: async (mailboxId) =>
      (await pool.query<Row>('SELECT * FROM app_passwords WHERE mailbox_id = $1 ORDER BY created_at, id', [mailboxId])).rows.map(
        toAppPassword,
      ),
    async byHash(mailboxId, tokenHash) {
      const r = (await pool.query<Row>('SELECT * FROM app_passwords WHERE mailbox_id = $1 AND token_hash = $2', [mailboxId, tokenHash]))
        .rows[0];
      return r ? toAppPassword(r) : null;
    },
    async revoke(mailboxId, name) {
      const gone =
        ((await pool.query('DELETE FROM app_passwords WHERE mailbox_id = $1 AND name = $2', [mailboxId, name])).rowCount ?? 0) > 0;
      if (gone) deps.changed('mailboxes');
      return gone;
    },
    async used(id, t, ip) {
      await pool.query('UPDATE app_passwords SET last_used_at = $1, last_ip = $2 WHERE id = $3', [t, ip, id]);
    },
  };
}
