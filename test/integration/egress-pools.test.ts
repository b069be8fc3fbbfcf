/**
 * Egress pools end to end: two customers assigned to two pools (127.0.0.2 and 127.0.0.3, each
 * with its own HELO name) deliver to one sink that records the peer address and EHLO name of
 * each message; a domain's pool wins over its customer's; connection reuse stays inside a pool;
 * an IPv6 target gets the pool's IPv6 address; a pool without an address of the target's family
 * defers with a reply that says so.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';

const ZONE: FakeZone = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
  'mx.remote.test': { A: ['127.0.0.5'] },
  'v6.test': { MX: [{ preference: 10, exchange: 'mx.v6.test' }] },
  'mx.v6.test': { AAAA: ['::1'] },
};

const POOLS = {
  a: { addresses: ['127.0.0.2'], helo: 'a.out.postern.test' },
  b: { addresses: ['127.0.0.3', '::1'], helo: 'b.out.postern.test' },
  v4: { addresses: ['127.0.0.4'], helo: 'v4.out.postern.test' },
};

let lab: DeliveryLab | null = null;
afterEach(async () => {
  await lab?.close();
  lab = null;
});

async function twoCustomers(extra: Record<string, unknown> = {}): Promise<DeliveryLab> {
  const l = await startDeliveryLab(ZONE, { pools: POOLS, reuseIdleSeconds: 30, ...extra });
  await l.s.addMailbox('bob@beta.test', 'bob-secret-12', 'beta');
  await l.s.admin.assignPool('customer', 'acme', 'a');
  await l.s.admin.assignPool('customer', 'beta', 'b');
  return l;
}

const queueEmpty = (l: DeliveryLab) => async () => (await l.s.server.store.queue.count()) === 0;

test("customer A's mail leaves from pool A (address and HELO), B's from pool B; reuse stays inside each pool", async () => {
  lab = await twoCustomers();
  const sink = await lab.mx('127.0.0.5', {});
  for (let i = 0; i < 2; i++) {
    await lab.submit({ to: 'x@remote.test', subject: `from acme ${i}` });
    await until(() => sink.received.length === i * 2 + 1, 5000, 'acme delivery');
    await lab.submitAs('bob@beta.test', 'bob-secret-12', { to: 'y@remote.test', subject: `from beta ${i}` });
    await until(() => sink.received.length === i * 2 + 2, 5000, 'beta delivery');
  }
  const seen = sink.received.map((m) => `${m.from} ${m.remoteAddress} ${m.ehlo}`);
  assert.deepEqual(seen, [
    'alice@example.com 127.0.0.2 a.out.postern.test',
    'bob@beta.test 127.0.0.3 b.out.postern.test',
    'alice@example.com 127.0.0.2 a.out.postern.test',
    'bob@beta.test 127.0.0.3 b.out.postern.test',
  ]);
  // one connection per pool, each reused for its second message (never the other pool's)
  assert.equal(sink.sessions, 2);
  await until(queueEmpty(lab), 5000, 'empty queue');
});

test("a domain's pool wins over its customer's; unassigning it brings the customer's back", async () => {
  lab = await twoCustomers();
  const sink = await lab.mx('127.0.0.5', {});
  await lab.s.admin.assignPool('domain', 'example.com', 'b');
  await lab.submit({ to: 'x@remote.test' });
  await until(() => sink.received.length === 1, 5000, 'delivery');
  assert.equal(sink.received[0]!.remoteAddress, '127.0.0.3');
  assert.equal(sink.received[0]!.ehlo, 'b.out.postern.test');
  await lab.s.admin.unassignPool('domain', 'example.com');
  await lab.submit({ to: 'x@remote.test' });
  await until(() => sink.received.length === 2, 5000, 'delivery');
  assert.equal(sink.received[1]!.remoteAddress, '127.0.0.2');
});

test("an IPv6 MX gets the pool's IPv6 address; a pool with none defers with a reply that says why", async () => {
  lab = await twoCustomers();
  const sink6 = await lab.mx('::1', {});
  await lab.submitAs('bob@beta.test', 'bob-secret-12', { to: 'z@v6.test' });
  await until(() => sink6.received.length === 1, 5000, 'IPv6 delivery');
  assert.equal(sink6.received[0]!.remoteAddress, '::1');
  assert.equal(sink6.received[0]!.ehlo, 'b.out.postern.test');
  await lab.s.admin.assignPool('customer', 'acme', 'v4');
  const id = await lab.submit({ to: 'z@v6.test' });
  const r = await until(
    async () => {
      const m = await lab!.s.server.store.queue.get(id);
      return m?.recipients[0]?.state === 'deferred' ? m.recipients[0] : null;
    },
    5000,
    'deferral',
  );
  assert.match(String(r.lastReply), /^451 4\.4\.0 egress pool v4 has no address of the family of MX of v6\.test: ::1/);
  assert.equal(sink6.received.length, 1, "never sent from the host's own address instead");
});

test('mail without a pool of its own leaves from delivery.defaultPool', async () => {
  lab = await startDeliveryLab(ZONE, { pools: POOLS, defaultPool: 'b' });
  const sink = await lab.mx('127.0.0.5', {});
  await lab.submit({ to: 'x@remote.test' });
  await until(() => sink.received.length === 1, 5000, 'delivery');
  assert.equal(sink.received[0]!.remoteAddress, '127.0.0.3');
});

test("a fake blocklist starts listing pool A's address: the postmaster is told who likely caused it, A's mail fails over to B, and back once delisted", async () => {
  const base: FakeZone = { ...ZONE, 'remote.test': ZONE['remote.test']! };
  lab = await startDeliveryLab(
    base,
    {
      pools: { a: { addresses: ['127.0.0.2'], helo: 'a.out.postern.test', fallback: 'b' }, b: POOLS.b },
    },
    {
      blocklists: { zones: [{ zone: 'bl.test', codes: { '127.0.0.2': 'test listing (spam seen)' } }], intervalMinutes: 60 },
      bounce: { postmaster: 'pm@remote.test' },
    },
  );
  await lab.s.admin.assignPool('customer', 'acme', 'a');
  // the first MAIL is refused with a reply naming a blocklist, the retry is accepted
  let mails = 0;
  const sink = await lab.mx('127.0.0.5', {
    mail: () =>
      ++mails === 1 ? { code: 451, text: '4.7.1 Service unavailable; client host [127.0.0.2] blocked using zen.spamhaus.org' } : 'accept',
  });
  await lab.submit({ to: 'x@remote.test', subject: 'before' });
  await until(() => sink.received.length === 1, 5000, 'delivery before the listing');
  assert.equal(sink.received[0]!.remoteAddress, '127.0.0.2');
  const watch = lab.s.server.blocklists!;
  assert.deepEqual(await watch.check(), [], 'not listed yet');

  lab.dns.setZone({ ...base, '2.0.0.127.bl.test': { A: ['127.0.0.2'] } });
  const fresh = await watch.check();
  assert.equal(fresh.length, 1);
  assert.deepEqual(
    [fresh[0]!.listing.pool, fresh[0]!.listing.address, fresh[0]!.listing.zone, fresh[0]!.listing.meaning],
    ['a', '127.0.0.2', 'bl.test', 'test listing (spam seen)'],
  );
  assert.equal(fresh[0]!.suspects[0]?.sender, 'alice@example.com', "the pool's top sender is named");
  assert.deepEqual(await watch.check(), [], 'a listing is told once');
  // the postmaster's notice (it leaves from the host's own address: a notice has no customer)
  const notice = await until(() => sink.received.find((m) => m.to.includes('pm@remote.test')), 5000, 'the notice');
  const text = notice.data.toString();
  assert.match(text, /127\.0\.0\.2 \(pool a\) is listed on bl\.test: 127\.0\.0\.2 \(test listing \(spam seen\)\)/);
  assert.match(text, /Mail of pool a now leaves from pool b until the address is delisted\./);
  assert.match(text, /alice@example\.com \(customer acme\): 1 messages/);
  assert.match(
    text,
    /Remote replies naming a blocklist in the hours before, by sender:\r\n\s+alice@example\.com \(customer acme\): 1 replies/,
  );
  assert.deepEqual(fresh[0]!.blocked, [{ sender: 'alice@example.com', customerName: 'acme', replies: 1 }]);
  const metrics = await lab.s.server.metrics.registry.metrics();
  assert.match(metrics, /postern_blocklist_listed\{pool="a",address="127\.0\.0\.2",zone="bl\.test"\} 1/);
  const shown = await lab.s.admin.showPool('a');
  assert.deepEqual(
    shown.blocklists.map((r) => [r.address, r.listed]),
    [['127.0.0.2', true]],
  );

  const n = sink.received.length;
  await lab.submit({ to: 'x@remote.test', subject: 'during' });
  await until(() => sink.received.length === n + 1, 5000, 'delivery during the listing');
  const during = sink.received.at(-1)!;
  assert.deepEqual([during.remoteAddress, during.ehlo], ['127.0.0.3', 'b.out.postern.test'], 'failed over to pool b');

  lab.dns.setZone(base);
  await watch.check();
  await lab.submit({ to: 'x@remote.test', subject: 'after' });
  await until(() => sink.received.length === n + 2, 5000, 'delivery after delisting');
  assert.equal(sink.received.at(-1)!.remoteAddress, '127.0.0.2', 'back on pool a');
});

test("pool check and domain check: forward-confirmed PTR matching the pool's HELO, the HELO name, SPF covering the pool, with the exact records to publish", async () => {
  lab = await twoCustomers();
  const good: FakeZone = {
    ...ZONE,
    '2.0.0.127.in-addr.arpa': { PTR: ['a.out.postern.test'] },
    'a.out.postern.test': { A: ['127.0.0.2'] },
    'example.com': { TXT: ['v=spf1 ip4:127.0.0.2 -all'] },
  };
  lab.dns.setZone(good);
  const ok = await lab.s.admin.checkPool('a');
  assert.deepEqual(
    ok.items.map((x) => `${x.id} ${x.status}`),
    ['ptr:127.0.0.2 ok', 'helo ok', 'spf:example.com ok'],
  );
  assert.equal(ok.ok, true);
  // the PTR names another host, the HELO name has no address, SPF leaves pool a out
  lab.dns.setZone({
    ...ZONE,
    '2.0.0.127.in-addr.arpa': { PTR: ['other.postern.test'] },
    'other.postern.test': { A: ['127.0.0.9'] },
    'example.com': { TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
  });
  const bad = await lab.s.admin.checkPool('a');
  const by = new Map(bad.items.map((x) => [x.id, x]));
  assert.equal(bad.ok, false);
  assert.equal(by.get('ptr:127.0.0.2')!.status, 'fail');
  assert.deepEqual(by.get('ptr:127.0.0.2')!.publish, { name: '2.0.0.127.in-addr.arpa', type: 'PTR', value: 'a.out.postern.test' });
  assert.deepEqual(by.get('helo')!.publish, { name: 'a.out.postern.test', type: 'A', value: '127.0.0.2' });
  assert.equal(by.get('spf:example.com')!.status, 'fail');
  assert.deepEqual(by.get('spf:example.com')!.publish, {
    name: 'example.com',
    type: 'TXT',
    value: 'v=spf1 ip4:192.0.2.1 ip4:127.0.0.2 -all',
  });
  // domain check looks at the pool the domain's mail leaves from
  lab.dns.setZone(good);
  const domain = await lab.s.admin.checkDomain('example.com');
  assert.match(domain.items[0]!.summary, /^mail of example\.com leaves from egress pool a \(127\.0\.0\.2, HELO a\.out\.postern\.test\)/);
  assert.equal(domain.items.find((x) => x.id === 'spf')!.status, 'ok');
  assert.equal(domain.items.find((x) => x.id === 'ptr:127.0.0.2')!.status, 'ok');
  await assert.rejects(lab.s.admin.checkPool('nope'), /no egress pool named nope/);
});
