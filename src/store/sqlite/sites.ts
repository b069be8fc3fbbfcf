/** Sites and their sender grants in SQLite (grants are removed with their site). */
import type { Db } from './db.ts';
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

export function createSiteRepo(db: Db, now: () => number): SiteRepo {
  const byName = db.prepare(`${SELECT} WHERE s.name = ?`);
  const byHash = db.prepare(`${SELECT} WHERE s.token_hash = ?`);
  const insertGrant = db.prepare('INSERT OR IGNORE INTO site_grants (site_id, kind, value, created_at) VALUES (?, ?, ?, ?)');
  const deleteGrant = db.prepare('DELETE FROM site_grants WHERE site_id = ? AND kind = ? AND value = ?');
  const grantsOf = db.prepare('SELECT * FROM site_grants WHERE site_id = ? ORDER BY kind, value');
  const one = (r: unknown) => (r ? toSite(r as Row) : null);
  return {
    async add(input) {
      const t = now();
      try {
        db.prepare('INSERT INTO sites (name, customer_id, unix_user, token_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(
          input.name,
          input.customerId,
          input.unixUser,
          input.tokenHash,
          t,
          t,
        );
      } catch (err) {
        const msg = (err as Error).message;
        if (/UNIQUE.*sites\.name/.test(msg)) throw new StoreError('conflict', `site ${input.name} already exists`);
        if (/UNIQUE.*sites\.unix_user/.test(msg))
          throw new StoreError('conflict', `unix user ${input.unixUser} already belongs to another site`);
        throw err;
      }
      return one(byName.get(input.name))!;
    },
    async get(name) {
      return one(byName.get(name));
    },
    async byTokenHash(hash) {
      return one(byHash.get(hash));
    },
    async byId(id) {
      return one(db.prepare(`${SELECT} WHERE s.id = ?`).get(id));
    },
    async hold(id, reason, t) {
      return (
        db.prepare('UPDATE sites SET held_since = ?, hold_reason = ? WHERE id = ? AND held_since IS NULL').run(t, reason, id).changes > 0
      );
    },
    async unhold(id, t) {
      return (
        db
          .prepare('UPDATE sites SET held_since = NULL, hold_reason = NULL, released_at = ? WHERE id = ? AND held_since IS NOT NULL')
          .run(t, id).changes > 0
      );
    },
    async held() {
      return (db.prepare(`${SELECT} WHERE s.held_since IS NOT NULL ORDER BY s.held_since`).all() as Row[]).map(toSite);
    },
    async spam(id, hourStart) {
      return db
        .prepare(
          `INSERT INTO site_hours (site_id, hour_start, spam) VALUES (?, ?, 1)
         ON CONFLICT (site_id, hour_start) DO UPDATE SET spam = spam + 1 RETURNING spam`,
        )
        .pluck()
        .get(id, hourStart) as number;
    },
    async list(customerName) {
      const rows = customerName
        ? db.prepare(`${SELECT} WHERE c.name = ? ORDER BY s.name`).all(customerName)
        : db.prepare(`${SELECT} ORDER BY s.name`).all();
      return (rows as Row[]).map(toSite);
    },
    async remove(name) {
      return db.prepare('DELETE FROM sites WHERE name = ?').run(name).changes > 0;
    },
    async setTokenHash(name, hash) {
      db.prepare('UPDATE sites SET token_hash = ?, updated_at = ? WHERE name = ?').run(hash, now(), name);
      return one(byName.get(name));
    },
    async addGrant(g) {
      return insertGrant.run(g.siteId, g.kind, g.value, now()).changes > 0;
    },
    async removeGrant(g) {
      return deleteGrant.run(g.siteId, g.kind, g.value).changes > 0;
    },
    async grants(siteId) {
      return (grantsOf.all(siteId) as Row[]).map(
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
