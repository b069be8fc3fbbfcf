/** Conformance cases: the queue's operator actions (hold, release, retry, remove, cancel). */
import assert from 'node:assert/strict';
import { NEVER } from '../../core/index.ts';
import { claimedKeys, jobOf, message, result, T0, type Case } from './harness.ts';

const rc = (...a: string[]) => a.map((address) => ({ address }));

export const operatorCases: Case[] = [
  {
    name: 'queue: a recipient in flight when its message was held is deferred to never (until released), not to its retry time',
    async run({ store }) {
      await store.queue.enqueueBatch([message('F')]);
      const [job] = await store.queue.claim({ owner: 'n', now: T0 + 10, leaseMs: 60_000, limit: 1 });
      assert.equal(await store.queue.hold('F'), true);
      const r = job.recipients[0];
      await store.queue.record([
        {
          messageId: 'F',
          idx: r.idx,
          state: 'deferred',
          nextAttemptAt: T0 + 300_000,
          at: T0 + 20,
          reply: '451 later',
          category: 'temporary',
          remoteHost: null,
          attempted: true,
          lease: job.lease,
        },
      ]);
      const held = (await store.queue.get('F'))!;
      assert.equal(held.recipients[r.idx].state, 'deferred');
      assert.equal(held.recipients[r.idx].nextAttemptAt, NEVER);
      assert.equal(await store.queue.release('F', T0 + 400), true);
      assert.ok(
        (await store.queue.get('F'))!.recipients.every((x) => x.nextAttemptAt === T0 + 400),
        'due at the release',
      );
    },
  },
  {
    name: 'queue: depth counts messages by state and pending recipients by state',
    async run({ store }) {
      assert.deepEqual(await store.queue.depth(), {
        messages: { queued: 0, held: 0, cancelled: 0 },
        recipients: { queued: 0, deferred: 0 },
      });
      await store.queue.enqueueBatch([
        message('A'),
        message('B', { createdAt: T0 + 1 }),
        message('H', { contentHold: true, createdAt: T0 + 2 }),
      ]);
      await store.queue.cancel('B', T0 + 10);
      const [job] = await store.queue.claim({ owner: 'n', now: T0 + 10, leaseMs: 1000, limit: 1 });
      const r = job.recipients[0];
      await store.queue.record([
        {
          messageId: job.message.id,
          idx: r.idx,
          state: 'deferred',
          nextAttemptAt: T0 + 99_000,
          at: T0 + 20,
          reply: '451 later',
          category: 'temporary',
          remoteHost: null,
          attempted: true,
          lease: job.lease,
        },
      ]);
      // every recipient of A, B and H is pending: one of them deferred, the held ones queued
      assert.deepEqual(await store.queue.depth(), {
        messages: { queued: 1, held: 1, cancelled: 1 },
        recipients: { queued: 5, deferred: 1 },
      });
    },
  },
  {
    name: 'queue: hold and release (false when there is nothing to act on); a released message is due at the release time',
    async run({ store }) {
      await store.queue.enqueueBatch([message('M'), message('C', { contentHold: true, createdAt: T0 + 1 })]);
      assert.equal(await store.queue.hold('M'), true);
      assert.equal(await store.queue.hold('M'), false, 'already held');
      assert.equal(await store.queue.hold('missing'), false);
      const held = (await store.queue.get('M'))!;
      assert.deepEqual([held.state, held.holdReason], ['held', 'postmaster']);
      assert.ok(held.recipients.every((r) => r.state === 'queued' && r.nextAttemptAt === NEVER));
      assert.equal(await store.queue.stateOf('M'), 'held');
      assert.deepEqual(
        (await store.queue.list({ state: 'held' })).map((m) => m.id),
        ['M', 'C'],
      );
      assert.deepEqual(await store.queue.claim({ owner: 'n', now: T0 + 1000, leaseMs: 1000, limit: 10 }), []);

      assert.equal(await store.queue.release('M', T0 + 5000), true);
      assert.equal(await store.queue.release('M', T0 + 5000), false, 'not held');
      assert.equal(await store.queue.release('missing', T0 + 5000), false);
      const released = (await store.queue.get('M'))!;
      assert.deepEqual([released.state, released.holdReason], ['queued', null]);
      assert.ok(released.recipients.every((r) => r.nextAttemptAt === T0 + 5000));
      assert.deepEqual(await store.queue.claim({ owner: 'n', now: T0 + 4999, leaseMs: 1000, limit: 10 }), []);
      assert.deepEqual(claimedKeys(await store.queue.claim({ owner: 'n', now: T0 + 5000, leaseMs: 60_000, limit: 10 })), ['M/0', 'M/1']);

      assert.equal(await store.queue.release('C', T0 + 6000), true, 'a content hold is released the same way');
      assert.equal((await store.queue.get('C'))!.holdReason, null);
      assert.deepEqual(claimedKeys(await store.queue.claim({ owner: 'n', now: T0 + 6000, leaseMs: 1000, limit: 10 })), ['C/0', 'C/1']);
    },
  },
  {
    name: 'queue: retry makes pending, unleased recipients of a queued message (or of all) due now; returns how many',
    async run({ store }) {
      await store.queue.enqueueBatch([
        message('A', { recipients: rc('a@one.test', 'b@one.test') }),
        message('B', { recipients: rc('c@two.test') }),
        message('H', { recipients: rc('h@three.test'), contentHold: true }),
      ]);
      const jobs = await store.queue.claim({ owner: 'n', now: T0, leaseMs: 60_000, limit: 10 });
      await store.queue.record([
        result(jobOf(jobs, 'A'), 0, 'deferred', { nextAttemptAt: T0 + 10_000 }),
        result(jobOf(jobs, 'A'), 1, 'delivered'),
        result(jobOf(jobs, 'B'), 0, 'deferred', { nextAttemptAt: T0 + 20_000 }),
      ]);
      assert.equal(await store.queue.retry('A', T0 + 100), 1);
      assert.equal((await store.queue.get('A'))!.recipients[0]!.nextAttemptAt, T0 + 100);
      assert.equal(await store.queue.retry('A', T0 + 100), 0, 'already due');
      assert.equal(await store.queue.retry(null, T0 + 200), 1, 'B only: A is due, H is held');
      assert.equal((await store.queue.get('B'))!.recipients[0]!.nextAttemptAt, T0 + 200);
      assert.equal((await store.queue.get('H'))!.recipients[0]!.nextAttemptAt, NEVER);
      assert.equal(await store.queue.retry('H', T0 + 200), 0);
      assert.equal(await store.queue.retry('missing', T0 + 200), 0);
      const [leased] = await store.queue.claim({ owner: 'n', now: T0 + 200, leaseMs: 60_000, limit: 10, excludeDomains: ['two.test'] });
      assert.ok(leased);
      assert.equal(await store.queue.retry('A', T0 + 300), 0, 'a recipient in flight is left to its attempt');
      assert.equal((await store.queue.get('A'))!.recipients[0]!.leaseOwner, 'n');
    },
  },
  {
    name: 'queue: remove returns what the message was, then null; a late result for it is dropped',
    async run({ store }) {
      await store.queue.enqueueBatch([message('M'), message('H', { contentHold: true }), message('K')]);
      const [job] = await store.queue.claim({ owner: 'n', now: T0, leaseMs: 60_000, limit: 1 });
      assert.ok(job);
      const leased = await store.queue.get(job.message.id);
      const removed = await store.queue.remove(job.message.id);
      assert.deepEqual(removed, leased);
      assert.equal(await store.queue.remove(job.message.id), null);
      assert.equal(await store.queue.get(job.message.id), null);
      assert.equal(await store.queue.inlineBody(job.message.id), null);
      assert.deepEqual(await store.queue.record([result(job, job.recipients[0]!.idx, 'delivered')]), { finished: [] });
      const other = job.message.id === 'M' ? 'K' : 'M';
      assert.ok(await store.queue.get(other), 'the others stay');
      assert.equal((await store.queue.remove('H'))!.state, 'held', 'a held message too');
      assert.equal(await store.queue.remove('missing'), null);
      assert.equal(await store.queue.count(), 1);
    },
  },
  {
    name: 'queue: cancel marks a queued or held message cancelled and its pending recipients due now; claimed as cancelled',
    async run({ store }) {
      await store.queue.enqueueBatch([
        message('Q', { recipients: rc('a@one.test', 'b@one.test') }),
        message('H', { contentHold: true, recipients: rc('c@two.test') }),
      ]);
      assert.equal(await store.queue.cancel('Q', T0 + 50), true);
      assert.equal(await store.queue.cancel('Q', T0 + 60), false, 'already cancelled');
      assert.equal(await store.queue.cancel('missing', T0 + 60), false);
      const q = (await store.queue.get('Q'))!;
      assert.deepEqual([q.state, q.holdReason], ['cancelled', null]);
      assert.ok(q.recipients.every((r) => r.nextAttemptAt === T0 + 50));
      assert.equal(await store.queue.stateOf('Q'), 'cancelled');
      assert.equal(await store.queue.cancel('H', T0 + 60), true, 'a held message can be cancelled');
      assert.equal(await store.queue.stateOf('H'), 'cancelled');
      assert.ok((await store.queue.get('H'))!.recipients.every((r) => r.nextAttemptAt === T0 + 60));
      assert.equal(await store.queue.hold('Q'), false, 'a cancelled message is not held');
      assert.equal(await store.queue.release('Q', T0 + 60), false);
      assert.equal(await store.queue.retry('Q', T0 + 60), 0);
      const jobs = await store.queue.claim({ owner: 'n', now: T0 + 60, leaseMs: 60_000, limit: 10 });
      assert.deepEqual(claimedKeys(jobs), ['H/0', 'Q/0', 'Q/1']);
      assert.ok(jobs.every((j) => j.message.cancelled));
      const done = await store.queue.record(
        jobs.flatMap((j) =>
          j.recipients.map((r) =>
            result(j, r.idx, 'failed', { attempted: false, reply: '554 5.0.0 deleted by the postmaster', category: 'cancelled' }),
          ),
        ),
      );
      assert.deepEqual(done.finished.map((f) => f.id).sort(), ['H', 'Q']);
      assert.equal(await store.queue.count(), 0);
    },
  },
];
