/** Conformance cases: the life of an account (customer status, rename, removal; domain removal and move). */
import assert from 'node:assert/strict';
import { conflict, message, seed, T0, type Case } from './harness.ts';

export const lifecycleCases: Case[] = [
  {
    name: 'lifecycle: a customer suspended and resumed; its mailboxes, sites and tokens carry its status; its new mail is refused at enqueue',
    async run({ store }) {
      const { acme, alice } = await seed(store);
      assert.equal((await store.customers.get('acme'))!.status, 'active');
      const site = await store.sites.add({ name: 'shop', customerId: acme.id, unixUser: null, tokenHash: 'h-site' });
      await store.apiTokens.add({ name: 'panel', customerId: acme.id, tokenHash: 'h-tok' });
      await store.apiTokens.add({ name: 'ops', customerId: null, tokenHash: 'h-ops' });
      const s = await store.customers.setStatus('acme', 'suspended', T0 + 5);
      assert.deepEqual([s!.status, s!.suspendedAt], ['suspended', T0 + 5]);
      assert.equal(
        (await store.customers.setStatus('acme', 'removing', T0 + 9))!.suspendedAt,
        T0 + 5,
        'still the time it first left active',
      );
      await store.customers.setStatus('acme', 'suspended', T0 + 10);
      assert.equal((await store.mailboxes.get(alice.address))!.customerStatus, 'suspended');
      assert.equal((await store.sites.byTokenHash('h-site'))!.customerStatus, 'suspended');
      assert.equal((await store.apiTokens.byHash('h-tok'))!.customerStatus, 'suspended');
      assert.equal((await store.apiTokens.byHash('h-ops'))!.customerStatus, null);
      const [v, w, x] = await store.queue.enqueueBatch([
        message('q1', { customerId: acme.id, mailboxId: alice.id, onSenderHold: 'hold' }),
        message('q2', { customerId: acme.id, siteId: site.id, onSenderHold: 'refuse' }),
        message('q3', { customerId: acme.id, sender: '' }), // a notice: not a submission
      ]);
      assert.deepEqual(
        [v!.outcome, (v as { reason?: string }).reason, w!.outcome, x!.outcome],
        ['refused', 'customer-suspended', 'refused', 'queued'],
      );
      assert.equal(await store.queue.get('q1'), null);
      assert.equal(await store.customers.setStatus('nobody', 'suspended', T0), null);
      const a = await store.customers.setStatus('acme', 'active', T0 + 20);
      assert.deepEqual([a!.status, a!.suspendedAt], ['active', null]);
      assert.equal((await store.mailboxes.get(alice.address))!.customerStatus, 'active');
      assert.equal(
        (await store.queue.enqueueBatch([message('q4', { customerId: acme.id, mailboxId: alice.id, onSenderHold: 'hold' })]))[0]!.outcome,
        'queued',
      );
    },
  },
  {
    name: 'lifecycle: a submission of a mailbox suspended or removed, or of a customer removed, since its session logged in is refused at enqueue',
    async run({ store }) {
      const { acme, other, alice } = await seed(store);
      await store.mailboxes.setStatus(alice.address, 'suspended');
      const [a] = await store.queue.enqueueBatch([message('s1', { customerId: acme.id, mailboxId: alice.id, onSenderHold: 'hold' })]);
      assert.deepEqual([a!.outcome, (a as { reason?: string }).reason], ['refused', 'mailbox-suspended']);
      await store.mailboxes.remove(alice.address);
      const [b] = await store.queue.enqueueBatch([message('s2', { customerId: acme.id, mailboxId: alice.id, onSenderHold: 'hold' })]);
      assert.deepEqual([b!.outcome, (b as { reason?: string }).reason], ['refused', 'mailbox-suspended']);
      await store.domains.remove('example.com');
      assert.equal(await store.customers.remove('acme'), true);
      // in one batch with another customer's message (group commit): only its own is refused
      const [c, d] = await store.queue.enqueueBatch([
        message('s3', { customerId: acme.id, onSenderHold: 'hold' }),
        message('s4', { customerId: other.id, onSenderHold: 'hold' }),
      ]);
      assert.deepEqual([c!.outcome, (c as { reason?: string }).reason, d!.outcome], ['refused', 'customer-suspended', 'queued']);
      assert.deepEqual(
        (await store.queue.list()).map((m) => m.id),
        ['s4'],
      );
    },
  },
  {
    name: 'lifecycle: a hold for the customer is a hold with its own reason, released like any other',
    async run({ store }) {
      const { acme } = await seed(store);
      await store.queue.enqueueBatch([message('h1', { customerId: acme.id })]);
      assert.equal(await store.queue.hold('h1', 'customer'), true);
      const m = (await store.queue.get('h1'))!;
      assert.deepEqual([m.state, m.holdReason], ['held', 'customer']);
      assert.equal(await store.queue.release('h1', T0 + 1), true);
      assert.equal(await store.queue.hold('h1'), true);
      assert.equal((await store.queue.get('h1'))!.holdReason, 'postmaster');
    },
  },
  {
    name: 'lifecycle: holdCustomer holds every queued message of the customer (not others, not twice), releaseCustomer only those',
    async run({ store }) {
      const { acme, other } = await seed(store);
      await store.queue.enqueueBatch([
        message('c1', { customerId: acme.id, track: true }),
        message('c2', { customerId: acme.id }),
        message('c3', { customerId: acme.id }),
        message('o1', { customerId: other.id }),
      ]);
      assert.equal(await store.queue.hold('c3'), true); // the postmaster's
      assert.equal(await store.queue.holdCustomer(acme.id, T0 + 7), 2);
      assert.equal(await store.queue.holdCustomer(acme.id, T0 + 8), 0);
      const state = async () => Object.fromEntries((await store.queue.list()).map((m) => [m.id, `${m.state}/${m.holdReason ?? '-'}`]));
      assert.deepEqual(await state(), { c1: 'held/customer', c2: 'held/customer', c3: 'held/postmaster', o1: 'queued/-' });
      assert.deepEqual(
        await store.queue
          .claim({ owner: 'n1', now: T0 + 10, leaseMs: 1000, limit: 100 })
          .then((jobs) => [...new Set(jobs.map((j) => j.message.id))]),
        ['o1'],
      );
      const held = (await store.tracking.get('c1'))!;
      assert.deepEqual([held.status, held.events.at(-1)!.reply], ['held', 'held: its customer account is suspended']);
      assert.equal(await store.queue.releaseCustomer(acme.id, T0 + 20), 2);
      assert.deepEqual(await state(), { c1: 'queued/-', c2: 'queued/-', c3: 'held/postmaster', o1: 'queued/-' });
      assert.deepEqual(
        (await store.queue.claim({ owner: 'n1', now: T0 + 20, leaseMs: 1000, limit: 100 })).map((j) => j.message.id).sort(),
        ['c1', 'c2'],
      );
      assert.equal((await store.tracking.get('c1'))!.status, 'queued');
    },
  },
  {
    name: 'lifecycle: rename carries the customer-level limits and counters; a taken name is a conflict',
    async run({ store }) {
      const { acme, alice } = await seed(store);
      await store.limits.set({ level: 'customer', target: 'acme', window: 'hour', metric: 'messages', max: 5, action: 'defer' });
      await store.queue.enqueueBatch([
        message('r1', {
          customerId: acme.id,
          mailboxId: alice.id,
          limitScope: { customer: 'acme', domain: 'example.com', mailbox: alice.address },
        }),
      ]);
      const r = await store.customers.rename('acme', 'acme-shop');
      assert.deepEqual([r!.id, r!.name], [acme.id, 'acme-shop']);
      assert.equal(await store.customers.get('acme'), null);
      assert.deepEqual(
        (await store.limits.list({ level: 'customer' })).map((l) => l.target),
        ['acme-shop'],
      );
      assert.equal((await store.limits.usage('customer', 'acme-shop', 'hour', T0)).messages, 1);
      assert.equal((await store.mailboxes.get(alice.address))!.customerName, 'acme-shop');
      assert.equal((await store.queue.get('r1'))!.customerName, 'acme-shop');
      await conflict(store.customers.rename('acme-shop', 'other'), /other/);
      assert.equal(await store.customers.rename('nobody', 'x'), null);
    },
  },
  {
    name: 'lifecycle: removing a domain takes its mailboxes, grants on it, DKIM keys, route, limits and sessions; tracking is kept and marked',
    async run({ store }) {
      const { acme, ex, alice } = await seed(store);
      const shop = await store.domains.add('shop.example', acme.id);
      const carol = await store.mailboxes.add({ address: 'carol@shop.example', domainId: shop.id, customerId: acme.id, passwordHash: 'h' });
      await store.grants.add({ mailboxId: alice.id, kind: 'domain', value: 'shop.example' });
      await store.grants.add({ mailboxId: alice.id, kind: 'address', value: 'sales@shop.example' });
      await store.grants.add({ mailboxId: alice.id, kind: 'address', value: 'info@example.com' });
      const site = await store.sites.add({ name: 'web', customerId: acme.id, unixUser: null, tokenHash: 'h-web' });
      await store.sites.addGrant({ siteId: site.id, kind: 'address', value: 'news@shop.example' });
      await store.dkim.add({
        domainId: shop.id,
        selector: 's1',
        algorithm: 'ed25519-sha256',
        privateKey: 'sealed',
        publicKey: 'pk',
        state: 'active',
      });
      await store.routes.set({ domain: 'shop.example', host: '192.0.2.1', port: 25, tls: 'none' });
      await store.limits.set({
        level: 'mailbox',
        target: 'carol@shop.example',
        window: 'day',
        metric: 'messages',
        max: 9,
        action: 'defer',
      });
      await store.limits.set({ level: 'domain', target: 'shop.example', window: 'day', metric: 'messages', max: 9, action: 'defer' });
      await store.limits.set({ level: 'domain', target: 'example.com', window: 'day', metric: 'messages', max: 9, action: 'defer' });
      await store.consoleSessions.add({
        idHash: 'sess',
        via: 'mailbox',
        subject: carol.address,
        customerId: acme.id,
        csrf: 'c',
        createdAt: T0,
        seenAt: T0,
        expiresAt: T0 + 1e9,
      });
      await store.queue.enqueueBatch([
        message('t1', { customerId: acme.id, mailboxId: carol.id, authUser: carol.address, sender: carol.address, track: true }),
      ]);
      await store.queue.remove('t1');

      assert.equal(await store.domains.remove('shop.example'), true);
      assert.equal(await store.domains.get('shop.example'), null);
      assert.equal(await store.mailboxes.get(carol.address), null);
      assert.deepEqual(
        (await store.grants.list(alice.id)).map((g) => g.value),
        ['info@example.com'],
      );
      assert.deepEqual(await store.sites.grants(site.id), []);
      assert.deepEqual(await store.dkim.list('shop.example'), []);
      assert.equal(await store.routes.get('shop.example'), null);
      assert.deepEqual(
        (await store.limits.list()).filter((l) => (l.level !== 'mailbox' && l.level !== 'site') || l.target !== '*').map((l) => l.target),
        ['example.com'],
      );
      assert.equal(await store.consoleSessions.get('sess'), null);
      const t = (await store.tracking.get('t1'))!;
      assert.deepEqual([t.customerId, t.removedTenant], [acme.id, 'domain:shop.example']);
      assert.ok(await store.domains.get(ex.name), 'the other domain stays');
      assert.equal(await store.domains.remove('shop.example'), false);
    },
  },
  {
    name: 'lifecycle: removing a customer takes everything of it; its queued mail is a conflict, its notices are detached; tracking is kept, detached and marked',
    async run({ store }) {
      const { acme, other, alice } = await seed(store);
      await store.sites.add({ name: 'web', customerId: acme.id, unixUser: null, tokenHash: 'h-web' });
      await store.apiTokens.add({ name: 'panel', customerId: acme.id, tokenHash: 'h-tok' });
      await store.suppressions.add({
        customerId: acme.id,
        address: 'x@remote.test',
        reason: 'r',
        source: 'operator',
        now: T0,
        until: T0 + 1e9,
      });
      await store.webhooks.addEndpoint({ id: 'wh1', customerId: acme.id, url: 'https://panel.test/h', secret: 's', events: ['delivered'] });
      await store.limits.set({ level: 'customer', target: 'acme', window: 'day', metric: 'messages', max: 9, action: 'defer' });
      await store.limits.set({ level: 'site', target: 'web', window: 'day', metric: 'messages', max: 9, action: 'defer' });
      await store.limits.set({ level: 'customer', target: 'other', window: 'day', metric: 'messages', max: 9, action: 'defer' });
      await store.queue.enqueueBatch([
        message('m1', { customerId: acme.id, mailboxId: alice.id, track: true }),
        message('n1', { customerId: acme.id, sender: '' }),
      ]);
      await conflict(store.customers.remove('acme'), /1 queued message/);
      assert.ok(await store.customers.get('acme'), 'nothing removed');
      assert.ok(await store.domains.get('example.com'));
      await store.queue.remove('m1');
      assert.equal(await store.customers.remove('acme'), true);
      assert.equal(await store.customers.get('acme'), null);
      assert.deepEqual(
        (await store.domains.list()).map((d) => d.name),
        ['other.example'],
      );
      assert.equal(await store.mailboxes.get(alice.address), null);
      assert.equal(await store.sites.get('web'), null);
      assert.equal(await store.apiTokens.get('panel'), null);
      assert.deepEqual(await store.suppressions.list({ customerId: acme.id }), []);
      assert.deepEqual(await store.webhooks.endpoints({ customerId: acme.id }), []);
      assert.deepEqual(
        (await store.limits.list()).filter((l) => l.target !== '*').map((l) => l.target),
        ['other'],
      );
      assert.equal((await store.queue.get('n1'))!.customerId, null, "the notice goes out as the server's own mail");
      const t = (await store.tracking.get('m1'))!;
      assert.deepEqual([t.customerId, t.customerName, t.removedTenant], [null, null, 'customer:acme']);
      // a customer added next (SQLite may reuse the id) does not see it
      const next = await store.customers.add('newcomer');
      assert.deepEqual(await store.tracking.search({ customerId: next.id }), []);
      assert.ok(await store.customers.get(other.name));
      assert.equal(await store.customers.remove('acme'), false);
    },
  },
  {
    name: 'lifecycle: moving a domain gives it and its mailboxes to the other customer and drops the given grants',
    async run({ store }) {
      const { acme, other, alice } = await seed(store);
      const shop = await store.domains.add('shop.example', acme.id);
      const carol = await store.mailboxes.add({ address: 'carol@shop.example', domainId: shop.id, customerId: acme.id, passwordHash: 'h' });
      await store.grants.add({ mailboxId: carol.id, kind: 'address', value: 'sales@shop.example' });
      await store.grants.add({ mailboxId: carol.id, kind: 'domain', value: 'example.com' });
      await store.grants.add({ mailboxId: alice.id, kind: 'domain', value: 'shop.example' });
      const key = await store.dkim.add({
        domainId: shop.id,
        selector: 's1',
        algorithm: 'ed25519-sha256',
        privateKey: 'sealed',
        publicKey: 'pk',
        state: 'active',
      });
      const before = (await store.mailboxes.get(carol.address))!;
      const d = await store.domains.move('shop.example', other.id, [
        { holder: 'mailbox', id: carol.id, name: carol.address, kind: 'domain', value: 'example.com' },
        { holder: 'mailbox', id: alice.id, name: alice.address, kind: 'domain', value: 'shop.example' },
      ]);
      assert.deepEqual([d!.customerId, d!.customerName], [other.id, 'other']);
      const moved = (await store.mailboxes.get(carol.address))!;
      assert.deepEqual([moved.customerId, moved.customerName], [other.id, 'other']);
      assert.ok(moved.credentialVersion > before.credentialVersion, 'cached logins of the old customer end');
      assert.deepEqual(
        (await store.grants.list(carol.id)).map((g) => g.value),
        ['sales@shop.example'],
      );
      assert.deepEqual(await store.grants.list(alice.id), []);
      assert.deepEqual(
        (await store.dkim.list('shop.example')).map((k) => k.id),
        [key.id],
        'the DKIM key stays',
      );
      assert.deepEqual(
        (await store.mailboxes.list({ customerName: 'acme' })).map((m) => m.address),
        ['alice@example.com'],
      );
      assert.equal(await store.domains.move('nope.example', other.id, []), null);
    },
  },
];
