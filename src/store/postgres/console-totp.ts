/** The console's second factor (TOTP) in PostgreSQL: each change is one statement (or one transaction), so two nodes cannot accept one code twice. */
import { tx, type Pool } from './db.ts';
import type { ConsoleTotpRepo } from '../types.ts';
import { toConsoleTotp, type Row } from '../rows.ts';

export function createConsoleTotpRepo(pool: Pool): ConsoleTotpRepo {
  const changed = async (sql: string, params: unknown[]) => ((await pool.query(sql, params)).rowCount ?? 0) > 0;
  return {
    async get(via, subject) {
      const r = (await pool.query<Row>('SELECT * FROM console_totp WHERE via = $1 AND subject = $2', [via, subject])).rows[0];
      if (!r) return null;
      const h = await pool.query<{ hash: string }>('SELECT hash FROM console_totp_recovery WHERE via = $1 AND subject = $2', [
        via,
        subject,
      ]);
      return toConsoleTotp(
        r,
        h.rows.map((x) => x.hash),
      );
    },
    begin: (via, subject, secret, now) =>
      changed(
        `INSERT INTO console_totp (via, subject, secret, confirmed_at, last_step, created_at) VALUES ($1, $2, $3, NULL, 0, $4)
      ON CONFLICT (via, subject) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at WHERE console_totp.confirmed_at IS NULL`,
        [via, subject, secret, now],
      ),
    confirm: (via, subject, recovery, step, now) =>
      tx(pool, async (c) => {
        const done =
          ((
            await c.query(
              'UPDATE console_totp SET confirmed_at = $1, last_step = $2 WHERE via = $3 AND subject = $4 AND confirmed_at IS NULL',
              [now, step, via, subject],
            )
          ).rowCount ?? 0) > 0;
        if (!done) return false;
        await c.query('DELETE FROM console_totp_recovery WHERE via = $1 AND subject = $2', [via, subject]);
        if (recovery.length)
          await c.query('INSERT INTO console_totp_recovery (via, subject, hash) SELECT $1, $2, unnest($3::text[])', [
            via,
            subject,
            recovery,
          ]);
        return true;
      }),
    useStep: (via, subject, step) =>
      changed('UPDATE console_totp SET last_step = $1 WHERE via = $2 AND subject = $3 AND confirmed_at IS NOT NULL AND last_step < $1', [
        step,
        via,
        subject,
      ]),
    useRecovery: (via, subject, hash) =>
      changed('DELETE FROM console_totp_recovery WHERE via = $1 AND subject = $2 AND hash = $3', [via, subject, hash]),
    remove: (via, subject) => changed('DELETE FROM console_totp WHERE via = $1 AND subject = $2', [via, subject]),
  };
}
