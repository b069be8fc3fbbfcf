/**
 * store/: every persistent thing behind asynchronous interfaces (customers, domains, mailboxes,
 * the queue). Adapters: sqlite/ (embedded default). Never decides policy; fails by throwing
 * StoreError (conflict, not-found, ...) or the driver's error, which callers turn into 4xx.
 */
import type { Config } from '../config/index.ts';
import type { Store } from './types.ts';
import { createSqliteStore } from './sqlite/index.ts';

export * from './types.ts';

export function openStore(config: Config): Store {
  switch (config.store.kind) {
    case 'sqlite':
      return createSqliteStore({ path: config.store.path! });
  }
}
