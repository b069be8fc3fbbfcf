/** Conformance cases: webhook endpoints (customer-scoped), the outbox (fan-out, dedup), claims with leases across nodes, the log. */
import assert from 'node:assert/strict';
import type { Store } from '../types.ts';
import type { WebhookEventInput } from '../../core/index.ts';
import { seed, T0, type Case } from './harness.ts';

const ev = (id: string, customerId: number, over: Partial<WebhookEventInput> = {}): WebhookEventInput => ({
  id,
  type: 'delivered',
  customerId,
  at: T0,
  data: { queueId: 'Q1', recipient: 'bob@remote.test' },
  ...over,
});

async function twoEndpoints(store: Store) {
  const s = await seed(store);
  const a1 = await store.webhooks.addEndpoint({
    id: 'wh_a1',
    customerId: s.acme.id,
    url: 'https://a.example/hook',
    secret: 'sealed-1',
    events: ['delivered', 'bounced'],
  });
  const a2 = await store.webhooks.addEndpoint({
    id: 'wh_a2',
    customerId: s.acme.id,
    url: 'https://a.example/other',
    secret: 'sealed-2',
    events: ['bounced'],
  });
  const o1 = await store.webhooks.addEndpoint({
    id: 'wh_o1',
    customerId: s.other.id,
    url: 'https://o.example/hook',
    secret: 'sealed-3',
    events: ['delivered'],
  });
  return { ...s, a1, a2, o1 };
}

