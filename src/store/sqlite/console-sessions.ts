/** Sign-in sessions of the web console in SQLite (only the SHA-256 of a session's cookie is stored). */
import type { Db } from './db.ts';
import type { ConsoleSessionRepo } from '../types.ts';
import { CONSOLE_SESSION_SELECT, toConsoleSession, type Row } from '../rows.ts';

export function createConsoleSessionRepo(db: Db): ConsoleSessionRepo {
  const byHash = db.prepare(`${CONSOLE_SESSION_SELECT} WHERE s.id_hash = ?`);
  const one = (idHash: string) => {
    const r = byHash.get(idHash) as Row | undefined;
    return r ? toConsoleSession(r) : null;
  };
  return {
    async add(s) {
      db.prepare(
        'INSERT INTO console_sessions (id_hash, via, subject, customer_id, csrf, created_at, seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(s.idHash, s.via, s.subject, s.customerId, s.csrf, s.createdAt, s.seenAt, s.expiresAt);
      return one(s.idHash)!;
    },
    get: async (idHash) => one(idHash),
    async touch(idHash, now, minIntervalMs) {
      return (
        db.prepare('UPDATE console_sessions SET seen_at = ? WHERE id_hash = ? AND seen_at < ?').run(now, idHash, now - minIntervalMs)
          .changes > 0
      );
    },
    async remove(idHash) {
      return db.prepare('DELETE FROM console_sessions WHERE id_hash = ?').run(idHash).changes > 0;
    },
    async removeSubject(via, subject, keepHash) {
      return db
        .prepare('DELETE FROM console_sessions WHERE via = ? AND subject = ? AND id_hash IS NOT ?')
        .run(via, subject, keepHash ?? null).changes;
    },
    async prune(now, idleBefore) {
      return db.prepare('DELETE FROM console_sessions WHERE expires_at <= ? OR seen_at < ?').run(now, idleBefore).changes;
    },
  };
}
