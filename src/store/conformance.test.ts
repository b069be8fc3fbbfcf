/**
 * The store conformance suite: every method of every repository of types.ts, through the Store
 * interface only, once per adapter (sqlite, postgres). The cases live in conformance/*.ts; the
 * few that only one adapter can do say so (`only`) and run only there.
 *
 * POSTERN_STORE_ADAPTERS=sqlite runs the SQLite half alone (default: both). PostgreSQL needs a
 * server (POSTERN_TEST_PG_URL, see test/helpers/pg.ts); each test gets its own schema, and the
 * schemas are dropped when the file is done. A postgres adapter that does not load fails its
 * tests: it is never skipped.
 */
import { after, test } from 'node:test';
import { cleanup, runCase, selectedAdapters, type Case } from './conformance/harness.ts';
import { tenantCases } from './conformance/tenants.ts';
import { siteCases } from './conformance/sites.ts';
import { guardCases } from './conformance/guard.ts';
import { enqueueCases } from './conformance/enqueue.ts';
import { deliveryCases } from './conformance/delivery.ts';
import { operatorCases } from './conformance/operator.ts';
import { clusterCases } from './conformance/cluster.ts';
import { specificCases } from './conformance/specific.ts';
import { suppressionCases } from './conformance/suppressions.ts';

const cases: Case[] = [
  ...tenantCases, ...siteCases, ...guardCases, ...enqueueCases, ...deliveryCases, ...operatorCases, ...clusterCases, ...specificCases,
  ...suppressionCases,
];

after(cleanup);

for (const a of selectedAdapters()) {
  for (const c of cases) {
    if (c.only && c.only !== a.name) continue;
    test(`${a.name}: ${c.name}`, () => runCase(a, c));
  }
}
