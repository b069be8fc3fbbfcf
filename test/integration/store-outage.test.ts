/**
 * PostgreSQL away for 60 s in the middle of deliveries (a TCP proxy in front of it is cut):
 * the results of the attempts that ended meanwhile are held and written when it is back, and no
 * message reaches the MX twice, though the leases (70 s) run out soon after the outage (before
 * results were held, they were dropped and the leases brought those recipients back).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import { makeSchema } from '../helpers/pg.ts';

/** A TCP proxy to PostgreSQL that can be cut (every connection dropped, new ones refused) and restored. */
async function pgProxy(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      cut = false;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const db = await makeSchema('outage');
const url = new URL(db.url);
const proxy = await pgProxy({ host: url.hostname, port: Number(url.port || 5432) });
let lab: DeliveryLab | null = null;
after(async () => {
  await lab?.close();
  await proxy.close();
  await db.drop();
});

test('the store away for 60 s during deliveries: 0 duplicates, every message delivered', { timeout: 180_000 }, async () => {
  url.port = String(proxy.port);
  lab = await startDeliveryLab(
    { 'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] }, 'mx.remote.test': { A: ['127.0.0.2'] } },
    { leaseSeconds: 70, concurrency: 4, perDestinationConcurrency: 4, reuseIdleSeconds: 0 },
    { store: { kind: 'postgres', url: url.toString(), schema: db.schema, poolSize: 4 }, webhooks: { enabled: false } },
  );
  const N = 40;
  let armed = false;
  let accepted = 0;
  // deferred until every message is queued; the store goes away at the 5th accepted message,
  // while other attempts are still running
  const mx = await lab.mx('127.0.0.2', {
    rcpt: () => (armed ? 'accept' : { code: 451, text: '4.3.0 not yet' }),
    data: () => {
      if (++accepted === 5) proxy.cut();
      return 'accept';
    },
  });
  for (let i = 0; i < N; i++) await lab.submit({ to: `r${i}@remote.test`, subject: `m${i}` });
  armed = true;
  await until(() => accepted >= 5, 30_000, 'the first deliveries');
  const cutAt = Date.now();
  await new Promise((r) => setTimeout(r, 60_000));
  assert.ok(Date.now() - cutAt >= 60_000);
  proxy.restore();
  await until(async () => (await lab!.s.server.store.queue.count().catch(() => -1)) === 0, 60_000, 'the queue empty');
  await new Promise((r) => setTimeout(r, 2000));
  const byRecipient = new Map<string, number>();
  for (const m of mx.received) for (const to of m.to) byRecipient.set(to, (byRecipient.get(to) ?? 0) + 1);
  const twice = [...byRecipient].filter(([, n]) => n > 1).map(([to]) => to);
  assert.deepEqual(twice, [], 'delivered twice');
  assert.equal(byRecipient.size, N, 'every message delivered');
  assert.ok(
    lab.s.logs.some((l) => l.evt === 'queue' && /holding them until the store takes them/.test(String(l.msg))),
    'results were held during the outage',
  );
});
