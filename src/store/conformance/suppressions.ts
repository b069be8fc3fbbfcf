/** Conformance cases: the suppression list (per customer, case-insensitive, expiring, pruned). */
import assert from 'node:assert/strict';
import { seed, T0, type Case } from './harness.ts';

const DAY = 86_400_000;

export const suppressionCases: Case[] = [
  {
    name: 'suppressions: add, find (case-insensitive in local part and domain), per customer only',
    async run({ store }) {
      const { acme, other } = await seed(store);
      const e = await store.suppressions.add({
        customerId: acme.id,
        address: 'Bob@Remote.TEST',
        reason: '550 5.1.1 no such user',
        source: 'bounce',
        now: T0,
        until: T0 + 30 * DAY,
      });
      assert.deepEqual(e, {
        customerId: acme.id,
        customerName: 'acme',
        address: 'Bob@Remote.TEST',
        reason: '550 5.1.1 no such user',
        source: 'bounce',
        createdAt: T0,
        updatedAt: T0,
        until: T0 + 30 * DAY,
      });
      assert.deepEqual(await store.suppressions.find(acme.id, 'bob@remote.test', T0 + 1), e);
      assert.deepEqual(await store.suppressions.find(acme.id, 'BOB@REMOTE.test', T0 + 1), e);
      assert.equal(await store.suppressions.find(other.id, 'bob@remote.test', T0 + 1), null, 'another customer is not suppressed');
      assert.equal(await store.suppressions.find(acme.id, 'bob2@remote.test', T0 + 1), null);
    },
  },
  {
    name: 'suppressions: an expired entry does not count, and prune removes exactly the expired ones',
    async run({ store }) {
      const { acme, other } = await seed(store);
      await store.suppressions.add({
        customerId: acme.id,
        address: 'a@remote.test',
        reason: 'r',
        source: 'bounce',
        now: T0,
        until: T0 + 1000,
      });
      await store.suppressions.add({
        customerId: other.id,
        address: 'b@remote.test',
        reason: 'r',
        source: 'operator',
        now: T0,
        until: T0 + 5000,
      });
      assert.ok(await store.suppressions.find(acme.id, 'a@remote.test', T0 + 999));
      assert.equal(await store.suppressions.find(acme.id, 'a@remote.test', T0 + 1000), null, 'ends at until');
      assert.deepEqual(
        (await store.suppressions.list({ now: T0 + 1000 })).map((s) => s.address),
        ['b@remote.test'],
      );
      assert.equal((await store.suppressions.list()).length, 2, 'without now, expired entries are listed until pruned');
      assert.equal(await store.suppressions.prune(T0 + 1000), 1);
      assert.equal(await store.suppressions.prune(T0 + 1000), 0);
      assert.deepEqual(
        (await store.suppressions.list()).map((s) => s.address),
        ['b@remote.test'],
      );
    },
  },
  {
    name: 'suppressions: add again refreshes the reason and source and only ever extends until',
    async run({ store }) {
      const { acme } = await seed(store);
      await store.suppressions.add({
        customerId: acme.id,
        address: 'bob@remote.test',
        reason: 'first',
        source: 'operator',
        now: T0,
        until: T0 + 10 * DAY,
      });
      const longer = await store.suppressions.add({
        customerId: acme.id,
        address: 'BOB@remote.test',
        reason: '550 5.1.1 gone',
        source: 'bounce',
        now: T0 + 5,
        until: T0 + 30 * DAY,
      });
      assert.deepEqual(
        [longer.address, longer.reason, longer.source, longer.createdAt, longer.updatedAt, longer.until],
        ['BOB@remote.test', '550 5.1.1 gone', 'bounce', T0, T0 + 5, T0 + 30 * DAY],
      );
      const shorter = await store.suppressions.add({
        customerId: acme.id,
        address: 'bob@remote.test',
        reason: 'again',
        source: 'operator',
        now: T0 + 9,
        until: T0 + DAY,
      });
      assert.deepEqual([shorter.reason, shorter.updatedAt, shorter.until], ['again', T0 + 9, T0 + 30 * DAY], 'until is never shortened');
      assert.equal((await store.suppressions.list()).length, 1, 'one entry per customer and address');
      // an entry that had ended starts anew
      const later = T0 + 31 * DAY;
      const fresh = await store.suppressions.add({
        customerId: acme.id,
        address: 'bob@remote.test',
        reason: 'new',
        source: 'bounce',
        now: later,
        until: later + DAY,
      });
      assert.deepEqual([fresh.createdAt, fresh.until], [later, later + DAY]);
    },
  },
  {
    name: 'suppressions: list newest first, filtered by customer and address, limited; remove is per customer',
    async run({ store }) {
      const { acme, other } = await seed(store);
      const add = (customerId: number, address: string, now: number) =>
        store.suppressions.add({ customerId, address, reason: 'r', source: 'bounce', now, until: now + DAY });
      await add(acme.id, 'one@remote.test', T0 + 1);
      await add(acme.id, 'two@remote.test', T0 + 3);
      await add(other.id, 'one@remote.test', T0 + 2);
      const keys = (xs: { customerName: string; address: string }[]) => xs.map((s) => `${s.customerName}/${s.address}`);
      assert.deepEqual(keys(await store.suppressions.list()), ['acme/two@remote.test', 'other/one@remote.test', 'acme/one@remote.test']);
      assert.deepEqual(keys(await store.suppressions.list({ customerId: acme.id })), ['acme/two@remote.test', 'acme/one@remote.test']);
      assert.deepEqual(keys(await store.suppressions.list({ address: 'ONE@remote.test' })), [
        'other/one@remote.test',
        'acme/one@remote.test',
      ]);
      assert.deepEqual(keys(await store.suppressions.list({ customerId: other.id, address: 'one@remote.test' })), [
        'other/one@remote.test',
      ]);
      assert.deepEqual(keys(await store.suppressions.list({ limit: 1 })), ['acme/two@remote.test']);

      assert.equal(await store.suppressions.remove(other.id, 'two@remote.test'), false, 'not suppressed for that customer');
      assert.equal(await store.suppressions.remove(acme.id, 'One@Remote.Test'), true);
      assert.equal(await store.suppressions.remove(acme.id, 'one@remote.test'), false);
      assert.ok(await store.suppressions.find(other.id, 'one@remote.test', T0 + 10), "the other customer's entry stays");
    },
  },
  {
    name: 'suppressions: another node sees an entry at once',
    async run({ store, open }) {
      const { acme } = await seed(store);
      const node2 = await open();
      await node2.suppressions.add({
        customerId: acme.id,
        address: 'bob@remote.test',
        reason: 'r',
        source: 'bounce',
        now: T0,
        until: T0 + DAY,
      });
      assert.ok(await store.suppressions.find(acme.id, 'bob@remote.test', T0 + 1));
    },
  },
];
