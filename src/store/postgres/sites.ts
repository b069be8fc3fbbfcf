/** Sites and their sender grants in PostgreSQL (grants are removed with their site). */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import { StoreError, type SiteRepo } from '../types.ts';
import type { CustomerStatus, Site, SiteGrant } from '../../core/index.ts';
import { CUSTOMER_OF } from '../rows.ts';

type Row = Record<string, unknown>;

const SELECT = `SELECT s.*, ${CUSTOMER_OF} FROM sites s JOIN customers c ON c.id = s.customer_id`;

const toSite = (r: Row): Site => ({
  id: r.id as number,
  name: r.name as string,
  customerId: r.customer_id as number,
  customerName: r.customer_name as string,
  customerStatus: r.customer_status as CustomerStatus,
  unixUser: (r.unix_user as string | null) ?? null,
  heldSince: (r.held_since as number | null) ?? null,
  holdReason: (r.hold_reason as string | null) ?? null,
  releasedAt: (r.released_at as number | null) ?? null,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

/** The conflict a unique violation of sites means (a token hash clash stays a plain error, as in SQLite). */
function conflict(err: unknown, input: { name: string; unixUser: string | null }): StoreError | null {
  const e = err as { code?: string; constraint?: string };
  if (e.code !== '23505') return null;
  if (e.constraint === 'sites_name_key') return new StoreError('conflict', `site ${input.name} already exists`);
  if (e.constraint === 'sites_unix_user_key')
    return new StoreError('conflict', `unix user ${input.unixUser} already belongs to another site`);
  return null;
}

export function createSiteRepo(pool: Pool, deps: RepoDeps): SiteRepo {
  const one = async (where: string, arg: unknown) => {
    const r = (await pool.query<Row>(`${SELECT} WHERE ${where}`, [arg])).rows[0];
    return r ? toSite(r) : null;
  };
  const many = async (sql: string, args: unknown[] = []) => (await pool.query<Row>(sql, args)).rows.map(toSite);
  /** Runs a change; announces it when it changed a row. */
  const change = async (sql: string, args: unknown[]): Promise<boolean> => {
    const changed = ((await pool.query(sql, args)).rowCount ?? 0) > 0;
    if (changed) deps.changed('sites');
    return changed;
  };
  return {
    async add(input) {
      try {
        await pool.query(
          'INSERT INTO sites (name, customer_id, unix_user, token_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)',
          [input.name, input.customerId, input.unixUser, input.tokenHash, deps.now()],
        );
      } catch (err) {
        throw conflict(err, input) ?? err;
      }
      deps.changed('sites');
      return (await one('s.name = $1', input.name))!;
    },
    get: (name) => one('s.name = $1', name),
    byTokenHash: (hash) => one('s.token_hash = $1', hash),
    byId: (id) => one('s.id = $1', id),
    hold: (id, reason, t) =>
      change('UPDATE sites SET held_since = $1, hold_reason = $2 WHERE id = $3 AND held_since IS NULL', [t, reason, id]),
    unhold: (id, t) =>
      change('UPDATE sites SET held_since = NULL, hold_reason = NULL, released_at = $1 WHERE id = $2 AND held_since IS NOT NULL', [t, id]),
    held: () => many(`${SELECT} WHERE s.held_since IS NOT NULL ORDER BY s.held_since, s.id`),
    async spam(id, hourStart) {
      const { rows } = await pool.query<{ spam: number }>(
        `INSERT INTO site_hours (site_id, hour_start, spam) VALUES ($1, $2, 1)
         ON CONFLICT (site_id, hour_start) DO UPDATE SET spam = site_hours.spam + 1 RETURNING spam`,
        [id, hourStart],
      );
      return rows[0].spam;
    },
    list: (customerName) =>
      customerName
        ? many(`${SELECT} WHERE c.name = $1 ORDER BY s.name COLLATE "C"`, [customerName])
        : many(`${SELECT} ORDER BY s.name COLLATE "C"`),
    remove: (name) => change('DELETE FROM sites WHERE name = $1', [name]),
    async setTokenHash(name, hash) {
      await change('UPDATE sites SET token_hash = $1, updated_at = $2 WHERE name = $3', [hash, deps.now(), name]);
      return one('s.name = $1', name);
    },
    addGrant: (g) =>
      change('INSERT INTO site_grants (site_id, kind, value, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
        g.siteId,
        g.kind,
        g.value,
        deps.now(),
      ]),
    removeGrant: (g) => change('DELETE FROM site_grants WHERE site_id = $1 AND kind = $2 AND value = $3', [g.siteId, g.kind, g.value]),
    async grants(siteId) {
      const { rows } = await pool.query<Row>('SELECT * FROM site_grants WHERE site_id = $1 ORDER BY kind COLLATE "C", value COLLATE "C"', [
        siteId,
      ]);
      return rows.map(
        (r): SiteGrant => ({
          siteId: r.site_id as number,
          kind: r.kind as SiteGrant['kind'],
          value: r.value as string,
          createdAt: r.created_at as number,
        }),
      );
    },
  };
}
