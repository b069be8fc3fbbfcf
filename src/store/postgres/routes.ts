/** Per-domain routes in PostgreSQL. */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import type { RouteRepo } from '../types.ts';
import type { Route, RouteTls } from '../../core/index.ts';

type Row = Record<string, unknown>;

const toRoute = (r: Row): Route => ({
  domain: r.domain as string,
  host: r.host as string,
  port: r.port as number,
  tls: r.tls as RouteTls,
  authUser: (r.auth_user as string | null) ?? null,
  authSecret: (r.auth_secret as string | null) ?? null,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

export function createRouteRepo(pool: Pool, deps: RepoDeps): RouteRepo {
  return {
    async set({ domain, host, port, tls, authUser = null, authSecret = null }) {
      // replacing keeps the creation time
      const { rows } = await pool.query<Row>(
        `INSERT INTO routes (domain, host, port, tls, auth_user, auth_secret, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (domain) DO UPDATE SET host = excluded.host, port = excluded.port, tls = excluded.tls,
           auth_user = excluded.auth_user, auth_secret = excluded.auth_secret, updated_at = excluded.updated_at
         RETURNING *`,
        [domain, host, port, tls, authUser, authSecret, deps.now()],
      );
      deps.changed('routes');
      return toRoute(rows[0]);
    },
    async get(domain) {
      const r = (await pool.query<Row>('SELECT * FROM routes WHERE domain = $1', [domain])).rows[0];
      return r ? toRoute(r) : null;
    },
    async list() {
      return (await pool.query<Row>('SELECT * FROM routes ORDER BY domain COLLATE "C"')).rows.map(toRoute);
    },
    async remove(domain) {
      const removed = ((await pool.query('DELETE FROM routes WHERE domain = $1', [domain])).rowCount ?? 0) > 0;
      if (removed) deps.changed('routes');
      return removed;
    },
  };
}
