/** The console's second factor (TOTP) in SQLite: the sealed secret, the last accepted step, the recovery codes' hashes. */
import type { Db } from './db.ts';
import type { ConsoleTotpRepo } from '../types.ts';
import { toConsoleTotp, type Row } from '../rows.ts';

export function createConsoleTotpRepo(db: Db): ConsoleTotpRepo {
  const row = db.prepare('SELECT * FROM console_totp WHERE via = ? AND subject = ?');
  const hashes = db.prepare('SELECT hash FROM console_totp_recovery WHERE via = ? AND subject = ?');
  const confirm = db.transaction((via: string, subject: string, recovery: string[], step: number, now: number): boolean => {
    const done =
      db
        .prepare('UPDATE console_totp SET confirmed_at = ?, last_step = ? WHERE via = ? AND subject = ? AND confirmed_at IS NULL')
        .run(now, step, via, subject).changes > 0;
    if (!done) return false;
    db.prepare('DELETE FROM console_totp_recovery WHERE via = ? AND subject = ?').run(via, subject);
    const add = db.prepare('INSERT INTO console_totp_recovery (via, subject, hash) VALUES (?, ?, ?)');
    for (const h of recovery) add.run(via, subject, h);
    return true;
  });
  return {
    async get(via, subject) {
      const r = row.get(via, subject) as Row | undefined;
      return r
        ? toConsoleTotp(
            r,
            (hashes.all(via, subject) as { hash: string }[]).map((x) => x.hash),
          )
        : null;
    },
    async begin(via, subject, secret, now) {
      return (
        db
          .prepare(`INSERT INTO console_totp (via, subject, secret, confirmed_at, last_step, created_at) VALUES (?, ?, ?, NULL, 0, ?)
        ON CONFLICT (via, subject) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at WHERE console_totp.confirmed_at IS NULL`)
          .run(via, subject, secret, now).changes > 0
      );
    },
    confirm: async (via, subject, recovery, step, now) => confirm(via, subject, recovery, step, now),
    async useStep(via, subject, step) {
      return (
        db
          .prepare('UPDATE console_totp SET last_step = ? WHERE via = ? AND subject = ? AND confirmed_at IS NOT NULL AND last_step < ?')
          .run(step, via, subject, step).changes > 0
      );
    },
    async useRecovery(via, subject, hash) {
      return db.prepare('DELETE FROM console_totp_recovery WHERE via = ? AND subject = ? AND hash = ?').run(via, subject, hash).changes > 0;
    },
    async remove(via, subject) {
      return db.prepare('DELETE FROM console_totp WHERE via = ? AND subject = ?').run(via, subject).changes > 0;
    },
  };
}
