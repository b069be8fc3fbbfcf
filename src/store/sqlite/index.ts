/** The SQLite adapter: one database file, WAL, synchronous=FULL commits; watch polls the change versions that triggers keep (changes.ts). */
import type { Store } from '../types.ts';
import { openDatabase } from './db.ts';
import { createCustomerRepo, createDomainRepo, createMailboxRepo } from './tenants.ts';
import { createQueueRepo } from './queue.ts';
import { prepareQueueWrites } from './queue-writes.ts';
import { createSqliteWriter, type AsyncQueueWrites } from './writer.ts';
import { createRouteRepo } from './routes.ts';
import { createPoolRepo } from './pools.ts';
import { createBlocklistRepo } from './blocklists.ts';
import { createGrantRepo } from './grants.ts';
import { createAppPasswordRepo } from './app-passwords.ts';
import { createSiteRepo } from './sites.ts';
import { createDkimKeyRepo } from './dkim.ts';
import { createAuthGuardRepo } from './auth-guard.ts';
import { createLimitRepo } from './limits.ts';
import { createAuditRepo } from './audit.ts';
import { createActivityRepo } from './activity.ts';
import { createTrackingRepo } from './tracking.ts';
import { createWebhookRepo } from './webhooks.ts';
import { createApiTokenRepo } from './api-tokens.ts';
import { createConsoleSessionRepo } from './console-sessions.ts';
import { createConsoleTotpRepo } from './console-totp.ts';
import { createSuppressionRepo } from './suppressions.ts';
import { createChangeFeed } from './changes.ts';

export function createSqliteStore(opts: { path: string; now?: () => number }): Store {
  const db = openDatabase(opts.path);
  const now = opts.now ?? Date.now;
  const writer = createSqliteWriter(opts.path);
  const changes = createChangeFeed(db);
  return {
    kind: 'sqlite',
    watch: (fn) => changes.watch(fn),
    customers: createCustomerRepo(db, now),
    domains: createDomainRepo(db, now),
    mailboxes: createMailboxRepo(db, now),
    appPasswords: createAppPasswordRepo(db, now),
    grants: createGrantRepo(db, now),
    sites: createSiteRepo(db, now),
    dkim: createDkimKeyRepo(db, now),
    authGuard: createAuthGuardRepo(db),
    limits: createLimitRepo(db),
    audit: createAuditRepo(db),
    activity: createActivityRepo(db),
    // ':memory:' is private to its connection: commit on the main one (tests only).
    queue: createQueueRepo(db, opts.path === ':memory:' ? onThisConnection(db) : writer, now),
    tracking: createTrackingRepo(db),
    routes: createRouteRepo(db, now),
    blocklists: createBlocklistRepo(db),
    pools: createPoolRepo(db, now),
    webhooks: createWebhookRepo(db, now),
    apiTokens: createApiTokenRepo(db, now),
    suppressions: createSuppressionRepo(db),
    consoleSessions: createConsoleSessionRepo(db),
    consoleTotp: createConsoleTotpRepo(db),
    async close() {
      changes.close();
      await writer.close();
      db.close();
    },
  };
}

function onThisConnection(db: ReturnType<typeof openDatabase>): AsyncQueueWrites {
  const w = prepareQueueWrites(db);
  return {
    enqueue: async (m) => w.enqueue(m),
    claim: async (o) => w.claim(o),
    record: async (u) => w.record(u),
    releaseLeases: async (owner, now) => w.releaseLeases(owner, now),
  };
}
export { Database as SqliteDatabase, type Db as SqliteDb } from './driver.ts';
