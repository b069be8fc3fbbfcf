/** Which facts become which webhook events, and that their ids make repeats collapse. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeliveryJob, RecipientUpdate } from '../core/index.ts';
import type { LimitRule, EnqueueVerdict } from '../limits/index.ts';
import { deliveryEvents, senderHeldEvent, verdictEvents, type MessageFacts } from './events.ts';
import { urlProblem } from './url.ts';
import { deliveryJob } from '../../test/helpers/delivery-job.ts';

const job = (customerId: number | null = 7): DeliveryJob =>
  deliveryJob({
    message: { customerId, sender: 'alice@example.com', messageIdHeader: '<m@x>', listener: 'submission:587' },
    domain: 'remote.test',
    to: [],
    lease: { owner: 'n', until: 1 },
  });
const upd = (idx: number, state: RecipientUpdate['state'], over: Partial<RecipientUpdate> = {}): RecipientUpdate => ({
  messageId: 'Q1',
  idx,
  state,
  nextAttemptAt: 5000,
  at: 1000,
  reply: `${state} reply`,
  category: 'x',
  remoteHost: 'mx.remote.test',
  attempted: true,
  ...over,
});
const rcpt = (idx: number, attempts: number) => ({ idx, address: `r${idx}@remote.test`, attempts });

test('delivered and bounced for each recipient; deferred only at the first attempt; nothing for untried or customer-less mail', () => {
  const ev = deliveryEvents(job(), [
    { recipient: rcpt(0, 3), update: upd(0, 'delivered') },
    { recipient: rcpt(1, 0), update: upd(1, 'deferred') },
    { recipient: rcpt(2, 1), update: upd(2, 'deferred') },
    { recipient: rcpt(3, 4), update: upd(3, 'failed') },
    { recipient: rcpt(4, 0), update: upd(4, 'deferred', { attempted: false }) },
  ]);
  assert.deepEqual(
    ev.map((e) => [e.type, e.data.recipient]),
    [
      ['delivered', 'r0@remote.test'],
      ['deferred', 'r1@remote.test'],
      ['bounced', 'r3@remote.test'],
    ],
  );
  assert.deepEqual(ev[0]!.data, {
    queueId: 'Q1',
    messageId: '<m@x>',
    sender: 'alice@example.com',
    recipient: 'r0@remote.test',
    reply: 'delivered reply',
    remoteHost: 'mx.remote.test',
    category: 'x',
    attempts: 4,
  });
  assert.equal(ev[1]!.data.nextAttemptAt, new Date(5000).toISOString());
  assert.ok(ev.every((e) => e.customerId === 7 && e.at === 1000 && /^evt_[0-9a-f]{24}$/.test(e.id)));
  assert.equal(new Set(ev.map((e) => e.id)).size, 3);
  const again = deliveryEvents(job(), [{ recipient: rcpt(0, 3), update: upd(0, 'delivered', { at: 9999 }) }]);
  assert.equal(again[0]!.id, ev[0]!.id, 'the same fact, the same id');
  assert.deepEqual(deliveryEvents(job(null), [{ recipient: rcpt(0, 0), update: upd(0, 'delivered') }]), []);
});

const rule = (over: Partial<LimitRule> = {}): LimitRule => ({
  level: 'mailbox',
  target: '*',
  window: 'hour',
  metric: 'messages',
  max: 1,
  action: 'hold',
  ...over,
});
const facts = (queueId: string, over: Partial<MessageFacts> = {}): MessageFacts => ({
  queueId,
  customerId: 7,
  sender: 'alice@example.com',
  recipients: ['bob@remote.test'],
  messageId: '<m@x>',
  from: 'alice@example.com',
  at: 1000,
  ...over,
});

test('a limit hold is held + limit-reached; a refusal is limit-reached only; one id per customer, limit and window', () => {
  const held: EnqueueVerdict = { id: 'Q1', outcome: 'held', exceeded: [{ rule: rule(), used: 1, until: 3_600_000 }] };
  const ev = verdictEvents(facts('Q1'), held);
  assert.deepEqual(
    ev.map((e) => e.type),
    ['held', 'limit-reached'],
  );
  assert.equal(ev[0]!.data.reason, 'limit');
  assert.deepEqual(ev[1]!.data.limit, { level: 'mailbox', target: '*', window: 'hour', metric: 'messages', max: 1, action: 'hold' });
  assert.equal(ev[1]!.data.outcome, 'held');
  assert.equal(ev[1]!.data.windowEnds, new Date(3_600_000).toISOString());
  const refused: EnqueueVerdict = {
    id: 'Q2',
    outcome: 'refused',
    action: 'reject',
    exceeded: [{ rule: rule({ action: 'reject' }), used: 1, until: 3_600_000 }],
  };
  const ev2 = verdictEvents(facts('Q2', { from: 'bob@example.com' }), refused);
  assert.deepEqual(
    ev2.map((e) => [e.type, e.data.outcome]),
    [['limit-reached', 'reject']],
  );
  const sameWindow = verdictEvents(facts('Q3'), {
    id: 'Q3',
    outcome: 'refused',
    action: 'defer',
    exceeded: [{ rule: rule({ action: 'reject' }), used: 2, until: 3_600_000 }],
  });
  assert.equal(sameWindow[0]!.id, ev2[0]!.id, 'the same limit in the same window: one event');
  const nextWindow = verdictEvents(facts('Q4'), {
    id: 'Q4',
    outcome: 'refused',
    action: 'reject',
    exceeded: [{ rule: rule({ action: 'reject' }), used: 1, until: 7_200_000 }],
  });
  assert.notEqual(nextWindow[0]!.id, ev2[0]!.id);
  assert.notEqual(verdictEvents(facts('Q5', { customerId: 8 }), refused)[0]!.id, ev2[0]!.id, 'per customer');
});

test('holds for the sender or the content are held events without limit-reached; queued and customer-less mail give none', () => {
  const sender = verdictEvents(facts('Q1'), { id: 'Q1', outcome: 'held', exceeded: [], reason: 'mailbox-held' });
  assert.deepEqual(
    sender.map((e) => [e.type, e.data.reason]),
    [['held', 'sender']],
  );
  const content = verdictEvents(facts('Q2'), { id: 'Q2', outcome: 'held', exceeded: [], reason: 'content' });
  assert.deepEqual(
    content.map((e) => [e.type, e.data.reason]),
    [['held', 'content']],
  );
  assert.deepEqual(
    verdictEvents(facts('Q3'), { id: 'Q3', outcome: 'refused', action: 'reject', exceeded: [], reason: 'mailbox-held' }),
    [],
  );
  assert.deepEqual(verdictEvents(facts('Q4'), { id: 'Q4', outcome: 'queued' }), []);
  assert.deepEqual(verdictEvents(facts('Q5', { customerId: null }), { id: 'Q5', outcome: 'held', exceeded: [], reason: 'content' }), []);
  const hold = senderHeldEvent({ kind: 'site', name: 'shop', customerId: 7 }, '5 spam', 42);
  assert.deepEqual(
    [hold.type, hold.customerId, hold.at, hold.data],
    ['held', 7, 42, { site: 'shop', reason: 'contain', detail: '5 spam' }],
  );
});

test('endpoint URLs: https only (http with allowInsecure), no credentials or fragment', () => {
  assert.equal(urlProblem('https://hooks.example/p?x=1', false), null);
  assert.equal(urlProblem('http://127.0.0.1:8080/h', true), null);
  assert.match(urlProblem('http://127.0.0.1:8080/h', false)!, /must start with https:\/\/.*allowInsecure/);
  assert.match(urlProblem('ftp://x.example/', true)!, /must start with https:\/\//);
  assert.match(urlProblem('not a url', false)!, /not a valid URL/);
  assert.match(urlProblem('https://u:p@x.example/', false)!, /user name or password/);
  assert.match(urlProblem('https://x.example/#f', false)!, /fragment/);
});
