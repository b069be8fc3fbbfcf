/** DKIM keys in PostgreSQL (removed with their domain); a promotion locks its domain's row. */
import { tx, type Client, type Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import type { DkimKeyRepo } from '../types.ts';
import type { DkimKey, DkimKeyState } from '../../core/index.ts';

type Row = Record<string, unknown>;

const SELECT = 'SELECT k.*, d.name AS domain FROM dkim_keys k JOIN domains d ON d.id = k.domain_id';

const toKey = (r: Row): DkimKey => ({
  id: r.id as number,
  domainId: r.domain_id as number,
  domain: r.domain as string,
  selector: r.selector as string,
  algorithm: r.algorithm as DkimKey['algorithm'],
  privateKey: r.private_key as string,
  publicKey: r.public_key as string,
  state: r.state as DkimKeyState,
  createdAt: r.created_at as number,
  activatedAt: (r.activated_at as number | null) ?? null,
  retiringAt: (r.retiring_at as number | null) ?? null,
  retiredAt: (r.retired_at as number | null) ?? null,
});

/** Moves a key to $1 stamping the column of that state with $2 (pending: created_at), if it is in one of $4. */
const SET_STATE = `UPDATE dkim_keys SET state = $1,
    created_at = CASE WHEN $1 = 'pending' THEN $2 ELSE created_at END,
    activated_at = CASE WHEN $1 = 'active' THEN $2 ELSE activated_at END,
    retiring_at = CASE WHEN $1 = 'retiring' THEN $2 ELSE retiring_at END,
    retired_at = CASE WHEN $1 = 'retired' THEN $2 ELSE retired_at END
  WHERE id = $3 AND state = ANY($4::text[])`;

/**
 * The promotion, inside a transaction. Two nodes promoting keys of one domain at once take turns
 * on the domain's row lock; each statement after it sees what the other committed, so the second
 * finds its key no longer pending (the same key) or retires the key the first made active.
 */
async function promote(c: Client, id: number, t: number): Promise<DkimKey[] | null> {
  const found = (await c.query<{ domain_id: number }>('SELECT domain_id FROM dkim_keys WHERE id = $1', [id])).rows[0];
  if (!found) return null;
  // NO KEY UPDATE: excludes another promotion, not the inserts of rows that refer to the domain
  await c.query('SELECT id FROM domains WHERE id = $1 FOR NO KEY UPDATE', [found.domain_id]);
  const k = (await c.query<Row>(`${SELECT} WHERE k.id = $1 AND k.state = 'pending' FOR UPDATE OF k`, [id])).rows[0];
  if (!k) return null;
  const { rows } = await c.query<Row>(
    `${SELECT} WHERE k.domain_id = $1 AND k.algorithm = $2 AND k.state = 'active' ORDER BY k.id FOR UPDATE OF k`,
    [k.domain_id, k.algorithm],
  );
  await c.query("UPDATE dkim_keys SET state = 'retiring', retiring_at = $1 WHERE domain_id = $2 AND algorithm = $3 AND state = 'active'", [
    t,
    k.domain_id,
    k.algorithm,
  ]);
  await c.query("UPDATE dkim_keys SET state = 'active', activated_at = $1 WHERE id = $2", [t, id]);
  return rows.map(toKey);
}

export function createDkimKeyRepo(pool: Pool, deps: RepoDeps): DkimKeyRepo {
  return {
    async promote(id, t) {
      const old = await tx(pool, (c) => promote(c, id, t));
      if (old) deps.changed('dkim');
      return old;
    },
    async add(k) {
      const t = deps.now();
      const { rows } = await pool.query<Row>(
        `WITH k AS (
           INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key, public_key, state, created_at, activated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *)
         SELECT k.*, d.name AS domain FROM k JOIN domains d ON d.id = k.domain_id`,
        [k.domainId, k.selector, k.algorithm, k.privateKey, k.publicKey, k.state, t, k.state === 'active' ? t : null],
      );
      deps.changed('dkim');
      return toKey(rows[0]);
    },
    async list(domain) {
      return (await pool.query<Row>(`${SELECT} WHERE d.name = $1 ORDER BY k.created_at DESC, k.id DESC`, [domain])).rows.map(toKey);
    },
    async inStates(states) {
      const sql = `${SELECT} WHERE k.state = ANY($1::text[]) ORDER BY d.name COLLATE "C", k.id`;
      return (await pool.query<Row>(sql, [states])).rows.map(toKey);
    },
    async setState(id, to, from, t) {
      const changed = ((await pool.query(SET_STATE, [to, t, id, from])).rowCount ?? 0) > 0;
      if (changed) deps.changed('dkim');
      return changed;
    },
  };
}
