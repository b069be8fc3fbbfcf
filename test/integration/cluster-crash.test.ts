/**
 * Two Postern nodes on one PostgreSQL store: mail accepted by a node killed with -9 in the middle
 * of its deliveries is delivered by the other once the leases run out, each recipient once.
 */
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startFakeDns, type FakeDns } from '../helpers/fake-dns.ts';
import { startFakeMx, type FakeMx } from '../helpers/fake-mx.ts';
import { until } from '../helpers/delivery-lab.ts';
import { makeSchema } from '../helpers/pg.ts';
import { cleanups, cluster, provision, serve, PASSWORD } from '../helpers/cluster.ts';
import { createPostgresStore } from '../../src/store/postgres/index.ts';

after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('a node killed with -9 in the middle of its deliveries', () => {
  const N = 6;
  let dns: FakeDns;
  let mx: FakeMx;
  test('its mail is delivered by the other node once its leases run out, each recipient once', async () => {
    const db = await makeSchema('crash');
    cleanups.push(() => db.drop());
    let hang = true;
    dns = await startFakeDns({
      'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
      'mx.remote.test': { A: ['127.0.0.1'] },
    });
    cleanups.push(() => dns.close());
    mx = await startFakeMx({ data: () => (hang ? 'silent-after-dot' : 'accept') });
    cleanups.push(() => mx.close());
    const c = await cluster(
      db,
      [
        'delivery:',
        '  allowLoopback: true',
        `  mxPort: ${mx.port}`,
        '  pollIntervalMs: 200',
        '  mtaSts: false',
        '  connectTimeoutSeconds: 2',
        '  greetingTimeoutSeconds: 0.5',
        '  commandTimeoutSeconds: 2',
        '  dataTimeoutSeconds: 20',
        '  leaseSeconds: 25',
        'dns:',
        `  servers: ["${dns.address}"]`,
      ].join('\n'),
    );
    await provision(c.a);
    const a = await serve(c.a);
    const t = nodemailer.createTransport({
      pool: true,
      maxConnections: 3,
      host: '127.0.0.1',
      port: c.ports[0],
      requireTLS: true,
      auth: { user: 'alice@example.com', pass: PASSWORD },
      tls: { rejectUnauthorized: false },
    });
    try {
      await Promise.all(
        Array.from({ length: N }, (_, i) =>
          t.sendMail({ from: 'alice@example.com', to: `r${i}@remote.test`, subject: `crash ${i}`, text: `body ${i}` }),
        ),
      );
    } finally {
      t.close();
    }
    // node A has sent every message and waits for the replies after the final dot
    await until(() => mx.silent.length >= N, 15_000, 'node A in the middle of every delivery');
    const claimedAt = Date.now();
    const b = await serve(c.b);
    a.child.kill('SIGKILL');
    await a.exited;
    hang = false;
    const subjects = () => mx.received.map((m) => /Subject: (crash \d+)/.exec(m.data.toString())?.[1]);
    await until(() => new Set(subjects()).size === N, 60_000, 'node B delivered every message');
    assert.ok(Date.now() - claimedAt >= 20_000, "node B waited for node A's leases to run out");
    assert.equal(mx.received.length, N, `each recipient delivered once: ${subjects().join(', ')}`);
    // node B logs a delivery after the MX's reply, and its log reaches this process through a
    // pipe: wait for the lines rather than read them the moment the MX has the last message
    const delivered = () => b.logs.filter((l) => l.evt === 'delivery' && l.result === 'delivered');
    await until(() => delivered().length >= N, 10_000, 'node B to log every delivery');
    assert.equal(delivered().length, N, 'node B logged every delivery, once each');
    const store = await createPostgresStore({ url: db.url, schema: db.schema });
    try {
      await until(async () => (await store.queue.count()) === 0, 10_000, 'an empty queue');
    } finally {
      await store.close();
    }
  });
});
