import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NEVER, type QueuedMessage, type QueuedRecipient } from '../../../core/index.ts';
import { AdminError } from '../../service.ts';
import { DEFAULT_LIMIT, lastReplyOf, listInputOf, nextAttemptOf, queryOf } from './queue.ts';

const rcpt = (o: Partial<QueuedRecipient>): QueuedRecipient => ({
  idx: 0,
  address: 'a@x.test',
  domain: 'x.test',
  state: 'queued',
  attempts: 0,
  nextAttemptAt: 1000,
  lastReply: null,
  lastAttemptAt: null,
  remoteHost: null,
  category: null,
  notify: null,
  orcpt: null,
  leaseOwner: null,
  ...o,
});
const msg = (o: Partial<QueuedMessage>): QueuedMessage => ({
  id: 'ID',
  customerId: 1,
  customerName: 'acme',
  dsnRet: null,
  dsnEnvid: null,
  sender: 's@acme.test',
  size: 1,
  state: 'queued',
  holdReason: null,
  bodyPath: null,
  messageIdHeader: null,
  authUser: null,
  siteName: null,
  clientIp: '127.0.0.1',
  listener: 'submission:587',
  createdAt: 0,
  recipients: [],
  ...o,
});

test('the filter form: empty fields are no filter, the limit defaults and is bounded', () => {
  const q = queryOf((k) => (({ state: 'held', domain: ' ', sender: '<>', limit: '' }) as Record<string, string>)[k]);
  assert.deepEqual(listInputOf(q), {
    state: 'held',
    domain: undefined,
    sender: '<>',
    customer: undefined,
    site: undefined,
    limit: DEFAULT_LIMIT,
  });
  assert.equal(listInputOf({ ...q, limit: '5' }).limit, 5);
  for (const bad of ['0', '1001', 'x', '2.5']) assert.throws(() => listInputOf({ ...q, limit: bad }), AdminError, bad);
});

test('next attempt: the earliest waiting recipient; held, in flight, nothing pending or being bounced say so', () => {
  const m = msg({
    recipients: [
      rcpt({ nextAttemptAt: 5000 }),
      rcpt({ idx: 1, state: 'deferred', nextAttemptAt: 3000 }),
      rcpt({ idx: 2, state: 'delivered', nextAttemptAt: 1 }),
    ],
  });
  assert.deepEqual(nextAttemptOf(m, 2000), { kind: 'at', at: 3000 });
  assert.deepEqual(nextAttemptOf({ ...m, state: 'held' }, 2000), { kind: 'held' });
  assert.deepEqual(nextAttemptOf({ ...m, state: 'cancelled' }, 2000), { kind: 'cancelled' });
  assert.deepEqual(nextAttemptOf(msg({ recipients: [rcpt({ leaseOwner: 'n1', nextAttemptAt: 9000 })] }), 2000), { kind: 'running' });
  assert.deepEqual(nextAttemptOf(msg({ recipients: [rcpt({ state: 'failed' })] }), 2000), { kind: 'none' });
  assert.deepEqual(nextAttemptOf(msg({ recipients: [rcpt({ nextAttemptAt: NEVER })] }), 2000), { kind: 'none' });
});

test("last reply: the newest attempt's reply, on one line, abbreviated", () => {
  assert.equal(lastReplyOf(msg({ recipients: [rcpt({})] })), null);
  const m = msg({
    recipients: [
      rcpt({ lastReply: '250 old', lastAttemptAt: 1 }),
      rcpt({ idx: 1, lastReply: '451 4.7.1\n  greylisted', lastAttemptAt: 2 }),
    ],
  });
  assert.equal(lastReplyOf(m), '451 4.7.1 greylisted');
  assert.equal(lastReplyOf(m, 10), '451 4.7.1…');
});
