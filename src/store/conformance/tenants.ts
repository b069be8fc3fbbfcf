/** Conformance cases: customers, domains, mailboxes (with holds) and their sender grants. */
import assert from 'node:assert/strict';
import { conflict, message, result, seed, T0, type Case } from './harness.ts';

export const tenantCases: Case[] = [
  {
    name: 'customers: add, get, list, setContact; add returns what get returns',
    async run({ store, adapter }) {
      assert.equal(store.kind, adapter);
      assert.deepEqual(await store.customers.list(), []);
      assert.equal(await store.customers.get('acme'), null);
      const c = await store.customers.add('acme');
      const b = await store.customers.add('beta', 'ops@beta.example');
      assert.equal(c.name, 'acme');
      assert.equal(c.contact, null);
      assert.equal(b.contact, 'ops@beta.example');
      assert.ok(c.id > 0);
      assert.notEqual(b.id, c.id);
      assert.equal(typeof c.id, 'number');
      assert.equal(typeof c.createdAt, 'number');
      assert.deepEqual(await store.customers.get('acme'), c);
      assert.deepEqual(await store.customers.get('beta'), b);
      assert.deepEqual(await store.customers.list(), [c, b]);
      const u = await store.customers.setContact('acme', 'abuse@acme.example');
      assert.deepEqual(u, { ...c, contact: 'abuse@acme.example' });
      assert.deepEqual(await store.customers.get('acme'), u);
      assert.equal((await store.customers.setContact('acme', null))!.contact, null);
      assert.equal(await store.customers.setContact('nobody', 'x@y.example'), null);
      assert.equal(await store.customers.get('nobody'), null, 'setContact creates nothing');
    },
  },
  {
    name: 'customers: a duplicate name is a StoreError conflict',
    async run({ store }) {
      await store.customers.add('acme');
      await conflict(store.customers.add('acme'), /acme/);
      assert.equal((await store.customers.list()).length, 1);
    },
  },
  {
    name: 'domains: add, get, list (all and by customer); a duplicate is a conflict',
    async run({ store }) {
      const { acme, other, ex } = await seed(store);
      assert.equal(ex.name, 'example.com');
      assert.equal(ex.customerId, acme.id);
      assert.equal(ex.customerName, 'acme');
      assert.equal(typeof ex.createdAt, 'number');
      await store.domains.add('second.example', acme.id);
      assert.deepEqual(await store.domains.get('example.com'), ex);
      assert.equal(await store.domains.get('missing.example'), null);
      assert.deepEqual(
        (await store.domains.list()).map((x) => x.name),
        ['example.com', 'other.example', 'second.example'],
      );
      assert.deepEqual(
        (await store.domains.list('acme')).map((x) => x.name),
        ['example.com', 'second.example'],
      );
      assert.deepEqual(
        (await store.domains.list('other')).map((x) => x.name),
        ['other.example'],
      );
      assert.deepEqual(await store.domains.list('nobody'), []);
      await conflict(store.domains.add('example.com', other.id), /example\.com/);
      assert.equal((await store.domains.get('example.com'))!.customerName, 'acme', 'the conflict changed nothing');
      await assert.rejects(store.domains.add('orphan.example', 999_999), 'a domain of no customer');
      assert.equal(await store.domains.get('orphan.example'), null);
    },
  },
  {
    name: 'mailboxes: add, get, list with filters, remove; a duplicate is a conflict',
    async run({ store }) {
      const { acme, other, ex, oth, alice } = await seed(store);
      assert.deepEqual(alice, {
        id: alice.id,
        address: 'alice@example.com',
        domainId: ex.id,
        customerId: acme.id,
        customerName: 'acme',
        customerStatus: 'active',
        passwordHash: 'h1',
        credentialVersion: 1,
        status: 'active',
        heldSince: null,
        holdReason: null,
        releasedAt: null,
        source: 'postern',
        importedHash: null,
        appPasswordsOnly: false,
        createdAt: alice.createdAt,
        updatedAt: alice.createdAt,
      });
      assert.equal(typeof alice.createdAt, 'number');
      assert.deepEqual(await store.mailboxes.get('alice@example.com'), alice);
      assert.equal(await store.mailboxes.get('nobody@example.com'), null);
      await store.mailboxes.add({ address: 'bob@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'h2' });
      await store.mailboxes.add({ address: 'zed@other.example', domainId: oth.id, customerId: other.id, passwordHash: 'h3' });
      assert.deepEqual(
        (await store.mailboxes.list()).map((m) => m.address),
        ['alice@example.com', 'bob@example.com', 'zed@other.example'],
      );
      assert.deepEqual(
        (await store.mailboxes.list({ customerName: 'acme' })).map((m) => m.address),
        ['alice@example.com', 'bob@example.com'],
      );
      assert.deepEqual(
        (await store.mailboxes.list({ domain: 'other.example' })).map((m) => m.address),
        ['zed@other.example'],
      );
      assert.deepEqual(await store.mailboxes.list({ customerName: 'acme', domain: 'other.example' }), []);
      assert.deepEqual(await store.mailboxes.list({ domain: 'missing.example' }), []);
      assert.equal(await store.mailboxes.remove('bob@example.com'), true);
      assert.equal(await store.mailboxes.remove('bob@example.com'), false);
      assert.equal(await store.mailboxes.get('bob@example.com'), null);
      await conflict(
        store.mailboxes.add({ address: 'alice@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'x' }),
        /alice@example\.com/,
      );
      assert.equal((await store.mailboxes.get('alice@example.com'))!.passwordHash, 'h1');
    },
  },
  {
    name: 'mailboxes: setPassword and setStatus bump credentialVersion; a no-op status change does not',
    async run({ store }) {
      const { alice } = await seed(store);
      const p = await store.mailboxes.setPassword('alice@example.com', 'h-new');
      assert.ok(p);
      assert.equal(p.passwordHash, 'h-new');
      assert.equal(p.credentialVersion, alice.credentialVersion + 1);
      assert.ok(p.updatedAt > alice.updatedAt);
      assert.deepEqual(await store.mailboxes.get('alice@example.com'), p);
      const s = await store.mailboxes.setStatus('alice@example.com', 'suspended');
      assert.equal(s!.status, 'suspended');
      assert.equal(s!.credentialVersion, alice.credentialVersion + 2);
      const same = await store.mailboxes.setStatus('alice@example.com', 'suspended');
      assert.equal(same!.credentialVersion, alice.credentialVersion + 2, 'suspending a suspended mailbox changes nothing');
      const r = await store.mailboxes.setStatus('alice@example.com', 'active');
      assert.equal(r!.status, 'active');
      assert.equal(r!.credentialVersion, alice.credentialVersion + 3);
      assert.equal(await store.mailboxes.setPassword('nobody@example.com', 'x'), null);
      assert.equal(await store.mailboxes.setStatus('nobody@example.com', 'suspended'), null);
    },
  },
  {
    name: 'mailboxes: hold, unhold, held (oldest hold first; a second hold is a no-op)',
    async run({ store }) {
      const { acme, ex, alice } = await seed(store);
      const bob = await store.mailboxes.add({ address: 'bob@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'h2' });
      assert.deepEqual(await store.mailboxes.held(), []);
      assert.equal(await store.mailboxes.hold(alice.id, 'too many recipients', T0 + 5000), true);
      assert.equal(await store.mailboxes.hold(alice.id, 'another reason', T0 + 6000), false, 'already held');
      assert.equal(await store.mailboxes.hold(bob.id, 'bounces', T0 + 4000), true);
      assert.deepEqual(
        (await store.mailboxes.held()).map((m) => m.address),
        ['bob@example.com', 'alice@example.com'],
      );
      const a = (await store.mailboxes.get('alice@example.com'))!;
      assert.deepEqual([a.heldSince, a.holdReason, a.releasedAt], [T0 + 5000, 'too many recipients', null]);
      assert.equal(await store.mailboxes.unhold(alice.id, T0 + 7000), true);
      assert.equal(await store.mailboxes.unhold(alice.id, T0 + 7500), false, 'not held');
      const r = (await store.mailboxes.get('alice@example.com'))!;
      assert.deepEqual([r.heldSince, r.holdReason, r.releasedAt], [null, null, T0 + 7000]);
      assert.deepEqual(
        (await store.mailboxes.held()).map((m) => m.address),
        ['bob@example.com'],
      );
      assert.equal(await store.mailboxes.hold(alice.id, 'again', T0 + 8000), true);
      const again = (await store.mailboxes.get('alice@example.com'))!;
      assert.deepEqual(
        [again.heldSince, again.holdReason, again.releasedAt],
        [T0 + 8000, 'again', T0 + 7000],
        'releasedAt is when a hold was last released',
      );
      assert.equal(await store.mailboxes.hold(999_999, 'x', T0), false);
      assert.equal(await store.mailboxes.unhold(999_999, T0), false);
    },
  },
  {
    name: 'mailboxes: removing one takes its grants and login state with it; its queued mail stays; the address can be added again',
    async run({ store }) {
      const { acme, ex, alice } = await seed(store);
      await store.grants.add({ mailboxId: alice.id, kind: 'address', value: 'orders@example.com' });
      await store.authGuard.recordFailure(alice.id, T0, 5, 60_000);
      await store.authGuard.recordSuccess(alice.id, '192.0.2.1', T0);
      await store.activity.loginFrom(alice.id, '192.0.2.0/24', T0 - (T0 % 3_600_000));
      await store.activity.spam(alice.id, T0 - (T0 % 3_600_000));
      await store.queue.enqueueBatch([message('KEEP', { customerId: acme.id, mailboxId: alice.id })]);
      assert.equal(await store.mailboxes.remove('alice@example.com'), true);
      assert.deepEqual(await store.grants.list(alice.id), []);
      assert.deepEqual(await store.authGuard.loginState(alice.id), { failures: 0, lockedUntil: null });
      assert.equal(await store.authGuard.isKnownIp(alice.id, '192.0.2.1', 0, 10), false);
      assert.equal((await store.queue.get('KEEP'))!.state, 'queued');
      // its mail is still delivered and recorded (the activity of a mailbox that is gone is skipped, never a foreign-key error)
      assert.deepEqual(await store.queue.enqueueBatch([message('LATE', { customerId: acme.id, mailboxId: alice.id, createdAt: T0 + 1 })]), [
        { id: 'LATE', outcome: 'queued' },
      ]);
      const jobs = await store.queue.claim({ owner: 'n', now: T0 + 10, leaseMs: 60_000, limit: 10 });
      const r = await store.queue.record(jobs.flatMap((j) => j.recipients.map((x) => result(j, x.idx, 'delivered', { at: T0 + 20 }))));
      assert.deepEqual(r.finished.map((f) => f.id).sort(), ['KEEP', 'LATE']);
      const again = await store.mailboxes.add({ address: 'alice@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'h9' });
      assert.equal(again.credentialVersion, 1);
      assert.deepEqual(await store.grants.list(again.id), [], 'nothing of the old mailbox is inherited (SQLite may reuse its id)');
      assert.deepEqual(await store.authGuard.loginState(again.id), { failures: 0, lockedUntil: null });
    },
  },
  {
    name: 'grants: add (false when present), list by kind and value, remove (false when absent), per mailbox',
    async run({ store }) {
      const { acme, ex, alice } = await seed(store);
      const bob = await store.mailboxes.add({ address: 'bob@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'h2' });
      assert.deepEqual(await store.grants.list(alice.id), []);
      assert.equal(await store.grants.add({ mailboxId: alice.id, kind: 'null-sender', value: '' }), true);
      assert.equal(await store.grants.add({ mailboxId: alice.id, kind: 'domain', value: 'example.com' }), true);
      assert.equal(await store.grants.add({ mailboxId: alice.id, kind: 'address', value: 'orders@example.com' }), true);
      assert.equal(await store.grants.add({ mailboxId: alice.id, kind: 'address', value: 'orders@example.com' }), false);
      assert.equal(await store.grants.add({ mailboxId: alice.id, kind: 'address', value: 'info@example.com' }), true);
      const list = await store.grants.list(alice.id);
      assert.deepEqual(
        list.map((g) => [g.mailboxId, g.kind, g.value]),
        [
          [alice.id, 'address', 'info@example.com'],
          [alice.id, 'address', 'orders@example.com'],
          [alice.id, 'domain', 'example.com'],
          [alice.id, 'null-sender', ''],
        ],
      );
      assert.ok(list.every((g) => typeof g.createdAt === 'number'));
      assert.deepEqual(await store.grants.list(bob.id), []);
      assert.equal(
        await store.grants.add({ mailboxId: bob.id, kind: 'address', value: 'orders@example.com' }),
        true,
        'grants are per mailbox',
      );
      assert.equal(await store.grants.remove({ mailboxId: alice.id, kind: 'address', value: 'orders@example.com' }), true);
      assert.equal(await store.grants.remove({ mailboxId: alice.id, kind: 'address', value: 'orders@example.com' }), false);
      assert.equal(await store.grants.remove({ mailboxId: alice.id, kind: 'domain', value: 'other.example' }), false);
      assert.deepEqual(
        (await store.grants.list(alice.id)).map((g) => g.value),
        ['info@example.com', 'example.com', ''],
      );
      assert.deepEqual(
        (await store.grants.list(bob.id)).map((g) => g.value),
        ['orders@example.com'],
      );
    },
  },
];
