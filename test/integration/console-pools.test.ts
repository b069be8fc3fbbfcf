/** The console's egress pools page (operators only): pools from the configuration, assign and unassign, the tenant wall. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createConsoleClient } from '../helpers/console.ts';

let s: TestServer;
let opToken: string;
let acmeToken: string;

before(async () => {
  s = await startTestServer({
    dns: { servers: ['127.0.0.1:9'], timeoutMs: 50, tries: 1 }, // nothing answers: the live check says so quickly
    delivery: {
      enabled: false,
      pools: {
        a: { addresses: ['127.0.0.2'], helo: 'a.out.postern.test' },
        b: { addresses: ['127.0.0.3'], helo: 'b.out.postern.test', concurrency: 3 },
      },
      defaultPool: 'a',
    },
  });
  await s.addMailbox('alice@example.com', 'alice-secret-1', 'acme');
  opToken = (await s.admin.addToken('ops', { operator: true })).token;
  acmeToken = (await s.admin.addToken('acme-panel', { customer: 'acme' })).token;
});
after(() => s?.close());

test('pools: the configured pools, assign a customer and a domain, unassign; a refusal is shown and changes nothing', async () => {
  const c = createConsoleClient(s);
  await c.signIn({ token: opToken });
  const p = await c.get('/console/pools');
  assert.equal(p.status, 200);
  assert.match(p.text, /<caption>Configured egress pools<\/caption>/);
  assert.match(p.text, /<a href="\/console\/pools\/a"><span class="mono">a<\/span><\/a> <span class="muted">\(default\)<\/span>/);
  assert.match(p.text, /<span class="mono">127\.0\.0\.3<\/span><\/td><td><span class="mono">b\.out\.postern\.test<\/span>/);
  assert.match(p.text, /Nothing is assigned\./);
  assert.match(p.text, /<a [^>]*href="\/console\/pools"[^>]*>Pools<\/a>/, 'in the operator navigation');
  const r = await c.post('/console/pools/assign', { pool: 'b', kind: 'customer', name: 'acme' });
  assert.equal(r.headers.location, '/console/pools');
  await c.post('/console/pools/assign', { pool: 'a', kind: 'domain', name: 'Example.COM' });
  assert.deepEqual(
    (await s.server.store.pools.list()).map((x) => `${x.kind}:${x.name}:${x.pool}`),
    ['customer:acme:b', 'domain:example.com:a'],
  );
  const after = await c.get('/console/pools');
  assert.match(after.text, /domain example\.com sends from pool a\./);
  assert.match(after.text, /<span id="pa-0" class="mono">acme<\/span>/);
  await c.post('/console/pools/assign', { pool: 'zzz', kind: 'customer', name: 'acme' });
  assert.match((await c.get('/console/pools')).text, /no egress pool named zzz in delivery\.pools/);
  const check = await c.get('/console/pools/b');
  assert.equal(check.status, 200);
  assert.match(check.text, /<caption>Live DNS status of pool b<\/caption>/);
  assert.match(check.text, /<code[^>]*>ptr:127\.0\.0\.3<\/code>/);
  assert.match(check.text, /<code[^>]*>spf:example\.com<\/code>|<code[^>]*>spf<\/code>/);
  assert.equal((await c.get('/console/pools/zzz')).status, 404);
  await c.post('/console/pools/unassign', { kind: 'customer', name: 'acme' });
  assert.deepEqual(
    (await s.server.store.pools.list()).map((x) => `${x.kind}:${x.name}:${x.pool}`),
    ['domain:example.com:a'],
  );
});

test('the tenant wall: a customer session gets 404 on the pools page and its actions, and nothing changes', async () => {
  const c = createConsoleClient(s);
  await c.signIn({ token: acmeToken });
  assert.equal((await c.get('/console/pools')).status, 404);
  assert.equal((await c.get('/console/pools/a')).status, 404);
  const before = JSON.stringify(await s.server.store.pools.list());
  assert.equal((await c.post('/console/pools/assign', { pool: 'b', kind: 'customer', name: 'acme' })).status, 404);
  assert.equal((await c.post('/console/pools/unassign', { kind: 'domain', name: 'example.com' })).status, 404);
  assert.equal(JSON.stringify(await s.server.store.pools.list()), before);
});
