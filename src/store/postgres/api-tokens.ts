/** Tokens of the admin HTTP API in PostgreSQL (only their SHA-256 is stored; each change is one statement). */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
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

export function createApiTokenRepo(pool: Pool, deps: RepoDeps): ApiTokenRepo {
  const one = async (where: string, arg: unknown) => {
    const r = (await pool.query<Row>(`${SELECT} WHERE ${where}`, [arg])).rows[0];
    return r ? toToken(r) : null;
  };
  return {
    async add(input) {
      try {
        await pool.query('INSERT INTO api_tokens (name, customer_id, token_hash, created_at) VALUES ($1, $2, $3, $4)', [
          input.name,
          input.customerId,
          input.tokenHash,
          deps.now(),
        ]);
      } catch (err) {
        const e = err as { code?: string; constraint?: string };
        if (e.code === '23505' && e.constraint === 'api_tokens_name_key')
          throw new StoreError('conflict', `a token named ${input.name} already exists`);
        throw err;
      }
      return (await one('t.name = $1', input.name))!;
    },
    get: (name) => one('t.name = $1', name),
    byHash: (hash) => one('t.token_hash = $1', hash),
    list: async () => (await pool.query<Row>(`${SELECT} ORDER BY t.name`)).rows.map(toToken),
    async revoke(name, t) {
      return (
        ((await pool.query('UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL', [t, name])).rowCount ?? 0) > 0
      );
    },
    async touch(id, t, minIntervalMs) {
      const r = await pool.query('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)', [
        t,
        id,
        t - minIntervalMs,
      ]);
      return (r.rowCount ?? 0) > 0;
    },
  };
}
