/** Per-domain routes in SQLite. */
import type { Db } from './db.ts';
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

export function createRouteRepo(db: Db, now: () => number): RouteRepo {
  const byDomain = db.prepare('SELECT * FROM routes WHERE domain = ?');
  const get = (domain: string) => {
    const r = byDomain.get(domain) as Row | undefined;
    return r ? toRoute(r) : null;
  };
  return {
    async set({ domain, host, port, tls, authUser = null, authSecret = null }) {
      const t = now();
      db.prepare(
        `INSERT INTO routes (domain, host, port, tls, auth_user, auth_secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (domain) DO UPDATE SET host = excluded.host, port = excluded.port, tls = excluded.tls,
           auth_user = excluded.auth_user, auth_secret = excluded.auth_secret, updated_at = excluded.updated_at`,
      ).run(domain, host, port, tls, authUser, authSecret, t, t);
      return get(domain)!;
    },
    async get(domain) {
      return get(domain);
    },
    async list() {
      return (db.prepare('SELECT * FROM routes ORDER BY domain').all() as Row[]).map(toRoute);
    },
    async remove(domain) {
      return db.prepare('DELETE FROM routes WHERE domain = ?').run(domain).changes > 0;
    },
  };
}