export const webhookCases: Case[] = [
  {
    name: 'webhooks: endpoints add, get, list, update, remove; a customer scope sees only its own',
    async run({ store }) {
      const { acme, other, a1, a2, o1 } = await twoEndpoints(store);
      assert.deepEqual(a1, {
        id: 'wh_a1',
        customerId: acme.id,
        customerName: 'acme',
        url: 'https://a.example/hook',
        secret: 'sealed-1',
        events: ['delivered', 'bounced'],
        enabled: true,
        createdAt: a1.createdAt,
        updatedAt: a1.createdAt,
      });
      assert.equal(typeof a1.createdAt, 'number');
      assert.deepEqual(await store.webhooks.endpoint('wh_a1'), a1);
      assert.deepEqual(await store.webhooks.endpoint('wh_a1', { customerId: acme.id }), a1);
      assert.equal(await store.webhooks.endpoint('wh_a1', { customerId: other.id }), null, 'another customer does not see it');
      assert.equal(await store.webhooks.endpoint('nope'), null);
      assert.deepEqual(
        (await store.webhooks.endpoints()).map((e) => e.id),
        ['wh_a1', 'wh_a2', 'wh_o1'],
      );
      assert.deepEqual(
        (await store.webhooks.endpoints({ customerId: acme.id })).map((e) => e.id),
        ['wh_a1', 'wh_a2'],
      );
      assert.deepEqual(await store.webhooks.endpoints({ customerId: other.id }), [o1]);

      assert.equal(await store.webhooks.updateEndpoint('wh_a2', { enabled: false }, { customerId: other.id }), null);
      assert.equal((await store.webhooks.endpoint('wh_a2'))!.enabled, true, 'the scoped refusal changed nothing');
      const off = await store.webhooks.updateEndpoint('wh_a2', { enabled: false });
      assert.equal(off!.enabled, false);
      assert.ok(off!.updatedAt > a2.updatedAt);
      const rotated = await store.webhooks.updateEndpoint('wh_a1', { secret: 'sealed-new' }, { customerId: acme.id });
      assert.equal(rotated!.secret, 'sealed-new');
      assert.equal(rotated!.enabled, true);
      assert.equal(await store.webhooks.updateEndpoint('nope', { enabled: true }), null);

      assert.equal(await store.webhooks.removeEndpoint('wh_o1', { customerId: acme.id }), false, "not acme's");
      assert.equal(await store.webhooks.removeEndpoint('wh_o1'), true);
      assert.equal(await store.webhooks.removeEndpoint('wh_o1'), false);
      assert.deepEqual(
        (await store.webhooks.endpoints()).map((e) => e.id),
        ['wh_a1', 'wh_a2'],
      );
    },
  },
  {
    name: 'webhooks: an event goes to each enabled subscriber of its customer, once per event id; ping to one endpoint',
    async run({ store }) {
      const { acme, other } = await twoEndpoints(store);
      assert.equal(await store.webhooks.enqueue([ev('e1', acme.id)], T0 + 10), 1, 'delivered: wh_a1 only');
      assert.equal(await store.webhooks.enqueue([ev('e2', acme.id, { type: 'bounced' })], T0 + 11), 2, 'bounced: both of acme');
      assert.equal(
        await store.webhooks.enqueue([ev('e1', acme.id), ev('e2', acme.id, { type: 'bounced' })], T0 + 12),
        0,
        'the same events again: nothing',
      );
      assert.equal(await store.webhooks.enqueue([ev('e3', acme.id, { type: 'held' })], T0 + 13), 0, 'nobody subscribed to held');
      assert.equal(
        await store.webhooks.enqueue([ev('e4', other.id), ev('e4', other.id)], T0 + 14),
        1,
        'a duplicate within one batch counts once',
      );
      await store.webhooks.updateEndpoint('wh_a2', { enabled: false });
      assert.equal(
        await store.webhooks.enqueue([ev('e5', acme.id, { type: 'bounced' })], T0 + 15),
        1,
        'a disabled endpoint gets nothing new',
      );
      assert.equal(await store.webhooks.enqueue([ev('p1', acme.id, { type: 'ping', endpointId: 'wh_a1' })], T0 + 16), 1);
      assert.equal(
        await store.webhooks.enqueue([ev('p2', other.id, { type: 'ping', endpointId: 'wh_a1' })], T0 + 17),
        0,
        "never to another customer's endpoint",
      );
      assert.equal(await store.webhooks.enqueue([], T0), 0);

      const log = await store.webhooks.log();
      assert.deepEqual(
        log.map((d) => d.eventId),
        ['p1', 'e5', 'e4', 'e2', 'e2', 'e1'],
        'newest first',
      );
      assert.deepEqual(
        log
          .filter((d) => d.eventId === 'e2')
          .map((d) => d.endpointId)
          .sort(),
        ['wh_a1', 'wh_a2'],
      );
      const first = log.at(-1)!;
      assert.deepEqual(first, {
        id: first.id,
        endpointId: 'wh_a1',
        customerName: 'acme',
        eventId: 'e1',
        eventType: 'delivered',
        eventAt: T0,
        data: { queueId: 'Q1', recipient: 'bob@remote.test' },
        attempts: 0,
        state: 'pending',
        nextAttemptAt: T0 + 10,
        lastStatus: null,
        lastError: null,
        lastAttemptAt: null,
        createdAt: T0 + 10,
        deliveredAt: null,
      });
      assert.deepEqual(
        (await store.webhooks.log({ customerId: other.id })).map((d) => d.eventId),
        ['e4'],
        'scoped to the customer',
      );
      assert.deepEqual(
        (await store.webhooks.log({ endpointId: 'wh_a2' })).map((d) => d.eventId),
        ['e2'],
      );
      assert.deepEqual(await store.webhooks.log({ endpointId: 'wh_a2', customerId: other.id }), []);
      assert.deepEqual(
        (await store.webhooks.log({ customerId: acme.id, limit: 2 })).map((d) => d.eventId),
        ['p1', 'e5'],
      );
      await store.webhooks.removeEndpoint('wh_a1');
      assert.deepEqual(
        (await store.webhooks.log({ customerId: acme.id })).map((d) => d.eventId),
        ['e2'],
        'deliveries go with their endpoint',
      );
    },
  },
  {
    name: 'webhooks: claim leases due deliveries of enabled endpoints; record only under the lease; retries, failure, release, prune',
    async run({ store, open }) {
      const { acme } = await twoEndpoints(store);
      await store.webhooks.enqueue([ev('e1', acme.id), ev('e2', acme.id, { type: 'bounced' })], T0);
      const node2 = await open();
      const mine = await store.webhooks.claim({ owner: 'n1', now: T0 + 5, leaseMs: 100_000, limit: 2 });
      const theirs = await node2.webhooks.claim({ owner: 'n2', now: T0 + 5, leaseMs: 100_000, limit: 10 });
      assert.equal(mine.length, 2);
      assert.equal(theirs.length, 1, 'the other node gets only what is left');
      const all = [...mine, ...theirs];
      assert.equal(new Set(all.map((j) => j.id)).size, 3, 'no delivery claimed twice');
      const j = mine.find((x) => x.eventId === 'e1')!;
      assert.equal(j.url, 'https://a.example/hook');
      assert.equal(j.secret, 'sealed-1');
      assert.equal(j.customerName, 'acme');
      assert.deepEqual(j.lease, { owner: 'n1', until: T0 + 100_005 });
      assert.equal(j.nextAttemptAt, T0 + 100_005);
      assert.deepEqual(await store.webhooks.claim({ owner: 'n1', now: T0 + 6, leaseMs: 1000, limit: 10 }), [], 'leased: not due');

      // a retry: pending again, due later
      assert.equal(
        await store.webhooks.record({
          id: j.id,
          lease: j.lease,
          at: T0 + 7,
          state: 'pending',
          nextAttemptAt: T0 + 30_000,
          status: 500,
          error: 'HTTP 500',
        }),
        true,
      );
      assert.equal(
        await store.webhooks.record({
          id: j.id,
          lease: j.lease,
          at: T0 + 8,
          state: 'delivered',
          nextAttemptAt: 0,
          status: 200,
          error: null,
        }),
        false,
        'the lease was used up',
      );
      let row = (await store.webhooks.log()).find((d) => d.id === j.id)!;
      assert.deepEqual(
        [row.state, row.attempts, row.nextAttemptAt, row.lastStatus, row.lastError, row.lastAttemptAt],
        ['pending', 1, T0 + 30_000, 500, 'HTTP 500', T0 + 7],
      );
      assert.deepEqual(await store.webhooks.claim({ owner: 'n1', now: T0 + 29_999, leaseMs: 1000, limit: 10 }), []);
      const again = await node2.webhooks.claim({ owner: 'n2', now: T0 + 30_000, leaseMs: 1000, limit: 10 });
      assert.deepEqual(
        again.map((x) => x.id),
        [j.id],
      );
      assert.equal(again[0]!.attempts, 1);
      assert.equal(
        await store.webhooks.record({
          id: j.id,
          lease: j.lease,
          at: T0 + 30_001,
          state: 'failed',
          nextAttemptAt: 0,
          status: null,
          error: 'late',
        }),
        false,
        'an old lease writes nothing',
      );
      assert.equal(
        await node2.webhooks.record({
          id: j.id,
          lease: again[0]!.lease,
          at: T0 + 30_002,
          state: 'delivered',
          nextAttemptAt: 0,
          status: 204,
          error: null,
        }),
        true,
      );
      row = (await store.webhooks.log()).find((d) => d.id === j.id)!;
      assert.deepEqual([row.state, row.attempts, row.deliveredAt, row.lastStatus, row.lastError], ['delivered', 2, T0 + 30_002, 204, null]);

      const k = mine.find((x) => x.eventId === 'e2')!;
      assert.equal(
        await store.webhooks.record({
          id: k.id,
          lease: k.lease,
          at: T0 + 9,
          state: 'failed',
          nextAttemptAt: 0,
          status: 410,
          error: 'HTTP 410',
        }),
        true,
      );
      assert.equal((await store.webhooks.log()).find((d) => d.id === k.id)!.state, 'failed');

      // n2 restarts: its lease comes back at once, but not while the endpoint is disabled
      const t = theirs[0]!;
      assert.equal(await node2.webhooks.releaseLeases('n2', T0 + 40_000), 1);
      assert.equal(await node2.webhooks.releaseLeases('n2', T0 + 40_000), 0);
      await store.webhooks.updateEndpoint(t.endpointId, { enabled: false });
      assert.deepEqual(await store.webhooks.claim({ owner: 'n1', now: T0 + 40_000, leaseMs: 1000, limit: 10 }), []);
      await store.webhooks.updateEndpoint(t.endpointId, { enabled: true });
      assert.deepEqual(
        (await store.webhooks.claim({ owner: 'n1', now: T0 + 40_000, leaseMs: 1000, limit: 10 })).map((x) => x.id),
        [t.id],
      );

      assert.equal(await store.webhooks.prune(T0 + 1), 2, 'delivered and failed ones created before');
      assert.deepEqual(
        (await store.webhooks.log()).map((d) => d.id),
        [t.id],
        'the pending one stays',
      );
    },
  },
  {
    name: 'webhooks: the outbox survives a reopen (another process picks pending deliveries up)',
    async run({ store, open }) {
      const { acme } = await twoEndpoints(store);
      await store.webhooks.enqueue([ev('e1', acme.id)], T0);
      await store.close();
      const again = await open();
      const jobs = await again.webhooks.claim({ owner: 'n1', now: T0 + 1, leaseMs: 1000, limit: 10 });
      assert.deepEqual(
        jobs.map((j) => [j.eventId, j.endpointId, j.data]),
        [['e1', 'wh_a1', { queueId: 'Q1', recipient: 'bob@remote.test' }]],
      );
    },
  },
];
