/** Conformance cases: egress pool assignments (customer, domain, site) and which one applies to a message; blocklist results. */
import assert from 'node:assert/strict';
import { jobOf, message, result, seed, T0, type Case } from './harness.ts';

export const poolCases: Case[] = [
  {
    name: 'pools: assign adds or replaces (keeping createdAt), get, list by pool and customer, unassign',
    async run({ store }) {
      const { acme, other, ex } = await seed(store);
      assert.deepEqual(await store.pools.list(), []);
      const a = await store.pools.assign({ kind: 'customer', name: 'acme', customerId: acme.id, pool: 'blue' });
      assert.deepEqual(a, {
        kind: 'customer',
        name: 'acme',
        customerId: acme.id,
        customerName: 'acme',
        pool: 'blue',
        createdAt: a.createdAt,
        updatedAt: a.createdAt,
      });
      const d = await store.pools.assign({ kind: 'domain', name: 'example.com', customerId: acme.id, domainId: ex.id, pool: 'green' });
      await store.pools.assign({ kind: 'customer', name: 'other', customerId: other.id, pool: 'green' });
      const again = await store.pools.assign({ kind: 'customer', name: 'acme', customerId: acme.id, pool: 'green' });
      assert.equal(again.pool, 'green');
      assert.equal(again.createdAt, a.createdAt, 'replacing keeps the creation time');
      assert.ok(again.updatedAt >= a.updatedAt);
      assert.deepEqual(await store.pools.get('domain', 'example.com'), d);
      assert.equal(await store.pools.get('domain', 'nope.example'), null);
      assert.deepEqual(
        (await store.pools.list()).map((x) => `${x.kind}:${x.name}:${x.pool}`),
        ['customer:acme:green', 'customer:other:green', 'domain:example.com:green'],
      );
      assert.deepEqual(
        (await store.pools.list({ customerId: other.id })).map((x) => x.name),
        ['other'],
      );
      assert.deepEqual(await store.pools.list({ pool: 'blue' }), []);
      assert.equal(await store.pools.unassign('customer', 'acme'), true);
      assert.equal(await store.pools.unassign('customer', 'acme'), false);
      assert.deepEqual(
        (await store.pools.list({ customerId: acme.id })).map((x) => x.name),
        ['example.com'],
      );
    },
  },
  {
    name: 'pools: poolFor takes the site, else the sender domain, else the customer, and reads only that customer',
    async run({ store }) {
      const { acme, other, ex, oth } = await seed(store);
      const shop = await store.sites.add({ name: 'shop', customerId: acme.id, unixUser: null, tokenHash: 'hash-shop' });
      assert.equal(
        await store.pools.poolFor({ customerId: acme.id, senderDomain: 'example.com', siteId: shop.id }),
        null,
        'nothing assigned',
      );
      await store.pools.assign({ kind: 'customer', name: 'acme', customerId: acme.id, pool: 'cust' });
      assert.equal(await store.pools.poolFor({ customerId: acme.id, senderDomain: 'example.com', siteId: shop.id }), 'cust');
      await store.pools.assign({ kind: 'domain', name: 'example.com', customerId: acme.id, domainId: ex.id, pool: 'dom' });
      assert.equal(await store.pools.poolFor({ customerId: acme.id, senderDomain: 'example.com', siteId: null }), 'dom');
      assert.equal(
        await store.pools.poolFor({ customerId: acme.id, senderDomain: 'elsewhere.example', siteId: null }),
        'cust',
        "another sender domain: the customer's",
      );
      await store.pools.assign({ kind: 'site', name: 'shop', customerId: acme.id, siteId: shop.id, pool: 'site' });
      assert.equal(await store.pools.poolFor({ customerId: acme.id, senderDomain: 'example.com', siteId: shop.id }), 'site');
      // the wall: another customer sending as acme's domain, or naming acme's site, gets nothing of acme's
      await store.pools.assign({ kind: 'domain', name: 'other.example', customerId: other.id, domainId: oth.id, pool: 'oth' });
      assert.equal(await store.pools.poolFor({ customerId: other.id, senderDomain: 'example.com', siteId: shop.id }), null);
      assert.equal(await store.pools.poolFor({ customerId: acme.id, senderDomain: 'other.example', siteId: null }), 'cust');
      // removing the site takes its assignment with it
      assert.ok(await store.sites.remove('shop'));
      assert.equal(await store.pools.get('site', 'shop'), null);
    },
  },
  {
    name: 'pools: a claimed job carries the site that sent the message',
    async run({ store }) {
      const { acme } = await seed(store);
      const shop = await store.sites.add({ name: 'shop', customerId: acme.id, unixUser: null, tokenHash: 'hash-shop' });
      await store.queue.enqueueBatch([
        message('m-site', { customerId: acme.id, siteId: shop.id, createdAt: T0 }),
        message('m-none', { customerId: acme.id, createdAt: T0 }),
      ]);
      const jobs = await store.queue.claim({ owner: 'n1', now: T0 + 1, leaseMs: 60_000, limit: 10 });
      const byId = new Map(jobs.map((j) => [j.message.id, j.message.siteId]));
      assert.equal(byId.get('m-site'), shop.id);
      assert.equal(byId.get('m-none'), null);
    },
  },
  {
    name: 'blocklists: record keeps the newest result per address and zone, tells the new listings once, and keeps listedSince while listed',
    async run({ store }) {
      const r = (address: string, zone: string, listed: boolean, checkedAt: number) => ({
        address,
        zone,
        pool: 'a',
        listed,
        codes: listed ? ['127.0.0.2', '127.0.0.4'] : [],
        meaning: listed ? 'SBL' : null,
        checkedAt,
      });
      assert.deepEqual(await store.blocklists.list(), []);
      const first = await store.blocklists.record([
        r('192.0.2.1', 'bl.test', true, T0),
        r('192.0.2.1', 'other.test', false, T0),
        r('2001:db8::1', 'bl.test', false, T0),
      ]);
      assert.deepEqual(first, [{ ...r('192.0.2.1', 'bl.test', true, T0), listedSince: T0 }]);
      assert.deepEqual(await store.blocklists.record([r('192.0.2.1', 'bl.test', true, T0 + 10)]), [], 'still listed: not new');
      const all = await store.blocklists.list();
      assert.deepEqual(
        all.map((x) => `${x.address} ${x.zone} ${x.listed} ${x.listedSince} ${x.checkedAt}`),
        [`192.0.2.1 bl.test true ${T0} ${T0 + 10}`, '192.0.2.1 other.test false null ' + T0, `2001:db8::1 bl.test false null ${T0}`],
      );
      assert.deepEqual(all[0]!.codes, ['127.0.0.2', '127.0.0.4']);
      assert.deepEqual(await store.blocklists.record([r('192.0.2.1', 'bl.test', false, T0 + 20)]), []);
      assert.equal((await store.blocklists.list())[0]!.listedSince, null, 'delisted');
      assert.equal((await store.blocklists.record([r('192.0.2.1', 'bl.test', true, T0 + 30)])).length, 1, 'listed again: new again');
    },
  },
  {
    name: 'tracking: repliesMentioning counts deferred and failed attempts whose reply names one of the words (any case), by sender, since a time',
    async run({ store }) {
      const { acme } = await seed(store);
      await store.queue.enqueueBatch([
        message('M1', { customerId: acme.id, track: true, createdAt: T0, recipients: [{ address: 'a@r.test' }] }),
        message('M2', {
          customerId: acme.id,
          track: true,
          authUser: 'bob@example.com',
          createdAt: T0,
          recipients: [{ address: 'b@r.test' }],
        }),
        message('M3', { customerId: acme.id, track: true, createdAt: T0, recipients: [{ address: 'c@r.test' }] }),
      ]);
      const jobs = await store.queue.claim({ owner: 'n', now: T0 + 10, leaseMs: 60_000, limit: 10 });
      await store.queue.record([
        result(jobOf(jobs, 'M1'), 0, 'deferred', { at: T0 + 20, reply: '451 4.7.1 client host blocked using zen.SPAMHAUS.org' }),
        result(jobOf(jobs, 'M2'), 0, 'failed', { at: T0 + 20, reply: '550 5.2.2 mailbox full' }),
        result(jobOf(jobs, 'M3'), 0, 'failed', { at: T0 + 30, reply: '554 5.7.1 listed on a DNSBL' }),
      ]);
      assert.deepEqual(await store.tracking.repliesMentioning(T0, ['spamhaus', 'dnsbl'], 10), [
        { sender: 'alice@example.com', customerName: 'acme', replies: 2 },
      ]);
      assert.deepEqual(
        await store.tracking.repliesMentioning(T0 + 25, ['spamhaus', 'dnsbl'], 10),
        [{ sender: 'alice@example.com', customerName: 'acme', replies: 1 }],
        'only since',
      );
      assert.deepEqual(await store.tracking.repliesMentioning(T0, ['full'], 10), [
        { sender: 'bob@example.com', customerName: 'acme', replies: 1 },
      ]);
      assert.deepEqual(await store.tracking.repliesMentioning(T0, ['100%_sure'], 10), [], 'LIKE wildcards in a word are not wildcards');
      assert.deepEqual(await store.tracking.repliesMentioning(T0, [], 10), []);
    },
  },
];
