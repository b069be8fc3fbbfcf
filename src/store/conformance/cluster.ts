/**
 * Conformance cases with two stores on one database (two nodes, or a reopen): persistence, no
 * stale reads, parallel claims, and a burst of enqueues against a limit.
 */
import assert from 'node:assert/strict';
import type { Store } from '../types.ts';
import { bodyOf, claimedKeys, message, seed, T0, type Case } from './harness.ts';

export const clusterCases: Case[] = [
  {
    name: 'two stores: everything survives closing and reopening the database',
    async run({ store, open }) {
      const { acme } = await seed(store);
      await store.routes.set({ domain: 'example.com', host: 'relay.test', port: 2525, tls: 'required' });
      await store.queue.enqueueBatch([message('persist', { customerId: acme.id })]);
      await store.close();
      const again = await open();
      assert.equal((await again.mailboxes.get('alice@example.com'))!.customerName, 'acme');
      assert.equal((await again.routes.get('example.com'))!.port, 2525);
      assert.deepEqual(
        (await again.queue.get('persist'))!.recipients.map((r) => r.address),
        ['bob@remote.test', 'carol@remote.test'],
      );
      assert.deepEqual(await again.queue.inlineBody('persist'), bodyOf('persist'));
      assert.equal((await again.limits.list()).length, 4, 'reopening does not add the default limits again');
    },
  },
  {
    name: 'two stores: what one writes the other reads at once',
    async run({ store: a, open }) {
      const b = await open();
      await seed(a);
      assert.equal((await b.mailboxes.get('alice@example.com'))!.passwordHash, 'h1');
      await a.mailboxes.setPassword('alice@example.com', 'h2');
      assert.equal((await b.mailboxes.get('alice@example.com'))!.passwordHash, 'h2');
      await b.queue.enqueueBatch([message('fromB')]);
      assert.equal(await a.queue.stateOf('fromB'), 'queued');
      const [job] = await a.queue.claim({ owner: 'a', now: T0, leaseMs: 60_000, limit: 10 });
      assert.ok(job);
      assert.ok((await b.queue.get('fromB'))!.recipients.every((r) => r.leaseOwner === 'a'));
      assert.deepEqual(await b.queue.claim({ owner: 'b', now: T0, leaseMs: 60_000, limit: 10 }), []);
    },
  },
  {
    name: 'two stores: claims in parallel never hand out the same recipient',
    async run({ store: a, open }) {
      const b = await open();
      const domains = ['one.test', 'two.test', 'three.test'];
      const batch = Array.from({ length: 30 }, (_, i) =>
        message(`P${String(i).padStart(2, '0')}`, {
          createdAt: T0 + (i % 5),
          recipients: domains.map((d, k) => ({ address: `r${k}@${d}` })),
        }),
      );
      await a.queue.enqueueBatch(batch.slice(0, 15));
      await b.queue.enqueueBatch(batch.slice(15));
      const got: { owner: string; key: string }[] = [];
      const worker = async (s: Store, owner: string) => {
        for (let i = 0; i < 15; i++) {
          const jobs = await s.queue.claim({ owner, now: T0 + 1000, leaseMs: 600_000, limit: 7 });
          for (const key of claimedKeys(jobs)) got.push({ owner, key });
          assert.ok(jobs.every((j) => j.lease.owner === owner));
        }
      };
      await Promise.all([worker(a, 'a1'), worker(b, 'b1'), worker(a, 'a2'), worker(b, 'b2'), worker(b, 'b3')]);
      // a claim may skip rows another one holds at that instant: whatever is left is taken now
      for (const key of claimedKeys(await a.queue.claim({ owner: 'last', now: T0 + 1000, leaseMs: 600_000, limit: 1000 })))
        got.push({ owner: 'last', key });
      const keys = got.map((g) => g.key);
      const dups = keys.filter((k, i) => keys.indexOf(k) !== i);
      assert.deepEqual(dups, [], 'no recipient was claimed twice');
      assert.equal(keys.length, 90, 'every recipient was claimed');
      assert.ok(new Set(got.map((g) => g.owner)).size >= 2, 'both stores took part');
      const owners = new Map(got.map((g) => [g.key, g.owner]));
      for (const m of await b.queue.list()) {
        for (const r of m.recipients)
          assert.equal(r.leaseOwner, owners.get(`${m.id}/${r.idx}`), `${m.id}/${r.idx} is leased to whoever claimed it`);
      }
    },
  },
  {
    name: 'two stores: a burst of enqueues in parallel against a limit of 10 messages an hour queues exactly 10',
    async run({ store: a, open }) {
      const b = await open();
      const { acme } = await seed(a);
      await a.limits.set({ level: 'customer', target: 'acme', window: 'hour', metric: 'messages', max: 10, action: 'defer' });
      const scope = { customer: 'acme', domain: 'example.com' };
      const verdicts = (
        await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            (i % 2 ? a : b).queue.enqueueBatch([message(`B${i}`, { customerId: acme.id, limitScope: scope, createdAt: T0 + i })]),
          ),
        )
      ).flat();
      const queued = verdicts.filter((v) => v.outcome === 'queued');
      const refused = verdicts.filter((v) => v.outcome === 'refused');
      assert.equal(queued.length, 10, `queued: ${queued.map((v) => v.id).join(', ')}`);
      assert.equal(refused.length, 20);
      assert.ok(refused.every((v) => v.outcome === 'refused' && v.action === 'defer'));
      assert.equal(await a.queue.count(), 10);
      assert.deepEqual((await b.queue.list()).map((m) => m.id).sort(), queued.map((v) => v.id).sort());
      const u = await b.limits.usage('customer', 'acme', 'hour', T0);
      assert.deepEqual([u.messages, u.recipients], [10, 20]);
    },
  },
];
