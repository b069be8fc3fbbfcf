import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { NEVER, type DeliveryJob, type MessageState } from '../core/index.ts';
import {
  createRunner,
  NOTICE_RETRY_MS,
  type Deliverer,
  type DeliveryOutcome,
  type Notifier,
  type NoticeLine,
  type RunResult,
} from './runner.ts';
import type { Notice, RetryPolicy } from './retry.ts';
import { deliveryJob } from '../../test/helpers/delivery-job.ts';

const MIN = 60_000;
const T0 = 1_800_000_000_000;
const policy: RetryPolicy = { retryMinutes: [5, 10], expireMs: 5 * 86_400_000, delayWarningMs: 4 * 3_600_000 };
const ctx = { deadline: T0 + MIN, signal: new AbortController().signal };

const job = (addresses = ['b@y.test']): DeliveryJob =>
  deliveryJob({ message: { createdAt: T0 }, to: addresses, lease: { owner: 'node', until: T0 + MIN } });

const failed = (address: string): DeliveryOutcome => ({
  address,
  outcome: 'failed',
  category: 'mailbox',
  reply: '550 5.1.1 no such user',
  remoteHost: 'mx[1.2.3.4]:25',
});
const delivered = (address: string): DeliveryOutcome => ({
  address,
  outcome: 'delivered',
  category: 'delivered',
  reply: '250 ok',
  remoteHost: 'mx[1.2.3.4]:25',
});

function setup(o: {
  state?: MessageState | null;
  outcomes?: (j: DeliveryJob) => DeliveryOutcome[];
  notice?: (kind: Notice) => Promise<string | null>;
  now?: number;
}) {
  const calls = { delivered: 0, notices: [] as { kind: Notice; lines: NoticeLine[] }[], results: [] as RunResult[][] };
  const deliverer: Deliverer = {
    async deliver(j) {
      calls.delivered++;
      return (o.outcomes ?? ((x) => x.recipients.map((r) => delivered(r.address))))(j);
    },
  };
  const notifier: Notifier = {
    async send(_j, kind, lines) {
      calls.notices.push({ kind, lines });
      return (o.notice ?? (async () => 'N1'))(kind);
    },
  };
  const run = createRunner({
    queue: { stateOf: async () => (o.state === undefined ? 'queued' : o.state) },
    deliverer,
    notifier,
    policy,
    clock: { now: () => o.now ?? T0 + MIN },
    logger: pino({ level: 'silent' }),
    onResults: (_j, r) => calls.results.push(r),
  });
  return { run, calls };
}

test('the runner delivers, decides each recipient and reports the results', async () => {
  const { run, calls } = setup({});
  const updates = await run(job(['b@y.test', 'c@y.test']), ctx);
  assert.equal(calls.delivered, 1);
  assert.deepEqual(
    updates.map((u) => [u.idx, u.state]),
    [
      [0, 'delivered'],
      [1, 'delivered'],
    ],
  );
  assert.equal(calls.notices.length, 0, 'no success report unless NOTIFY asks');
  assert.equal(calls.results[0]!.length, 2);
});

test('a message deleted since the claim: nothing to do, nothing delivered', async () => {
  const { run, calls } = setup({ state: null });
  assert.deepEqual(await run(job(), ctx), []);
  assert.equal(calls.delivered, 0);
});

test('held after the claim: given back untried, due never, with the reason', async () => {
  const { run, calls } = setup({ state: 'held' });
  const [u] = await run(job(), ctx);
  assert.equal(calls.delivered, 0);
  assert.deepEqual([u!.state, u!.nextAttemptAt, u!.attempted, u!.reply], ['deferred', NEVER, false, 'held by the postmaster']);
});

test('cancelled since the claim: every recipient fails without an attempt and the sender gets the failure report', async () => {
  const { run, calls } = setup({ state: 'cancelled' });
  const updates = await run(job(['b@y.test', 'c@y.test']), ctx);
  assert.equal(calls.delivered, 0);
  assert.deepEqual(
    updates.map((u) => u.state),
    ['failed', 'failed'],
  );
  assert.match(updates[0]!.reply, /deleted from the queue by the postmaster/);
  assert.equal(calls.notices.length, 1);
  assert.equal(calls.notices[0]!.kind, 'failure');
  assert.deepEqual(
    calls.notices[0]!.lines.map((l) => l.address),
    ['b@y.test', 'c@y.test'],
  );
});

test('a failure report names its notice on the update (message tracking records it)', async () => {
  const { run } = setup({ outcomes: (j) => j.recipients.map((r) => failed(r.address)) });
  const [u] = await run(job(), ctx);
  assert.equal(u!.state, 'failed');
  assert.deepEqual(u!.notice, { kind: 'failure', queueId: 'N1' });
});

test('a failure whose report cannot be queued keeps its recipient for a later try', async () => {
  const now = T0 + MIN;
  const { run } = setup({
    outcomes: (j) => j.recipients.map((r) => failed(r.address)),
    notice: async () => {
      throw new Error('disk full');
    },
    now,
  });
  const [u] = await run(job(), ctx);
  assert.deepEqual([u!.state, u!.nextAttemptAt, u!.notice], ['deferred', now + NOTICE_RETRY_MS, undefined]);
});

test("past the message's expiry a lost failure report is given up: the failure stands", async () => {
  const { run } = setup({
    outcomes: (j) => j.recipients.map((r) => failed(r.address)),
    notice: async () => {
      throw new Error('disk full');
    },
    now: T0 + policy.expireMs + MIN,
  });
  const [u] = await run(job(), ctx);
  assert.equal(u!.state, 'failed');
});

test('a recipient the deliverer said nothing about is deferred ("no outcome")', async () => {
  const { run } = setup({ outcomes: () => [] });
  const [u] = await run(job(), ctx);
  assert.deepEqual([u!.state, u!.reply], ['deferred', 'no outcome']);
});

test('a delay warning that cannot be queued is owed again (delayNotified stays false)', async () => {
  const deferred = (address: string): DeliveryOutcome => ({
    address,
    outcome: 'deferred',
    category: 'greylisted',
    reply: '451 4.7.1 later',
    remoteHost: 'mx[1.2.3.4]:25',
  });
  const { run, calls } = setup({
    outcomes: (j) => j.recipients.map((r) => deferred(r.address)),
    notice: async () => {
      throw new Error('down');
    },
    now: T0 + 5 * 3_600_000,
  });
  const [u] = await run(job(), ctx);
  assert.equal(calls.notices[0]!.kind, 'delay');
  assert.equal(u!.state, 'deferred');
  assert.equal(u!.delayNotified, false);
});
