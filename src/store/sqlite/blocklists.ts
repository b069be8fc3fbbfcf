/** DNS blocklist results of egress addresses in SQLite. */
import type { Db } from './db.ts';
import type { BlocklistRepo } from '../types.ts';
import type { BlocklistResult } from '../../core/index.ts';
import { nextBlocklistRow, toBlocklistResult, type Row } from '../rows.ts';

export function createBlocklistRepo(db: Db): BlocklistRepo {
  const all = db.prepare('SELECT * FROM blocklist_results ORDER BY pool, address, zone');
  const upsert = db.prepare(
    `INSERT INTO blocklist_results (address, zone, pool, listed, codes, meaning, checked_at, listed_since)
     VALUES (@address, @zone, @pool, @listed, @codes, @meaning, @checkedAt, @listedSince)
     ON CONFLICT (address, zone) DO UPDATE SET pool = excluded.pool, listed = excluded.listed, codes = excluded.codes,
       meaning = excluded.meaning, checked_at = excluded.checked_at, listed_since = excluded.listed_since`,
  );
  const record = db.transaction((results: Omit<BlocklistResult, 'listedSince'>[]) => {
    const before = new Map((all.all() as Row[]).map(toBlocklistResult).map((r) => [`${r.address} ${r.zone}`, r]));
    const fresh: BlocklistResult[] = [];
    for (const r of results) {
      const old = before.get(`${r.address} ${r.zone}`);
      const next = nextBlocklistRow(old, r);
      upsert.run({ ...next, listed: next.listed ? 1 : 0, codes: next.codes.join(',') });
      if (next.listed && !old?.listed) fresh.push(next);
    }
    return fresh;
  });
  return {
    record: async (results) => record(results),
    list: async () => (all.all() as Row[]).map(toBlocklistResult),
  };
}
