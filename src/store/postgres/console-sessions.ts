/** Sign-in sessions of the web console in PostgreSQL (only the SHA-256 of a session's cookie is stored; each change is one statement). */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import type { ConsoleSessionRepo } from '../types.ts';
import { CONSOLE_SESSION_SELECT, toConsoleSession, type Row } from '../rows.ts';

export function createConsoleSessionRepo(pool: Pool, _deps: RepoDeps): ConsoleSessionRepo {
  const one = async (idHash: string) => {
    const r = (await pool.query<Row>(`${CONSOLE_SESSION_SELECT} WHERE s.id_hash = $1`, [idHash])).rows[0];
    return r ? toConsoleSession(r) : null;
  };
  const changed = async (sql: string, params: unknown[]) => (await pool.query(sql, params)).rowCount ?? 0;
  return {
    async add(s) {
      await pool.query(
        'INSERT INTO console_sessions (id_hash, via, subject, customer_id, csrf, created_at, seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [s.idHash, s.via, s.subject, s.customerId, s.csrf, s.createdAt, s.seenAt, s.expiresAt],
      );
      return (await one(s.idHash))!;
    },
    get: (idHash) => one(idHash),
    touch: async (idHash, now, minIntervalMs) =>
      (await changed('UPDATE console_sessions SET seen_at = $1 WHERE id_hash = $2 AND seen_at < $3', [now, idHash, now - minIntervalMs])) >
      0,
    remove: async (idHash) => (await changed('DELETE FROM console_sessions WHERE id_hash = $1', [idHash])) > 0,
    removeSubject: (via, subject, keepHash) =>
      changed('DELETE FROM console_sessions WHERE via = $1 AND subject = $2 AND id_hash IS DISTINCT FROM $3', [
        via,
        subject,
        keepHash ?? null,
      ]),
    prune: (now, idleBefore) => changed('DELETE FROM console_sessions WHERE expires_at <= $1 OR seen_at < $2', [now, idleBefore]),
  };
}
