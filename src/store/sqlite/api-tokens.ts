/** Tokens of the admin HTTP API in SQLite (only their SHA-256 is stored). */
import type { Db } from './db.ts';
import { StoreError, type ApiTokenRepo } from '../types.ts';
import type { ApiToken, CustomerStatus } from '../../core/index.ts';
import { CUSTOMER_OF } from '../rows.ts';

type Row = Record<string, unknown>;

const SELECT = `SELECT t.*, ${CUSTOMER_OF} FROM api_tokens t LEFT JOIN customers c ON c.id = t.customer_id`;

const toToken = (r: Row): ApiToken => ({
  id: r.id as number,
  name: r.name as string,
  customerId: (r.customer_id as number | null) ?? null,
  customerName: (r.customer_name as string | null) ?? null,
  customerStatus: (r.customer_status as CustomerStatus | null) ?? null,
  createdAt: r.created_at as number,
  lastUsedAt: (r.last_used_at as number | null) ?? null,
  revokedAt: (r.revoked_at as number | null) ?? null,
});

export function createApiTokenRepo(db: Db, now: () => number): ApiTokenRepo {
  const byName = db.prepare(`${SELECT} WHERE t.name = ?`);
  const byHash = db.prepare(`${SELECT} WHERE t.token_hash = ?`);
  const one = (r: unknown) => (r ? toToken(r as Row) : null);
  return {
    async add(input) {
      try {
        db.prepare('INSERT INTO api_tokens (name, customer_id, token_hash, created_at) VALUES (?, ?, ?, ?)').run(
          input.name,
          input.customerId,
          input.tokenHash,
          now(),
        );
      } catch (err) {
        if (/UNIQUE.*api_tokens\.name/.test((err as Error).message))
          throw new StoreError('conflict', `a token named ${input.name} already exists`);
        throw err;
      }
      return one(byName.get(input.name))!;
    },
    get: async (name) => one(byName.get(name)),
    byHash: async (hash) => one(byHash.get(hash)),
    list: async () => (db.prepare(`${SELECT} ORDER BY t.name`).all() as Row[]).map(toToken),
    async revoke(name, t) {
      return db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(t, name).changes > 0;
    },
    async touch(id, t, minIntervalMs) {
      return (
        db
          .prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)')
          .run(t, id, t - minIntervalMs).changes > 0
      );
    },
  };
}
