/** The SQLite adapter: one database file, WAL, synchronous=FULL commits. */
import type { Store } from '../types.ts';
import { openDatabase } from './db.ts';
import { createCustomerRepo, createDomainRepo, createMailboxRepo } from './tenants.ts';
import { createQueueRepo } from './queue.ts';
import { createSqliteWriter } from './writer.ts';

export function createSqliteStore(opts: { path: string; now?: () => number }): Store {
  const db = openDatabase(opts.path);
  const now = opts.now ?? Date.now;
  const writer = createSqliteWriter(opts.path);
  return {
    kind: 'sqlite',
    customers: createCustomerRepo(db, now),
    domains: createDomainRepo(db, now),
    mailboxes: createMailboxRepo(db, now),
    queue: createQueueRepo(db, writer.commit),
    async close() {
      await writer.close();
      db.close();
    },
  };
}
