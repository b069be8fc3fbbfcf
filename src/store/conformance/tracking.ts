/** Conformance cases: message tracking (written by the queue's transactions), search, tenant scope, retention, the dashboard's summary. */
import assert from 'node:assert/strict';
import type { Store } from '../types.ts';
import type { NewMessage } from '../../core/index.ts';
import { TRACK_OVERHEAD } from '../tracking.ts';
import { jobOf, message, result, seed, T0, type Case } from './harness.ts';

const HOUR = 3_600_000;
const tracked = (id: string, over: Partial<NewMessage> = {}) => message(id, { track: true, subject: `about ${id}`, ...over });
const types = async (store: Store, id: string) => (await store.tracking.get(id))!.events.map((e) => e.type);
const ids = (ms: { queueId: string }[]) => ms.map((m) => m.queueId);

export const trackingCases: Case[] = [
  {
    name: 'tracking: the enqueue writes accepted (and held, refused) with the message; an untracked message leaves nothing',
    async run({ store }) {
      const { acme, alice } = await seed(store);
      await store.limits.set({
        level: 'mailbox',
        target: 'alice@example.com',
        window: 'hour',
        metric: 'messages',
        max: 2,
        action: 'reject',
      });
      const scope = { customer: 'acme', domain: 'example.com', mailbox: 'alice@example.com' };
      const verdicts = await store.queue.enqueueBatch([
        tracked('A', { customerId: acme.id, mailboxId: alice.id, limitScope: scope, subject: 'x'.repeat(300) }),
        tracked('H', { customerId: acme.id, contentHold: true, createdAt: T0 + 1 }),
        tracked('B', { customerId: acme.id, mailboxId: alice.id, limitScope: scope, createdAt: T0 + 2 }),
        tracked('R', { customerId: acme.id, mailboxId: alice.id, limitScope: scope, createdAt: T0 + 3 }),
        message('U', { createdAt: T0 + 4 }),
      ]);
      assert.deepEqual(
        verdicts.map((v) => v.outcome),
        ['queued', 'held', 'queued', 'refused', 'queued'],
      );
      const a = (await store.tracking.get('A'))!;
      assert.deepEqual(
        { ...a, events: undefined, bytes: undefined, updatedAt: undefined },
        {
          queueId: 'A',
          customerId: acme.id,
          customerName: 'acme',
          authUser: 'alice@example.com',
          siteName: null,
          sender: 'alice@example.com',
          messageId: '<A@mx.test>',
          subject: 'x'.repeat(200),
          recipients: ['bob@remote.test', 'carol@remote.test'],
          size: 123,
          clientIp: '192.0.2.10',
          listener: 'submission:587',
          createdAt: T0,
          status: 'queued',
          removedTenant: null,
          events: undefined,
          bytes: undefined,
          updatedAt: undefined,
        },
      );
      assert.deepEqual(a.events, [
        { at: T0, type: 'accepted', recipient: null, remoteHost: null, reply: null, category: 'submission:587', ref: null },
      ]);
      assert.ok(a.bytes > TRACK_OVERHEAD.message + 2 * TRACK_OVERHEAD.recipient + TRACK_OVERHEAD.event + 200, `bytes ${a.bytes}`);
      assert.deepEqual(await types(store, 'H'), ['accepted', 'held']);
      assert.equal((await store.tracking.get('H'))!.status, 'held');
      assert.equal((await store.tracking.get('H'))!.events[1]!.category, 'content');
      const r = (await store.tracking.get('R'))!;
      assert.equal(r.status, 'refused');
      assert.deepEqual(
        r.events.map((e) => [e.type, e.category]),
        [['refused', 'limit']],
      );
      assert.match(
        r.events[0]!.reply!,
        /rejected \(5xx\) after DATA: sending limit reached: 2 messages per hour for mailbox alice@example.com/,
      );
      assert.equal(await store.tracking.get('U'), null, 'not tracked');
      assert.equal(await store.queue.get('R'), null, 'the refused message itself is not queued');
    },
  },
  {
    name: 'tracking: record writes each outcome in its transaction: deferral, delivery, failure with the bounce id, expiry; the status follows',
    async run({ store }) {
      await store.queue.enqueueBatch([tracked('M'), tracked('E', { recipients: [{ address: 'late@remote.test' }] })]);
      const jobs = await store.queue.claim({ owner: 'n', now: T0 + 10, leaseMs: 60_000, limit: 10 });
      const job = jobOf(jobs, 'M');
      await store.queue.record([
        result(job, 0, 'deferred', { at: T0 + 20, nextAttemptAt: T0 + 30, reply: '451 4.2.0 try later', category: 'temporary' }),
        result(job, 1, 'failed', {
          at: T0 + 21,
          reply: '550 5.1.1 no such user',
          category: 'unknown-user',
          notice: { kind: 'failure', queueId: 'DSN1' },
        }),
        result(jobOf(jobs, 'E'), 0, 'failed', { at: T0 + 22, category: 'expired', reply: '4.4.7 gave up' }),
      ]);
      assert.equal((await store.tracking.get('M'))!.status, 'deferred');
      const again = jobOf(await store.queue.claim({ owner: 'n', now: T0 + 40, leaseMs: 60_000, limit: 10 }), 'M');
      // given back untried: no event
      await store.queue.record([result(again, 0, 'deferred', { at: T0 + 41, attempted: false, nextAttemptAt: T0 + 50 })]);
      const third = jobOf(await store.queue.claim({ owner: 'n', now: T0 + 50, leaseMs: 60_000, limit: 10 }), 'M');
      await store.queue.record([result(third, 0, 'delivered', { at: T0 + 60, remoteHost: 'mx1.remote.test[127.0.0.2]' })]);
      assert.equal(await store.queue.get('M'), null, 'finished: gone from the queue');
      const m = (await store.tracking.get('M'))!;
      assert.equal(m.status, 'partial');
      assert.deepEqual(
        m.events.map((e) => [e.at - T0, e.type, e.recipient, e.reply, e.category, e.ref]),
        [
          [0, 'accepted', null, null, 'submission:587', null],
          [20, 'attempt-deferred', 'bob@remote.test', '451 4.2.0 try later', 'temporary', null],
          [21, 'failed', 'carol@remote.test', '550 5.1.1 no such user', 'unknown-user', null],
          [21, 'bounced', 'carol@remote.test', null, 'failure', 'DSN1'],
          [60, 'delivered', 'bob@remote.test', '250 2.0.0 ok', 'ok', null],
        ],
      );
      assert.equal(m.events[4]!.remoteHost, 'mx1.remote.test[127.0.0.2]');
      const e = (await store.tracking.get('E'))!;
      assert.deepEqual([e.status, e.events.map((x) => x.type)], ['failed', ['accepted', 'expired']]);
      const long = 'x'.repeat(1500);
      await store.queue.enqueueBatch([tracked('D', { recipients: [{ address: 'd@remote.test' }] })]);
      const d = jobOf(await store.queue.claim({ owner: 'n', now: T0 + 100, leaseMs: 60_000, limit: 10 }), 'D');
      await store.queue.record([result(d, 0, 'delivered', { reply: long })]);
      const done = (await store.tracking.get('D'))!;
      assert.deepEqual([done.status, done.events[1]!.reply!.length], ['delivered', 1000]);
    },
  },
  {
    name: 'tracking: operator actions record their events (held, released, retried, cancelled, deleted)',
    async run({ store }) {
      await store.queue.enqueueBatch([tracked('H'), tracked('C'), tracked('X'), tracked('R')]);
      assert.equal(await store.queue.hold('H'), true);
      assert.equal((await store.tracking.get('H'))!.status, 'held');
      assert.equal(await store.queue.release('H', T0 + 500), true);
      assert.equal(await store.queue.cancel('C', T0 + 600), true);
      assert.ok(await store.queue.remove('X'));
      const job = jobOf(await store.queue.claim({ owner: 'n', now: T0 + 700, leaseMs: 60_000, limit: 10 }), 'R');
      await store.queue.record([
        result(job, 0, 'deferred', { nextAttemptAt: T0 + 99_000 }),
        result(job, 1, 'deferred', { nextAttemptAt: T0 + 99_000 }),
      ]);
      assert.equal(await store.queue.retry('R', T0 + 800), 2);
      assert.deepEqual(await types(store, 'H'), ['accepted', 'held', 'released']);
      const h = (await store.tracking.get('H'))!;
      assert.deepEqual([h.status, h.events[1]!.reply, h.events[2]!.at], ['queued', 'held by the postmaster', T0 + 500]);
      assert.deepEqual([(await store.tracking.get('C'))!.status, await types(store, 'C')], ['cancelled', ['accepted', 'cancelled']]);
      assert.deepEqual([(await store.tracking.get('X'))!.status, await types(store, 'X')], ['deleted', ['accepted', 'deleted']]);
      assert.deepEqual(
        await types(store, 'R'),
        ['accepted', 'attempt-deferred', 'attempt-deferred', 'retried'],
        'one retried event per message',
      );
      assert.equal(await store.queue.hold('missing'), false);
      assert.equal(await store.tracking.get('missing'), null);
    },
  },
  {
    name: 'tracking: search by queue id, Message-ID, sender, recipient, time, status, customer, login; newest first, with a cursor',
    async run({ store }) {
      const { acme, other } = await seed(store);
      await store.queue.enqueueBatch([
        tracked('M1', { customerId: acme.id, createdAt: T0, sender: 'Alice@Example.com' }),
        tracked('M2', { customerId: acme.id, createdAt: T0 + HOUR, recipients: [{ address: 'Dave@Far.test' }] }),
        tracked('M3', { customerId: other.id, createdAt: T0 + 2 * HOUR, sender: 'eve@other.example', contentHold: true }),
        tracked('M4', { customerId: acme.id, createdAt: T0 + 3 * HOUR, authUser: 'carol@example.com' }),
      ]);
      const s = (f: Parameters<Store['tracking']['search']>[0]) => store.tracking.search(f).then(ids);
      assert.deepEqual(await s({}), ['M4', 'M3', 'M2', 'M1']);
      assert.deepEqual(await s({ queueId: 'M2' }), ['M2']);
      assert.deepEqual(await s({ messageId: '<M3@mx.test>' }), ['M3']);
      assert.deepEqual(await s({ sender: 'alice@EXAMPLE.com' }), ['M4', 'M2', 'M1'], 'any case');
      assert.deepEqual(await s({ recipient: 'dave@far.test' }), ['M2']);
      assert.deepEqual(await s({ recipient: 'bob@remote.test' }), ['M4', 'M3', 'M1']);
      assert.deepEqual(await s({ from: T0 + HOUR, to: T0 + 3 * HOUR }), ['M3', 'M2'], 'from inclusive, to exclusive');
      assert.deepEqual(await s({ status: 'held' }), ['M3']);
      assert.deepEqual(await s({ customerId: acme.id }), ['M4', 'M2', 'M1']);
      assert.deepEqual(await s({ authUser: 'alice@example.com' }), ['M3', 'M2', 'M1'], 'what one login sent');
      assert.deepEqual(await s({ customerId: acme.id, authUser: 'carol@example.com' }), ['M4']);
      assert.deepEqual(await s({ customerId: other.id, sender: 'alice@example.com' }), [], 'tenant scope and filter together');
      assert.deepEqual(await s({ limit: 2 }), ['M4', 'M3']);
      assert.deepEqual(await s({ limit: 2, before: { createdAt: T0 + 2 * HOUR, queueId: 'M3' } }), ['M2', 'M1'], 'the next page');
      const [m2] = await store.tracking.search({ queueId: 'M2' });
      assert.deepEqual([m2!.recipients, m2!.customerName, m2!.subject], [['Dave@Far.test'], 'acme', 'about M2']);
    },
  },
  {
    name: 'tracking: get with a customer scope returns nothing of another customer',
    async run({ store }) {
      const { acme, other } = await seed(store);
      await store.queue.enqueueBatch([tracked('MINE', { customerId: acme.id }), tracked('NOBODY', { customerId: null })]);
      assert.equal((await store.tracking.get('MINE', acme.id))?.queueId, 'MINE');
      assert.equal(await store.tracking.get('MINE', other.id), null);
      assert.equal(await store.tracking.get('NOBODY', acme.id), null, "a message of no customer is no customer's");
      assert.equal((await store.tracking.get('NOBODY'))?.queueId, 'NOBODY', 'unscoped: the operator sees everything');
    },
  },
  {
    name: 'tracking: prune removes messages older than the bound, then the oldest until under maxBytes; stats follow',
    async run({ store }) {
      const batch = Array.from({ length: 6 }, (_, i) => tracked(`P${i}`, { createdAt: T0 + i * HOUR }));
      await store.queue.enqueueBatch(batch);
      const before = await store.tracking.stats();
      assert.deepEqual([before.messages, before.events, before.oldest], [6, 6, T0]);
      const each = before.bytes / 6;
      assert.equal(each, (await store.tracking.get('P0'))!.bytes, 'every message has the same size here');
      assert.deepEqual(await store.tracking.prune({ olderThan: T0 + 2 * HOUR, maxBytes: Number.MAX_SAFE_INTEGER }), {
        messages: 2,
        bytes: 2 * each,
      });
      assert.deepEqual(ids(await store.tracking.search({})), ['P5', 'P4', 'P3', 'P2']);
      assert.deepEqual(
        await store.tracking.prune({ olderThan: 0, maxBytes: 2 * each + 1 }),
        { messages: 2, bytes: 2 * each },
        'by bytes: oldest first',
      );
      assert.deepEqual(ids(await store.tracking.search({})), ['P5', 'P4']);
      assert.deepEqual(
        await store.tracking.prune({ olderThan: 0, maxBytes: 2 * each }),
        { messages: 0, bytes: 0 },
        'at the bound: nothing to do',
      );
      const after = await store.tracking.stats();
      assert.deepEqual(
        [after.messages, after.events, after.bytes, after.oldest],
        [2, 2, 2 * each, T0 + 4 * HOUR],
        'events went with their messages',
      );
      assert.equal(await store.tracking.get('P0'), null);
      // a pruned message's later outcomes are dropped, never an error
      const job = jobOf(await store.queue.claim({ owner: 'n', now: T0 + 10 * HOUR, leaseMs: 60_000, limit: 10 }), 'P0');
      await store.queue.record([result(job, 0, 'delivered'), result(job, 1, 'delivered')]);
      assert.equal(await store.tracking.get('P0'), null);
    },
  },
  {
    name: 'tracking: summary counts events by type since a time and ranks senders (login or site:NAME) by accepted messages, ties by name',
    async run({ store }) {
      const { acme, other } = await seed(store);
      const shop = await store.sites.add({ name: 'shop', customerId: acme.id, unixUser: null, tokenHash: 'h-shop' });
      await store.limits.set({
        level: 'mailbox',
        target: 'carol@example.com',
        window: 'hour',
        metric: 'messages',
        max: 0,
        action: 'reject',
      });
      const since = T0 + HOUR;
      const one = [{ address: 'one@remote.test' }];
      const verdicts = await store.queue.enqueueBatch([
        tracked('OLD', { customerId: acme.id, createdAt: since - 1 }),
        tracked('A1', { customerId: acme.id, createdAt: since }),
        tracked('A2', { customerId: acme.id, createdAt: since + 1 }),
        tracked('A3', { customerId: acme.id, createdAt: since + 2, recipients: one }),
        ...['S1', 'S2', 'S3'].map((id, i) =>
          tracked(id, { customerId: acme.id, authUser: null, siteId: shop.id, createdAt: since + 10 + i, contentHold: id === 'S2' }),
        ),
        tracked('B1', { customerId: other.id, authUser: 'bob@other.example', createdAt: since + 20 }),
        tracked('Z1', { customerId: other.id, authUser: 'Zed@other.example', createdAt: since + 21 }),
        tracked('OPS', { customerId: null, authUser: 'ops@host.test', createdAt: since + 22, recipients: one }),
        tracked('DSN', { customerId: acme.id, authUser: null, sender: '', createdAt: since + 30, recipients: one }),
        tracked('R1', {
          customerId: acme.id,
          authUser: 'carol@example.com',
          createdAt: since + 40,
          limitScope: { customer: 'acme', domain: 'example.com', mailbox: 'carol@example.com' },
        }),
      ]);
      assert.deepEqual(
        verdicts.map((v) => v.outcome),
        ['queued', 'queued', 'queued', 'queued', 'queued', 'held', 'queued', 'queued', 'queued', 'queued', 'queued', 'refused'],
      );
      const old = jobOf(await store.queue.claim({ owner: 'n', now: T0 + 2 * HOUR, leaseMs: 60_000, limit: 100 }), 'OLD');
      await store.queue.record([result(old, 0, 'delivered', { at: T0 + 2 * HOUR }), result(old, 1, 'delivered', { at: T0 + 2 * HOUR })]);

      const all = await store.tracking.summary(since, 10);
      assert.deepEqual(
        all.events,
        { accepted: 10, held: 1, refused: 1, delivered: 2 },
        "OLD's acceptance is before since, its deliveries after",
      );
      assert.deepEqual(
        all.topSenders,
        [
          { sender: 'alice@example.com', customerName: 'acme', messages: 3, recipients: 5 },
          { sender: 'site:shop', customerName: 'acme', messages: 3, recipients: 6 },
          { sender: 'Zed@other.example', customerName: 'other', messages: 1, recipients: 2 },
          { sender: 'bob@other.example', customerName: 'other', messages: 1, recipients: 2 },
          { sender: 'ops@host.test', customerName: null, messages: 1, recipients: 1 },
        ],
        'most first, ties in byte order; held counts (accepted), refused and sender-less messages do not',
      );
      assert.deepEqual(
        (await store.tracking.summary(since, 2)).topSenders.map((t) => t.sender),
        ['alice@example.com', 'site:shop'],
        'at most top',
      );
      assert.deepEqual((await store.tracking.summary(since, 0)).topSenders, []);
      assert.deepEqual(
        (await store.tracking.summary(since - 1, 1)).topSenders,
        [{ sender: 'alice@example.com', customerName: 'acme', messages: 4, recipients: 7 }],
        'since is inclusive',
      );
      assert.deepEqual(await store.tracking.summary(T0 + 3 * HOUR, 10), { events: {}, topSenders: [] }, 'nothing since: empty');
    },
  },
  {
    name: "tracking: summary with a customer counts only that customer's events (through their messages) and senders",
    async run({ store }) {
      const { acme, other } = await seed(store);
      const nobody = await store.customers.add('nobody');
      await store.queue.enqueueBatch([
        tracked('A1', { customerId: acme.id, createdAt: T0 }),
        tracked('A2', { customerId: acme.id, createdAt: T0 + 1, contentHold: true }),
        tracked('O1', { customerId: other.id, authUser: 'eve@other.example', createdAt: T0 + 2 }),
        tracked('N1', { customerId: null, authUser: 'ops@host.test', createdAt: T0 + 3 }),
      ]);
      const jobs = await store.queue.claim({ owner: 'n', now: T0 + HOUR, leaseMs: 60_000, limit: 100 });
      await store.queue.record([
        result(jobOf(jobs, 'O1'), 0, 'failed', { at: T0 + HOUR }),
        result(jobOf(jobs, 'A1'), 0, 'delivered', { at: T0 + HOUR }),
      ]);
      assert.deepEqual(await store.tracking.summary(T0, 10, acme.id), {
        events: { accepted: 2, held: 1, delivered: 1 },
        topSenders: [{ sender: 'alice@example.com', customerName: 'acme', messages: 2, recipients: 4 }],
      });
      assert.deepEqual(await store.tracking.summary(T0, 10, other.id), {
        events: { accepted: 1, failed: 1 },
        topSenders: [{ sender: 'eve@other.example', customerName: 'other', messages: 1, recipients: 2 }],
      });
      assert.deepEqual(await store.tracking.summary(T0, 10, nobody.id), { events: {}, topSenders: [] }, 'a customer with no mail');
      assert.deepEqual(
        (await store.tracking.summary(T0, 10)).events,
        { accepted: 4, held: 1, delivered: 1, failed: 1 },
        'the operator sees every message, of no customer too',
      );
      assert.deepEqual(
        (await store.tracking.summary(T0 + HOUR, 10, acme.id)).events,
        { delivered: 1 },
        'since applies to the events themselves',
      );
    },
  },
];
