/** Conformance cases: claim (leases, grouping, limits), record, releaseLeases. */
import assert from 'node:assert/strict';
import { claimedKeys, jobOf, message, result, seed, T0, type Case } from './harness.ts';

const rc = (...a: string[]) => a.map((address) => ({ address }));

export const deliveryCases: Case[] = [
  {
    name: 'queue: claim leases due recipients grouped by message and domain; the job carries the message; a lease runs out',
    async run({ store }) {
      const { acme } = await seed(store);
      await store.queue.enqueueBatch([
        message('M1', {
          customerId: acme.id,
          createdAt: T0,
          dsnRet: 'FULL',
          dsnEnvid: 'E1',
          eightBit: true,
          smtputf8: true,
          topHeaders: 'DKIM-Signature: v=1\r\n',
          recipients: [
            { address: 'a@one.test' },
            { address: 'b@two.test' },
            { address: 'c@one.test', notify: 'NEVER', orcpt: 'rfc822;c@one.test' },
          ],
        }),
        message('M2', { createdAt: T0 + 10, recipients: rc('d@one.test') }),
        message('FUTURE', { createdAt: T0 + 100_000, recipients: rc('e@one.test') }),
      ]);
      const jobs = await store.queue.claim({ owner: 'n1', now: T0 + 50, leaseMs: 60_000, limit: 10 });
      const lease = { owner: 'n1', until: T0 + 60_050 };
      assert.deepEqual(jobs.map((j) => `${j.message.id}@${j.domain}`).sort(), ['M1@one.test', 'M1@two.test', 'M2@one.test']);
      const one = jobOf(jobs, 'M1', 'one.test');
      assert.deepEqual(
        { ...one, recipients: [...one.recipients].sort((x, y) => x.idx - y.idx) },
        {
          message: {
            id: 'M1',
            customerId: acme.id,
            siteId: null,
            sender: 'alice@example.com',
            size: 123,
            bodyPath: null,
            messageIdHeader: '<M1@mx.test>',
            listener: 'submission:587',
            dsnRet: 'FULL',
            dsnEnvid: 'E1',
            createdAt: T0,
            cancelled: false,
            eightBit: true,
            smtputf8: true,
            topHeaders: 'DKIM-Signature: v=1\r\n',
          },
          domain: 'one.test',
          recipients: [
            { idx: 0, address: 'a@one.test', attempts: 0, notify: null, orcpt: null, delayNotified: false },
            { idx: 2, address: 'c@one.test', attempts: 0, notify: 'NEVER', orcpt: 'rfc822;c@one.test', delayNotified: false },
          ],
          lease,
        },
      );
      assert.deepEqual(
        jobOf(jobs, 'M1', 'two.test').recipients.map((r) => r.idx),
        [1],
      );
      const m2 = jobOf(jobs, 'M2');
      assert.deepEqual(
        [m2.message.customerId, m2.message.eightBit, m2.message.smtputf8, m2.message.topHeaders, m2.message.cancelled],
        [null, false, false, null, false],
      );
      assert.ok(jobs.every((j) => j.lease.owner === lease.owner && j.lease.until === lease.until));
      const m1 = (await store.queue.get('M1'))!;
      assert.ok(
        m1.recipients.every((r) => r.leaseOwner === 'n1' && r.nextAttemptAt === lease.until && r.state === 'queued'),
        'leased: due when the lease ends',
      );
      assert.equal((await store.queue.get('FUTURE'))!.recipients[0]!.leaseOwner, null, 'not due yet');

      assert.deepEqual(await store.queue.claim({ owner: 'n1', now: T0 + 50, leaseMs: 60_000, limit: 10 }), [], 'nothing left that is due');
      assert.deepEqual(
        await store.queue.claim({ owner: 'n2', now: lease.until - 1, leaseMs: 60_000, limit: 10 }),
        [],
        'leased until the lease ends',
      );
      const again = await store.queue.claim({ owner: 'n2', now: lease.until, leaseMs: 60_000, limit: 10 });
      assert.deepEqual(claimedKeys(again), ['M1/0', 'M1/1', 'M1/2', 'M2/0'], 'a lease that ran out: claimed again');
      assert.ok(again.every((j) => j.lease.owner === 'n2' && j.lease.until === lease.until + 60_000));
      assert.ok((await store.queue.get('M2'))!.recipients.every((r) => r.leaseOwner === 'n2'));
      assert.deepEqual(claimedKeys(await store.queue.claim({ owner: 'n3', now: T0 + 100_000, leaseMs: 1000, limit: 10 })), ['FUTURE/0']);
    },
  },
  {
    name: 'queue: claim takes at most `limit` recipients, oldest due first, skips excludeDomains, and never a held message',
    async run({ store }) {
      await store.queue.enqueueBatch([
        message('A', { createdAt: T0, recipients: rc('a@one.test', 'b@one.test', 'c@two.test') }),
        message('B', { createdAt: T0 + 1, recipients: rc('d@two.test', 'e@three.test') }),
        message('HELD', { createdAt: T0, contentHold: true, recipients: rc('f@one.test') }),
      ]);
      await store.queue.enqueueBatch([message('LATER', { createdAt: T0 + 2, recipients: rc('g@one.test') })]);
      const now = T0 + 10;
      const first = await store.queue.claim({ owner: 'n', now, leaseMs: 60_000, limit: 2 });
      const k1 = claimedKeys(first);
      assert.equal(k1.length, 2);
      assert.ok(
        k1.every((k) => k.startsWith('A/')),
        `the oldest due first: ${k1.join(', ')}`,
      );
      const second = await store.queue.claim({ owner: 'n', now, leaseMs: 60_000, limit: 10, excludeDomains: ['two.test'] });
      assert.ok(
        second.every((j) => j.domain !== 'two.test'),
        'an excluded domain is left alone',
      );
      const third = await store.queue.claim({ owner: 'n', now, leaseMs: 60_000, limit: 10 });
      const all = [...claimedKeys(first), ...claimedKeys(second), ...claimedKeys(third)];
      assert.deepEqual(all.sort(), ['A/0', 'A/1', 'A/2', 'B/0', 'B/1', 'LATER/0'], 'every recipient once');
      assert.ok(
        third.every((j) => j.domain === 'two.test'),
        'only what was excluded is left',
      );
      const late = await store.queue.claim({ owner: 'n', now: now + 10_000_000, leaseMs: 1, limit: 100 });
      assert.deepEqual(
        claimedKeys(late),
        ['A/0', 'A/1', 'A/2', 'B/0', 'B/1', 'LATER/0'],
        'the leases ran out; the held message is still never claimed',
      );
      assert.equal((await store.queue.get('HELD'))!.recipients[0]!.leaseOwner, null);
    },
  },
  {
    name: 'queue: a message held while its recipient is leased is not claimed when the lease runs out; released, it is',
    async run({ store }) {
      await store.queue.enqueueBatch([message('M', { recipients: rc('a@one.test') })]);
      const [job] = await store.queue.claim({ owner: 'n1', now: T0, leaseMs: 1000, limit: 10 });
      assert.ok(job);
      assert.equal(await store.queue.hold('M'), true);
      const held = (await store.queue.get('M'))!;
      assert.deepEqual(
        [held.state, held.holdReason, held.recipients[0]!.leaseOwner, held.recipients[0]!.nextAttemptAt],
        ['held', 'postmaster', 'n1', T0 + 1000],
        'a recipient in flight keeps its lease',
      );
      assert.deepEqual(await store.queue.claim({ owner: 'n2', now: T0 + 5000, leaseMs: 1000, limit: 10 }), []);
      assert.equal(await store.queue.release('M', T0 + 5000), true);
      assert.deepEqual(claimedKeys(await store.queue.claim({ owner: 'n2', now: T0 + 5000, leaseMs: 1000, limit: 10 })), ['M/0']);
    },
  },
  {
    name: 'queue: record writes results (final ones remove the message: finished); deferred keeps its details; attempts oldest first',
    async run({ store }) {
      await store.queue.enqueueBatch([message('M', { recipients: rc('a@one.test', 'b@two.test') })]);
      const jobs = await store.queue.claim({ owner: 'n1', now: T0, leaseMs: 60_000, limit: 10 });
      const r1 = await store.queue.record([
        result(jobOf(jobs, 'M', 'one.test'), 0, 'delivered', {
          at: T0 + 100,
          reply: '250 2.0.0 queued as X',
          category: 'ok',
          remoteHost: 'mx.one.test',
        }),
        result(jobOf(jobs, 'M', 'two.test'), 1, 'deferred', {
          at: T0 + 101,
          nextAttemptAt: T0 + 10_000,
          reply: '451 4.7.1 greylisted',
          category: 'greylist',
          remoteHost: 'mx.two.test',
        }),
      ]);
      assert.deepEqual(r1, { finished: [] });
      const m = (await store.queue.get('M'))!;
      assert.deepEqual(m.recipients, [
        {
          idx: 0,
          address: 'a@one.test',
          domain: 'one.test',
          state: 'delivered',
          attempts: 1,
          nextAttemptAt: m.recipients[0]!.nextAttemptAt,
          lastReply: '250 2.0.0 queued as X',
          lastAttemptAt: T0 + 100,
          remoteHost: 'mx.one.test',
          category: 'ok',
          notify: null,
          orcpt: null,
          leaseOwner: null,
        },
        {
          idx: 1,
          address: 'b@two.test',
          domain: 'two.test',
          state: 'deferred',
          attempts: 1,
          nextAttemptAt: T0 + 10_000,
          lastReply: '451 4.7.1 greylisted',
          lastAttemptAt: T0 + 101,
          remoteHost: 'mx.two.test',
          category: 'greylist',
          notify: null,
          orcpt: null,
          leaseOwner: null,
        },
      ]);
      assert.deepEqual(await store.queue.attempts('M'), [
        { recipientIdx: 0, at: T0 + 100, outcome: 'delivered', category: 'ok', reply: '250 2.0.0 queued as X', remoteHost: 'mx.one.test' },
        {
          recipientIdx: 1,
          at: T0 + 101,
          outcome: 'deferred',
          category: 'greylist',
          reply: '451 4.7.1 greylisted',
          remoteHost: 'mx.two.test',
        },
      ]);
      assert.deepEqual(await store.queue.claim({ owner: 'n1', now: T0 + 9_999, leaseMs: 60_000, limit: 10 }), []);
      const [retry] = await store.queue.claim({ owner: 'n1', now: T0 + 10_000, leaseMs: 60_000, limit: 10 });
      assert.ok(retry);
      assert.deepEqual(
        retry.recipients.map((r) => [r.idx, r.attempts]),
        [[1, 1]],
      );
      const r2 = await store.queue.record([result(retry, 1, 'failed', { at: T0 + 10_001, remoteHost: null })]);
      assert.deepEqual(r2, { finished: [{ id: 'M', bodyPath: null }] });
      assert.equal(await store.queue.get('M'), null);
      assert.equal(await store.queue.stateOf('M'), null);
      assert.equal(await store.queue.count(), 0);
      assert.equal(await store.queue.inlineBody('M'), null);
      assert.deepEqual(await store.queue.attempts('M'), [], 'gone with the message');
      assert.deepEqual(
        await store.queue.record([result(retry, 1, 'delivered')]),
        { finished: [] },
        'a result for a message that is gone is dropped',
      );
    },
  },
  {
    name: "queue: record drops a stale lease's result; without a lease it always applies; attempted=false keeps the count",
    async run({ store }) {
      await store.queue.enqueueBatch([message('M', { recipients: rc('a@one.test') })]);
      const [j1] = await store.queue.claim({ owner: 'n1', now: T0, leaseMs: 1000, limit: 10 });
      const [j2] = await store.queue.claim({ owner: 'n2', now: T0 + 1000, leaseMs: 1000, limit: 10 });
      assert.ok(j1 && j2);
      assert.deepEqual(
        await store.queue.record([result(j1, 0, 'delivered', { at: T0 + 1500 })]),
        { finished: [] },
        'the late result of the first claim',
      );
      let r = (await store.queue.get('M'))!.recipients[0]!;
      assert.deepEqual([r.state, r.attempts, r.leaseOwner, r.nextAttemptAt], ['queued', 0, 'n2', T0 + 2000]);
      assert.deepEqual(await store.queue.attempts('M'), []);

      await store.queue.record([
        result(j2, 0, 'deferred', {
          at: T0 + 1600,
          nextAttemptAt: T0 + 5000,
          attempted: false,
          reply: '421 4.3.2 shutting down',
          category: 'shutdown',
        }),
      ]);
      r = (await store.queue.get('M'))!.recipients[0]!;
      assert.deepEqual(
        [r.state, r.attempts, r.lastAttemptAt, r.nextAttemptAt, r.leaseOwner, r.lastReply],
        ['deferred', 0, null, T0 + 5000, null, '421 4.3.2 shutting down'],
      );
      assert.deepEqual(await store.queue.attempts('M'), [], 'nothing was tried');

      const [j3] = await store.queue.claim({ owner: 'n1', now: T0 + 5000, leaseMs: 1000, limit: 10 });
      assert.ok(j3);
      assert.deepEqual(await store.queue.record([result(j1, 0, 'delivered')]), { finished: [] }, 'the same owner, an older lease');
      assert.equal((await store.queue.get('M'))!.recipients[0]!.state, 'deferred');
      await store.queue.record([result(j3, 0, 'deferred', { lease: undefined, at: T0 + 5100, nextAttemptAt: T0 + 9000 })]);
      r = (await store.queue.get('M'))!.recipients[0]!;
      assert.deepEqual(
        [r.state, r.attempts, r.lastAttemptAt, r.nextAttemptAt, r.leaseOwner],
        ['deferred', 1, T0 + 5100, T0 + 9000, null],
        'no lease: applied',
      );
      assert.deepEqual(
        await store.queue.record([result(j3, 0, 'delivered')]),
        { finished: [] },
        'the lease was taken away by the update without one',
      );
      assert.equal((await store.queue.get('M'))!.recipients[0]!.state, 'deferred');
    },
  },
  {
    name: 'queue: record: delayNotified sticks once set; one call writes several messages and finishes only the final ones',
    async run({ store }) {
      await store.queue.enqueueBatch([
        message('A', { recipients: rc('a@one.test', 'b@one.test') }),
        message('B', { recipients: rc('c@two.test') }),
        message('D', { recipients: rc('d@three.test') }),
      ]);
      const jobs = await store.queue.claim({ owner: 'n', now: T0, leaseMs: 60_000, limit: 10 });
      const r = await store.queue.record([
        result(jobOf(jobs, 'A'), 0, 'delivered'),
        result(jobOf(jobs, 'B'), 0, 'failed'),
        result(jobOf(jobs, 'D'), 0, 'deferred', { nextAttemptAt: T0 + 10, delayNotified: true }),
      ]);
      assert.deepEqual(r, { finished: [{ id: 'B', bodyPath: null }] });
      assert.equal(await store.queue.get('B'), null);
      const again = await store.queue.claim({ owner: 'n', now: T0 + 10, leaseMs: 60_000, limit: 10 });
      assert.deepEqual(
        jobOf(again, 'D').recipients.map((x) => [x.idx, x.attempts, x.delayNotified]),
        [[0, 1, true]],
      );
      await store.queue.record([result(jobOf(again, 'D'), 0, 'deferred', { nextAttemptAt: T0 + 20 })]);
      const third = await store.queue.claim({ owner: 'n', now: T0 + 20, leaseMs: 60_000, limit: 10 });
      assert.deepEqual(
        jobOf(third, 'D').recipients.map((x) => [x.attempts, x.delayNotified]),
        [[2, true]],
        'a later update without it keeps it',
      );
      const fin = await store.queue.record([result(jobOf(jobs, 'A'), 1, 'delivered'), result(jobOf(third, 'D'), 0, 'delivered')]);
      assert.deepEqual(fin.finished.map((f) => f.id).sort(), ['A', 'D']);
      assert.equal(await store.queue.count(), 0);
    },
  },
  {
    name: 'queue: a deferred result for a message cancelled meanwhile makes its recipient due at once, claimed as cancelled',
    async run({ store }) {
      await store.queue.enqueueBatch([message('M', { recipients: rc('a@one.test', 'b@one.test') })]);
      const [job] = await store.queue.claim({ owner: 'n1', now: T0, leaseMs: 60_000, limit: 10 });
      assert.ok(job);
      assert.equal(await store.queue.cancel('M', T0 + 10), true);
      assert.ok(
        (await store.queue.get('M'))!.recipients.every((r) => r.leaseOwner === 'n1' && r.nextAttemptAt === T0 + 60_000),
        'leased recipients are left to their attempt',
      );
      await store.queue.record([result(job, 0, 'deferred', { at: T0 + 20, nextAttemptAt: T0 + 999_999 })]);
      assert.equal((await store.queue.get('M'))!.recipients[0]!.nextAttemptAt, T0 + 20);
      const [bounce] = await store.queue.claim({ owner: 'n2', now: T0 + 20, leaseMs: 60_000, limit: 10 });
      assert.ok(bounce);
      assert.equal(bounce.message.cancelled, true);
      assert.deepEqual(
        bounce.recipients.map((r) => r.idx),
        [0],
      );
    },
  },
  {
    name: "queue: releaseLeases makes an owner's leased recipients due now and leaves the others",
    async run({ store }) {
      await store.queue.enqueueBatch([
        message('A', { recipients: rc('a@one.test', 'b@one.test', 'c@one.test') }),
        message('B', { recipients: rc('d@two.test') }),
      ]);
      const mine = await store.queue.claim({ owner: 'n1', now: T0, leaseMs: 60_000, limit: 10, excludeDomains: ['two.test'] });
      assert.deepEqual(claimedKeys(mine), ['A/0', 'A/1', 'A/2']);
      assert.deepEqual(claimedKeys(await store.queue.claim({ owner: 'n2', now: T0, leaseMs: 60_000, limit: 10 })), ['B/0']);
      await store.queue.record([result(mine[0]!, 2, 'delivered')]);
      assert.equal(await store.queue.releaseLeases('n1', T0 + 500), 2, 'the delivered one is no longer leased');
      const a = (await store.queue.get('A'))!;
      assert.deepEqual(
        a.recipients.map((r) => [r.state, r.leaseOwner, r.state === 'delivered' ? 'n/a' : r.nextAttemptAt]),
        [
          ['queued', null, T0 + 500],
          ['queued', null, T0 + 500],
          ['delivered', null, 'n/a'],
        ],
      );
      assert.deepEqual(
        (await store.queue.get('B'))!.recipients.map((r) => [r.leaseOwner, r.nextAttemptAt]),
        [['n2', T0 + 60_000]],
      );
      assert.equal(await store.queue.releaseLeases('n1', T0 + 600), 0);
      assert.equal(await store.queue.releaseLeases('nobody', T0 + 600), 0);
      assert.deepEqual(claimedKeys(await store.queue.claim({ owner: 'n3', now: T0 + 500, leaseMs: 60_000, limit: 10 })), ['A/0', 'A/1']);
      assert.deepEqual(await store.queue.record([result(mine[0]!, 0, 'delivered')]), { finished: [] }, "n1's old lease no longer writes");
    },
  },
];
