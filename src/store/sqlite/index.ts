/** The SQLite adapter: one database file, WAL, synchronous=FULL commits. */
import type { Store } from '../types.ts';
import { openDatabase } from './db.ts';
import { createCustomerRepo, createDomainRepo, createMailboxRepo } from './tenants.ts';
import { createQueueRepo, prepareEnqueue } from './queue.ts';
import { createSqliteWriter } from './writer.ts';
import { createRouteRepo } from './routes.ts';

export function createSqliteStore(opts: { path: string; now?: () => number }): Store {
  const db = openDatabase(opts.path);
  const now = opts.now ?? Date.now;
  const writer = createSqliteWriter(opts.path);
  return {
    kind: 'sqlite',
    customers: createCustomerRepo(db, now),
    domains: createDomainRepo(db, now),
    mailboxes: createMailboxRepo(db, now),
    // ':memory:' is private to its connection: commit on the main one (tests only).
    queue: createQueueRepo(db, opts.path === ':memory:' ? async (m) => prepareEnqueue(db)(m) : writer.commit),
    routes: createRouteRepo(db, now),
    async close() {
      await writer.close();
      db.close();
    },
  };
}
