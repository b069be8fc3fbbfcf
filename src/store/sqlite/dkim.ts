/** DKIM keys in SQLite (removed with their domain). */
import type { Db } from './db.ts';
import type { DkimKeyRepo } from '../types.ts';
import type { DkimKey, DkimKeyState } from '../../core/index.ts';

type Row = Record<string, unknown>;

const SELECT = 'SELECT k.*, d.name AS domain FROM dkim_keys k JOIN domains d ON d.id = k.domain_id';
const STAMP: Record<DkimKeyState, string> = {
  pending: 'created_at',
  active: 'activated_at',
  retiring: 'retiring_at',
  retired: 'retired_at',
};

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

export function createDkimKeyRepo(db: Db, now: () => number): DkimKeyRepo {
  const promote = db.transaction((id: number, t: number): DkimKey[] | null => {
    const k = db.prepare(`${SELECT} WHERE k.id = ? AND k.state = 'pending'`).get(id) as Row | undefined;
    if (!k) return null;
    const old = (
      db.prepare(`${SELECT} WHERE k.domain_id = ? AND k.algorithm = ? AND k.state = 'active'`).all(k.domain_id, k.algorithm) as Row[]
    ).map(toKey);
    db.prepare("UPDATE dkim_keys SET state = 'retiring', retiring_at = ? WHERE domain_id = ? AND algorithm = ? AND state = 'active'").run(
      t,
      k.domain_id,
      k.algorithm,
    );
    db.prepare("UPDATE dkim_keys SET state = 'active', activated_at = ? WHERE id = ?").run(t, id);
    return old;
  });
  return {
    async promote(id, t) {
      // immediate: a deferred transaction that reads and then writes fails at once with
      // SQLITE_BUSY when the queue's writer thread commits in between (busy_timeout cannot help)
      return promote.immediate(id, t);
    },
    async add(k) {
      const t = now();
      const id = db
        .prepare(
          `INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key, public_key, state, created_at, activated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(k.domainId, k.selector, k.algorithm, k.privateKey, k.publicKey, k.state, t, k.state === 'active' ? t : null).lastInsertRowid;
      return toKey(db.prepare(`${SELECT} WHERE k.id = ?`).get(id) as Row);
    },
    async list(domain) {
      return (db.prepare(`${SELECT} WHERE d.name = ? ORDER BY k.created_at DESC, k.id DESC`).all(domain) as Row[]).map(toKey);
    },
    async inStates(states) {
      return (
        db.prepare(`${SELECT} WHERE k.state IN (SELECT value FROM json_each(?)) ORDER BY d.name, k.id`).all(JSON.stringify(states)) as Row[]
      ).map(toKey);
    },
    async setState(id, to, from, t) {
      return (
        db
          .prepare(`UPDATE dkim_keys SET state = ?, ${STAMP[to]} = ? WHERE id = ? AND state IN (SELECT value FROM json_each(?))`)
          .run(to, t, id, JSON.stringify(from)).changes > 0
      );
    },
  };
}
