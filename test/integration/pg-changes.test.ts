/**
 * The change feed between nodes survives its connection: when the listening connection is
 * killed (a database restart, a failover), the node listens again and then treats everything
 * as changed (notices sent meanwhile are lost), and later notices arrive as before.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createPostgresStore } from '../../src/store/postgres/index.ts';
import type { ChangeTopic, Store } from '../../src/store/index.ts';
import { makeSchema, PG_URL } from '../helpers/pg.ts';
import { until } from '../helpers/delivery-lab.ts';

const stores: Store[] = [];
const drops: (() => Promise<void>)[] = [];
after(async () => {
  for (const s of stores) await s.close();
  for (const d of drops) await d();
});

test('a killed change listener listens again, reports every topic changed, and hears later notices', async () => {
  const db = await makeSchema('feed');
  drops.push(() => db.drop());
  const a = await createPostgresStore({ url: db.url, schema: db.schema });
  const b = await createPostgresStore({ url: db.url, schema: db.schema });
  stores.push(a, b);
  const seen: ChangeTopic[] = [];
  b.watch((t) => seen.push(t));
  // the listener is live once a change through A is heard
  for (let i = 0; !seen.includes('routes'); i++) {
    await a.routes.set({ domain: `probe${i}.test`, host: 'h', port: 25, tls: 'none' });
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(i < 200, 'the listener started');
  }
  seen.length = 0;

  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
      `postern-changes:${db.schema}`,
    ]);
    assert.equal(killed.rowCount, 1, "one listening connection (store B's; A has not listened)");
  } finally {
    await admin.end();
  }
  await until(
    () => ['mailboxes', 'dkim', 'sites', 'routes', 'limits', 'bans'].every((t) => seen.includes(t as ChangeTopic)),
    10_000,
    'every topic reported after listening again',
  );
  seen.length = 0;
  await a.limits.set({ level: 'customer', target: 'acme', window: 'hour', metric: 'messages', max: 5, action: 'defer' });
  await until(() => seen.includes('limits'), 5_000, 'a later notice heard');
});
