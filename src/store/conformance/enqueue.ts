/** Conformance cases: enqueueBatch (limits, held senders, held caps, content holds), reads and list filters. */
import assert from 'node:assert/strict';
import { NEVER, type NewMessage, type LimitScope } from '../../core/index.ts';
import type { LimitRule, EnqueueVerdict } from '../../limits/index.ts';
import { bodyOf, HOUR, hourOf, jobOf, message, result, seed, T0, type Case } from './harness.ts';

const ids = (ms: { id: string }[]) => ms.map((m) => m.id);

export const enqueueCases: Case[] = [
  {
    name: 'queue: enqueueBatch stores messages with their recipients; get, list, count, inlineBody, stateOf, bodyPaths',
    async run({ store }) {
      const { acme, alice } = await seed(store);
      assert.equal(await store.queue.count(), 0);
      assert.deepEqual(await store.queue.list(), []);
      const v = await store.queue.enqueueBatch([
        message('m1', {
          customerId: acme.id,
          mailboxId: alice.id,
          createdAt: T0 + 1000,
          dsnRet: 'HDRS',
          dsnEnvid: 'env-1',
          eightBit: true,
          smtputf8: true,
          topHeaders: 'X-Scan: ok\r\n',
        }),
        message('m2', {
          createdAt: T0 + 2000,
          sender: '',
          authUser: null,
          messageIdHeader: null,
          recipients: [{ address: 'Xavier@Y.Example' }],
        }),
      ]);
      assert.deepEqual(v, [
        { id: 'm1', outcome: 'queued' },
        { id: 'm2', outcome: 'queued' },
      ]);
      await store.queue.enqueueBatch([message('m3', { createdAt: T0 + 1500 })]);
      assert.equal(await store.queue.count(), 3);
      assert.deepEqual(await store.queue.get('m1'), {
        id: 'm1',
        customerId: acme.id,
        customerName: 'acme',
        dsnRet: 'HDRS',
        dsnEnvid: 'env-1',
        sender: 'alice@example.com',
        size: 123,
        state: 'queued',
        holdReason: null,
        bodyPath: null,
        messageIdHeader: '<m1@mx.test>',
        authUser: 'alice@example.com',
        siteName: null,
        clientIp: '192.0.2.10',
        listener: 'submission:587',
        createdAt: T0 + 1000,
        recipients: [
          {
            idx: 0,
            address: 'bob@remote.test',
            domain: 'remote.test',
            state: 'queued',
            attempts: 0,
            nextAttemptAt: T0 + 1000,
            lastReply: null,
            lastAttemptAt: null,
            remoteHost: null,
            category: null,
            notify: null,
            orcpt: null,
            leaseOwner: null,
          },
          {
            idx: 1,
            address: 'carol@remote.test',
            domain: 'remote.test',
            state: 'queued',
            attempts: 0,
            nextAttemptAt: T0 + 1000,
            lastReply: null,
            lastAttemptAt: null,
            remoteHost: null,
            category: null,
            notify: 'FAILURE,DELAY',
            orcpt: 'rfc822;carol@remote.test',
            leaseOwner: null,
          },
        ],
      });
      const m2 = (await store.queue.get('m2'))!;
      assert.deepEqual([m2.customerId, m2.customerName, m2.sender, m2.authUser, m2.messageIdHeader], [null, null, '', null, null]);
      assert.deepEqual(
        m2.recipients.map((r) => [r.address, r.domain]),
        [['Xavier@Y.Example', 'y.example']],
        'the domain is lower-case, the address as given',
      );
      assert.equal(await store.queue.get('missing'), null);
      assert.deepEqual(ids(await store.queue.list()), ['m1', 'm3', 'm2'], 'oldest first');
      assert.deepEqual(ids(await store.queue.list({ limit: 2 })), ['m1', 'm3']);
      assert.deepEqual(await store.queue.list(), [await store.queue.get('m1'), await store.queue.get('m3'), await store.queue.get('m2')]);
      assert.deepEqual(await store.queue.inlineBody('m1'), bodyOf('m1'));
      assert.equal(await store.queue.inlineBody('missing'), null);
      assert.equal(await store.queue.stateOf('m1'), 'queued');
      assert.equal(await store.queue.stateOf('missing'), null);
      assert.deepEqual(await store.queue.attempts('m1'), []);
      assert.deepEqual(await store.queue.bodyPaths(), new Set(), 'inline bodies are no spool files');
      // every byte value survives, from a Buffer and from a plain Uint8Array (one that crossed a thread)
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await store.queue.enqueueBatch([message('bin', { body: bytes }), message('u8', { body: new Uint8Array([0, 13, 10, 255]) })]);
      assert.deepEqual(await store.queue.inlineBody('bin'), bytes);
      assert.deepEqual(await store.queue.inlineBody('u8'), Buffer.from([0, 13, 10, 255]));
    },
  },
  {
    name: 'queue: a batch with a duplicate id inserts nothing (atomic), and the store keeps working',
    async run({ store }) {
      await store.queue.enqueueBatch([message('dup')]);
      await assert.rejects(store.queue.enqueueBatch([message('new1'), message('new2'), message('dup')]));
      assert.equal(await store.queue.count(), 1);
      assert.equal(await store.queue.get('new1'), null);
      assert.equal(await store.queue.get('new2'), null);
      assert.deepEqual(await store.queue.inlineBody('dup'), bodyOf('dup'));
      await assert.rejects(store.queue.enqueueBatch([message('a'), message('a')]), 'a duplicate inside one batch');
      assert.equal(await store.queue.get('a'), null);
      await store.queue.enqueueBatch([message('after')]);
      assert.equal(await store.queue.count(), 2);
      assert.equal((await store.queue.get('after'))!.recipients.length, 2);
    },
  },
  {
    name: 'queue: a batch referring to an unknown customer fails and inserts nothing',
    async run({ store }) {
      await assert.rejects(store.queue.enqueueBatch([message('ok1'), message('bad', { customerId: 999_999 })]));
      assert.equal(await store.queue.count(), 0);
      assert.equal(await store.queue.get('ok1'), null);
    },
  },
  {
    name: 'queue: limits: over a defer or reject limit a message is refused and not stored, over a hold limit it is stored held; neither counts',
    async run({ store }) {
      const { acme, alice } = await seed(store);
      const scope: LimitScope = { customer: 'acme', domain: 'example.com', mailbox: 'alice@example.com' };
      const lm = (id: string, over: Partial<NewMessage> = {}) =>
        message(id, { customerId: acme.id, mailboxId: alice.id, limitScope: scope, createdAt: T0, ...over });
      const two: LimitRule = { level: 'customer', target: 'acme', window: 'hour', metric: 'messages', max: 2, action: 'defer' };
      await store.limits.set(two);
      const v = await store.queue.enqueueBatch([lm('L1'), lm('L2'), lm('L3')]);
      assert.deepEqual(v, [
        { id: 'L1', outcome: 'queued' },
        { id: 'L2', outcome: 'queued' },
        { id: 'L3', outcome: 'refused', action: 'defer', exceeded: [{ rule: two, used: 2, until: hourOf(T0) + HOUR }] },
      ]);
      assert.equal(await store.queue.get('L3'), null, 'refused: not stored');
      assert.equal(await store.queue.count(), 2);
      const usage = (level: LimitRule['level'], target: string) => store.limits.usage(level, target, 'hour', T0);
      assert.deepEqual(await usage('customer', 'acme'), {
        level: 'customer',
        target: 'acme',
        window: 'hour',
        start: hourOf(T0),
        messages: 2,
        recipients: 4,
      });
      assert.equal(
        (await usage('mailbox', 'alice@example.com')).recipients,
        4,
        "the default mailbox rule counts under the mailbox's own name",
      );
      assert.equal((await usage('domain', 'example.com')).messages, 0, 'no domain rule: no domain counter');
      assert.equal((await store.limits.usage('customer', 'acme', 'hour', T0 + HOUR)).messages, 0, 'the next window starts from zero');
      assert.deepEqual(
        await store.queue.enqueueBatch([lm('NEXT', { createdAt: hourOf(T0) + HOUR })]),
        [{ id: 'NEXT', outcome: 'queued' }],
        'a new window',
      );

      await store.limits.clear({ level: 'customer', target: 'acme' });
      const five: LimitRule = {
        level: 'mailbox',
        target: 'alice@example.com',
        window: 'hour',
        metric: 'recipients',
        max: 5,
        action: 'hold',
      };
      await store.limits.set(five);
      const h = await store.queue.enqueueBatch([lm('H1'), lm('H2')]);
      assert.deepEqual(
        h,
        [
          { id: 'H1', outcome: 'held', exceeded: [{ rule: five, used: 4, until: hourOf(T0) + HOUR }] },
          { id: 'H2', outcome: 'held', exceeded: [{ rule: five, used: 4, until: hourOf(T0) + HOUR }] },
        ],
        'held mail uses no quota',
      );
      const h1 = (await store.queue.get('H1'))!;
      assert.deepEqual([h1.state, h1.holdReason], ['held', 'limit']);
      assert.ok(h1.recipients.every((r) => r.state === 'queued' && r.nextAttemptAt === NEVER));
      assert.equal(await store.queue.stateOf('H1'), 'held');
      assert.deepEqual(await usage('mailbox', 'alice@example.com'), {
        level: 'mailbox',
        target: 'alice@example.com',
        window: 'hour',
        start: hourOf(T0),
        messages: 2,
        recipients: 4,
      });
      assert.deepEqual(
        await store.queue.enqueueBatch([lm('ONE', { recipients: [{ address: 'z@remote.test' }] })]),
        [{ id: 'ONE', outcome: 'queued' }],
        '4 + 1 is within 5',
      );
      assert.equal((await usage('mailbox', 'alice@example.com')).recipients, 5);

      const zero: LimitRule = { level: 'customer', target: 'acme', window: 'minute', metric: 'messages', max: 0, action: 'reject' };
      await store.limits.set(zero);
      const [r] = await store.queue.enqueueBatch([lm('R1')]);
      assert.ok(r && r.outcome === 'refused', JSON.stringify(r));
      assert.equal(r.action, 'reject', 'the most severe action wins');
      assert.deepEqual(r.exceeded.map((e) => e.rule.action).sort(), ['hold', 'reject']);
      assert.equal(await store.queue.get('R1'), null);
      assert.deepEqual(
        await store.queue.enqueueBatch([lm('FREE', { limitScope: undefined })]),
        [{ id: 'FREE', outcome: 'queued' }],
        'no scope: not limited',
      );
      assert.equal((await usage('mailbox', 'alice@example.com')).messages, 3, 'nor counted');
    },
  },
  {
    name: "queue: a held mailbox's or site's mail is held or refused (onSenderHold); unset, the hold is not checked",
    async run({ store }) {
      const { acme, alice } = await seed(store);
      const shop = await store.sites.add({ name: 'shop', customerId: acme.id, unixUser: null, tokenHash: 'h-shop' });
      await store.mailboxes.hold(alice.id, 'suspected', T0);
      const v = await store.queue.enqueueBatch([
        message('S1', { mailboxId: alice.id, onSenderHold: 'hold' }),
        message('S2', { mailboxId: alice.id, onSenderHold: 'refuse' }),
        message('S3', { mailboxId: alice.id }),
      ]);
      assert.deepEqual(v, [
        { id: 'S1', outcome: 'held', exceeded: [], reason: 'mailbox-held' },
        { id: 'S2', outcome: 'refused', action: 'reject', exceeded: [], reason: 'mailbox-held' },
        { id: 'S3', outcome: 'queued' },
      ]);
      const s1 = (await store.queue.get('S1'))!;
      assert.deepEqual([s1.state, s1.holdReason], ['held', 'sender']);
      assert.ok(s1.recipients.every((r) => r.nextAttemptAt === NEVER));
      assert.equal(await store.queue.get('S2'), null);
      assert.equal((await store.queue.get('S3'))!.state, 'queued');

      const siteMsg = (id: string, over: Partial<NewMessage> = {}) =>
        message(id, { customerId: acme.id, siteId: shop.id, authUser: null, ...over });
      assert.deepEqual(
        await store.queue.enqueueBatch([siteMsg('W0', { onSenderHold: 'refuse' })]),
        [{ id: 'W0', outcome: 'queued' }],
        'the site is not held',
      );
      await store.sites.hold(shop.id, 'spam', T0);
      assert.deepEqual(
        await store.queue.enqueueBatch([siteMsg('W1', { onSenderHold: 'hold' }), siteMsg('W2', { onSenderHold: 'refuse' })]),
        [
          { id: 'W1', outcome: 'held', exceeded: [], reason: 'mailbox-held' },
          { id: 'W2', outcome: 'refused', action: 'reject', exceeded: [], reason: 'mailbox-held' },
        ],
      );
      const w1 = (await store.queue.get('W1'))!;
      assert.deepEqual([w1.state, w1.holdReason, w1.siteName], ['held', 'sender', 'shop']);

      await store.mailboxes.unhold(alice.id, T0 + 10);
      assert.deepEqual(await store.queue.enqueueBatch([message('S4', { mailboxId: alice.id, onSenderHold: 'refuse' })]), [
        { id: 'S4', outcome: 'queued' },
      ]);
      const claimed = await store.queue.claim({ owner: 'n', now: T0 + 100, leaseMs: 60_000, limit: 100 });
      assert.deepEqual([...new Set(claimed.map((j) => j.message.id))].sort(), ['S3', 'S4', 'W0'], 'held mail is never claimed');
    },
  },
  {
    name: 'queue: heldCap: one more held message than the cap is refused (defer, held-full), per mailbox and per site',
    async run({ store }) {
      const { acme, ex, alice } = await seed(store);
      const bob = await store.mailboxes.add({ address: 'bob@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'h2' });
      const shop = await store.sites.add({ name: 'shop', customerId: acme.id, unixUser: null, tokenHash: 'h-shop' });
      await store.mailboxes.hold(alice.id, 'suspected', T0);
      await store.mailboxes.hold(bob.id, 'suspected', T0);
      await store.sites.hold(shop.id, 'suspected', T0);
      const capped = (id: string, over: Partial<NewMessage>) => message(id, { onSenderHold: 'hold', heldCap: 2, ...over });
      const one = async (m: NewMessage) => (await store.queue.enqueueBatch([m]))[0];
      assert.deepEqual(await one(capped('A1', { mailboxId: alice.id })), {
        id: 'A1',
        outcome: 'held',
        exceeded: [],
        reason: 'mailbox-held',
      });
      assert.deepEqual(await one(capped('A2', { mailboxId: alice.id })), {
        id: 'A2',
        outcome: 'held',
        exceeded: [],
        reason: 'mailbox-held',
      });
      assert.deepEqual(await one(capped('A3', { mailboxId: alice.id })), {
        id: 'A3',
        outcome: 'refused',
        action: 'defer',
        exceeded: [],
        reason: 'held-full',
      });
      assert.deepEqual(
        await one(capped('B1', { mailboxId: bob.id })),
        { id: 'B1', outcome: 'held', exceeded: [], reason: 'mailbox-held' },
        'per mailbox',
      );
      assert.deepEqual(await one(capped('A4', { mailboxId: alice.id, heldCap: 3 })), {
        id: 'A4',
        outcome: 'held',
        exceeded: [],
        reason: 'mailbox-held',
      });
      assert.equal(await store.queue.get('A3'), null);
      assert.equal((await one(capped('W1', { siteId: shop.id, heldCap: 1 })))!.outcome, 'held');
      assert.deepEqual(
        await one(capped('W2', { siteId: shop.id, heldCap: 1 })),
        { id: 'W2', outcome: 'refused', action: 'defer', exceeded: [], reason: 'held-full' },
        'per site',
      );
      assert.ok(await store.queue.remove('A1'));
      assert.equal((await one(capped('A5', { mailboxId: alice.id, heldCap: 3 })))!.outcome, 'held', 'room again after a removal');
    },
  },
  {
    name: 'queue: heldCap counts the messages held earlier in the same batch',
    async run({ store }) {
      const { acme, ex, alice } = await seed(store);
      const bob = await store.mailboxes.add({ address: 'bob@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'h2' });
      const shop = await store.sites.add({ name: 'shop', customerId: acme.id, unixUser: null, tokenHash: 'h-shop' });
      await store.mailboxes.hold(alice.id, 'suspected', T0);
      await store.mailboxes.hold(bob.id, 'suspected', T0);
      await store.sites.hold(shop.id, 'suspected', T0);
      const capped = (id: string, over: Partial<NewMessage>) => message(id, { onSenderHold: 'hold', heldCap: 2, ...over });
      const v = await store.queue.enqueueBatch([
        capped('A1', { mailboxId: alice.id }),
        capped('A2', { mailboxId: alice.id }),
        capped('A3', { mailboxId: alice.id }),
        capped('B1', { mailboxId: bob.id }),
        capped('W1', { siteId: shop.id, heldCap: 1 }),
        capped('W2', { siteId: shop.id, heldCap: 1 }),
      ]);
      assert.deepEqual(
        v.map((x: EnqueueVerdict) => [x.id, x.outcome]),
        [
          ['A1', 'held'],
          ['A2', 'held'],
          ['A3', 'refused'],
          ['B1', 'held'],
          ['W1', 'held'],
          ['W2', 'refused'],
        ],
      );
      assert.deepEqual(v[2], { id: 'A3', outcome: 'refused', action: 'defer', exceeded: [], reason: 'held-full' });
      assert.deepEqual(
        (await store.queue.list({ state: 'held' })).map((m) => m.id),
        ['A1', 'A2', 'B1', 'W1'],
      );
    },
  },
  {
    name: 'queue: contentHold stores the message held for the postmaster (reason content); a held sender comes first',
    async run({ store }) {
      const { acme, alice } = await seed(store);
      assert.deepEqual(await store.queue.enqueueBatch([message('C1', { customerId: acme.id, mailboxId: alice.id, contentHold: true })]), [
        { id: 'C1', outcome: 'held', exceeded: [], reason: 'content' },
      ]);
      const c1 = (await store.queue.get('C1'))!;
      assert.deepEqual([c1.state, c1.holdReason], ['held', 'content']);
      assert.ok(c1.recipients.every((r) => r.nextAttemptAt === NEVER));
      assert.deepEqual(await store.queue.claim({ owner: 'n', now: T0 + 1000, leaseMs: 60_000, limit: 10 }), []);
      await store.mailboxes.hold(alice.id, 'suspected', T0);
      assert.deepEqual(
        await store.queue.enqueueBatch([message('C2', { mailboxId: alice.id, contentHold: true, onSenderHold: 'refuse' })]),
        [{ id: 'C2', outcome: 'refused', action: 'reject', exceeded: [], reason: 'mailbox-held' }],
      );
      assert.deepEqual(
        await store.queue.enqueueBatch([message('C3', { mailboxId: alice.id, contentHold: true, heldCap: 1 })]),
        [{ id: 'C3', outcome: 'refused', action: 'defer', exceeded: [], reason: 'held-full' }],
        'content-held mail fills the cap too',
      );
    },
  },
  {
    name: 'queue: list filters: state (each recipient state and held), domain, sender, customer, authUser, site, limit, combined',
    async run({ store }) {
      const { acme, other } = await seed(store);
      const shop = await store.sites.add({ name: 'shop', customerId: acme.id, unixUser: null, tokenHash: 'h-shop' });
      const rc = (...a: string[]) => a.map((address) => ({ address }));
      await store.queue.enqueueBatch([
        message('F1', {
          customerId: acme.id,
          sender: 'Alice@Example.com',
          createdAt: T0 + 1,
          recipients: rc('bob@remote.test', 'carol@third.test'),
        }),
        message('F2', {
          customerId: other.id,
          sender: 'zed@other.example',
          authUser: 'zed@other.example',
          createdAt: T0 + 2,
          recipients: rc('x@remote.test', 'w@remote.test'),
        }),
        message('F3', {
          customerId: acme.id,
          siteId: shop.id,
          sender: '',
          authUser: null,
          createdAt: T0 + 3,
          recipients: rc('y@fourth.test'),
        }),
        message('F4', { customerId: acme.id, contentHold: true, createdAt: T0 + 4, recipients: rc('z@remote.test') }),
      ]);
      const jobs = await store.queue.claim({ owner: 'n', now: T0 + 100, leaseMs: 60_000, limit: 100 });
      await store.queue.record([
        result(jobOf(jobs, 'F1', 'remote.test'), 0, 'delivered'),
        result(jobOf(jobs, 'F1', 'third.test'), 1, 'deferred', { nextAttemptAt: T0 + 10_000 }),
        result(jobOf(jobs, 'F2'), 0, 'failed'),
        result(jobOf(jobs, 'F2'), 1, 'deferred', { nextAttemptAt: T0 + 10_000, attempted: false }),
      ]);
      const list = async (f: Parameters<typeof store.queue.list>[0]) => ids(await store.queue.list(f));
      assert.deepEqual(await list({}), ['F1', 'F2', 'F3', 'F4']);
      assert.deepEqual(await list({ state: 'held' }), ['F4']);
      assert.deepEqual(
        await list({ state: 'queued' }),
        ['F3', 'F4'],
        "F3 is leased but still queued; a held message's recipients are queued",
      );
      assert.deepEqual(await list({ state: 'deferred' }), ['F1', 'F2']);
      assert.deepEqual(await list({ state: 'delivered' }), ['F1']);
      assert.deepEqual(await list({ state: 'failed' }), ['F2']);
      assert.deepEqual(await list({ domain: 'REMOTE.test' }), ['F1', 'F2', 'F4']);
      assert.deepEqual(await list({ domain: 'third.test' }), ['F1']);
      assert.deepEqual(await list({ domain: 'nowhere.test' }), []);
      assert.deepEqual(await list({ sender: 'alice@example.COM' }), ['F1', 'F4'], 'the sender matches in any case');
      assert.deepEqual(await list({ sender: '' }), ['F3'], 'the null sender');
      assert.deepEqual(await list({ customer: 'acme' }), ['F1', 'F3', 'F4']);
      assert.deepEqual(await list({ customer: 'other' }), ['F2']);
      assert.deepEqual(await list({ customer: 'nobody' }), []);
      assert.deepEqual(await list({ authUser: 'ALICE@example.com' }), ['F1', 'F4']);
      assert.deepEqual(await list({ authUser: 'zed@other.example' }), ['F2']);
      assert.deepEqual(await list({ site: 'shop' }), ['F3']);
      assert.deepEqual(await list({ site: 'nope' }), []);
      assert.equal((await store.queue.get('F3'))!.siteName, 'shop');
      assert.deepEqual(await list({ customer: 'acme', domain: 'remote.test' }), ['F1', 'F4']);
      assert.deepEqual(await list({ customer: 'acme', state: 'held', sender: 'alice@example.com' }), ['F4']);
      assert.deepEqual(await list({ customer: 'acme', limit: 2 }), ['F1', 'F3']);
    },
  },
];
