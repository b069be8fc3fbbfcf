/**
 * The store conformance suite: every method of every repository of types.ts, through the Store
 * interface only, once per adapter. The cases live in conformance/*.ts; the few that only one
 * adapter can do say so (`only`) and run only there. One test file per adapter
 * (conformance.sqlite.test.ts, conformance.postgres.test.ts) registers them.
 *
 * POSTERN_STORE_ADAPTERS=sqlite runs the SQLite half alone (default: both). PostgreSQL needs a
 * server (POSTERN_TEST_PG_URL, see test/helpers/pg.ts); each test gets its own schema, and the
 * schemas are dropped when the file is done. A postgres adapter that does not load fails its
 * tests: it is never skipped.
 */
import { after, test } from 'node:test';
import { cleanup, runCase, selectedAdapters, type Case } from './harness.ts';
import { tenantCases } from './tenants.ts';
import { siteCases } from './sites.ts';
import { guardCases } from './guard.ts';
import { enqueueCases } from './enqueue.ts';
import { deliveryCases } from './delivery.ts';
import { operatorCases } from './operator.ts';
import { clusterCases } from './cluster.ts';
import { specificCases } from './specific.ts';
import { trackingCases } from './tracking.ts';
import { webhookCases } from './webhooks.ts';
import { apiTokenCases } from './api-tokens.ts';
import { suppressionCases } from './suppressions.ts';
import { consoleSessionCases } from './console-sessions.ts';
import { lifecycleCases } from './lifecycle.ts';
import { appPasswordCases } from './app-passwords.ts';
import { consoleTotpCases } from './console-totp.ts';
import { poolCases } from './pools.ts';

const cases: Case[] = [
  ...tenantCases,
  ...siteCases,
  ...guardCases,
  ...enqueueCases,
  ...deliveryCases,
  ...operatorCases,
  ...clusterCases,
  ...specificCases,
  ...trackingCases,
  ...webhookCases,
  ...apiTokenCases,
  ...suppressionCases,
  ...consoleSessionCases,
  ...lifecycleCases,
  ...appPasswordCases,
  ...consoleTotpCases,
  ...poolCases,
];

/** Registers every case for one adapter (when POSTERN_STORE_ADAPTERS selects it). */
export function registerConformance(adapter: string): void {
  after(cleanup);
  for (const a of selectedAdapters().filter((x) => x.name === adapter)) {
    for (const c of cases) {
      if (c.only && c.only !== a.name) continue;
      test(`${a.name}: ${c.name}`, () => runCase(a, c));
    }
  }
}
