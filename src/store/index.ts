/**
 * store/: every persistent thing behind asynchronous interfaces (customers, domains, mailboxes,
 * the queue): the repository interfaces (types.ts) over core's entity types (core/model/, which
 * the store implements but does not own). Adapters: sqlite/ (embedded default, one machine) and
 * postgres/ (several nodes share one database); one conformance suite runs against both, and
 * schema.test.ts keeps their migrations alike. Never decides policy: the enqueue gathers facts
 * and limits' admit() decides. Fails by throwing
 * StoreError (conflict, not-found, ...) or the driver's error, which callers turn into 4xx.
 * Imports: core, config, limits.
 */
import type { Config } from '../config/index.ts';
import type { Store } from './types.ts';

export * from './types.ts';

/** Opens the configured store (PostgreSQL: migrated first, under an advisory lock). */
export async function openStore(config: Config, opts: { migrate?: boolean; applicationName?: string } = {}): Promise<Store> {
  switch (config.store.kind) {
    case 'sqlite': {
      // each adapter is loaded by the process that opens it (better-sqlite3 or pg, not both)
      const { createSqliteStore } = await import('./sqlite/index.ts');
      return createSqliteStore({ path: config.store.path! });
    }
    case 'postgres': {
      const { createPostgresStore } = await import('./postgres/index.ts');
      return createPostgresStore({
        url: config.store.url!,
        schema: config.store.schema,
        max: config.store.poolSize,
        migrate: opts.migrate,
        applicationName: opts.applicationName ?? `postern ${config.nodeName}`,
      });
    }
  }
}
