/**
 * The PostgreSQL adapter: several nodes share one database. Message bodies live in the queue
 * rows (every node can deliver every message); the queue is claimed with FOR UPDATE SKIP LOCKED
 * and leases; counters are single atomic statements; administrative changes are announced with
 * NOTIFY so that every node's caches follow within a second.
 */
import type { Store } from '../types.ts';
import { createPool, migrate, type PoolOptions } from './db.ts';
import { createChangeFeed, notifier } from './changes.ts';
import { createCustomerRepo, createDomainRepo, createMailboxRepo } from './tenants.ts';
import { createGrantRepo } from './grants.ts';
import { createAppPasswordRepo } from './app-passwords.ts';
import { createSiteRepo } from './sites.ts';
import { createDkimKeyRepo } from './dkim.ts';
import { createAuthGuardRepo } from './auth-guard.ts';
import { createLimitRepo } from './limits.ts';
import { createAuditRepo } from './audit.ts';
import { createActivityRepo } from './activity.ts';
import { createSuppressionRepo } from './suppressions.ts';
import { createRouteRepo } from './routes.ts';
import { createPoolRepo } from './pools.ts';
import { createBlocklistRepo } from './blocklists.ts';
import { createQueueRepo } from './queue.ts';
import { createTrackingRepo } from './tracking.ts';
import { createWebhookRepo } from './webhooks.ts';
import { createApiTokenRepo } from './api-tokens.ts';
import { createConsoleSessionRepo } from './console-sessions.ts';
import { createConsoleTotpRepo } from './console-totp.ts';

export { migrate, createPool } from './db.ts';

export interface PostgresStoreOptions extends PoolOptions {
  now?: () => number;
  /** Run the migrations first (default true; `postern migrate` runs them itself). */
  migrate?: boolean;
}

export async function createPostgresStore(opts: PostgresStoreOptions): Promise<Store> {
  const pool = createPool(opts);
  try {
    if (opts.migrate !== false) await migrate(pool, { schema: opts.schema });
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  const now = opts.now ?? Date.now;
  const changed = notifier(pool, opts.schema);
  const feed = createChangeFeed(opts);
  const deps = { now, changed };
  return {
    kind: 'postgres',
    watch: (fn) => feed.watch(fn),
    customers: createCustomerRepo(pool, deps),
    domains: createDomainRepo(pool, deps),
    mailboxes: createMailboxRepo(pool, deps),
    appPasswords: createAppPasswordRepo(pool, deps),
    grants: createGrantRepo(pool, deps),
    sites: createSiteRepo(pool, deps),
    dkim: createDkimKeyRepo(pool, deps),
    authGuard: createAuthGuardRepo(pool, deps),
    limits: createLimitRepo(pool, deps),
    audit: createAuditRepo(pool, deps),
    activity: createActivityRepo(pool, deps),
    queue: createQueueRepo(pool, deps),
    routes: createRouteRepo(pool, deps),
    blocklists: createBlocklistRepo(pool),
    pools: createPoolRepo(pool, deps),
    tracking: createTrackingRepo(pool, deps),
    webhooks: createWebhookRepo(pool, deps),
    apiTokens: createApiTokenRepo(pool, deps),
    suppressions: createSuppressionRepo(pool, deps),
    consoleSessions: createConsoleSessionRepo(pool, deps),
    consoleTotp: createConsoleTotpRepo(pool),
    async close() {
      await changed.flush();
      await feed.close();
      await pool.end();
    },
  };
}
