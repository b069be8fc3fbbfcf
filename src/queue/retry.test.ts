import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, notifyAllows, retryDelayMs, statusOfReply, type RetryPolicy, type Outcome } from './retry.ts';
import type { DeliveryJob } from '../core/index.ts';
import { deliveryJob } from '../../test/helpers/delivery-job.ts';

const MIN = 60_000;
const policy: RetryPolicy = { retryMinutes: [5, 10, 20, 40, 60, 240], expireMs: 5 * 86_400_000, delayWarningMs: 4 * 3_600_000 };
const T0 = 1_800_000_000_000;

const job = (over: Partial<DeliveryJob['recipients'][number]> = {}): DeliveryJob =>
  deliveryJob({ message: { createdAt: T0 }, recipient: over, lease: { owner: 'node', until: T0 + MIN } });
const deferred: Outcome = { outcome: 'deferred', category: 'greylisted', reply: '451 4.7.1 try later', remoteHost: 'mx[1.2.3.4]:25' };

test('the retry schedule is the data: 5, 10, 20, 40, 60 min, then the last entry repeats', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 50].map((n) => retryDelayMs(policy, n) / MIN),
    [5, 10, 20, 40, 60, 240, 240, 240],
  );
});

test('deferred: next attempt after the scheduled wait, attempt counted', () => {
  const j = job({ attempts: 2 });
  const d = decide(j, j.recipients[0]!, deferred, T0 + MIN, policy);
  assert.equal(d.update.state, 'deferred');
  assert.equal(d.update.nextAttemptAt, T0 + MIN + 20 * MIN);
  assert.equal(d.update.attempted, true);
  assert.equal(d.notice, null);
  assert.equal(d.status, '4.7.1');
});

test('expiry: a retry that would fall after createdAt + expire fails now with 4.4.7 and the last reply', () => {
  const now = T0 + policy.expireMs - 2 * MIN;
  const j = job({ attempts: 30 });
  const d = decide(j, j.recipients[0]!, deferred, now, policy);
  assert.equal(d.update.state, 'failed');
  assert.equal(d.expired, true);
  assert.equal(d.status, '4.4.7');
  assert.match(d.update.reply, /^4\.4\.7 gave up after 5 days in the queue; last reply: 451 4\.7\.1 try later/);
  assert.equal(d.notice, 'failure');
});

test('delay warning: once after delayWarningMs, only when NOTIFY allows DELAY', () => {
  const late = T0 + 4 * 3_600_000 + 1;
  const j = job({ attempts: 5 });
  assert.equal(decide(j, j.recipients[0]!, deferred, T0 + 3_600_000, policy).notice, null, 'too early');
  const d = decide(j, j.recipients[0]!, deferred, late, policy);
  assert.equal(d.notice, 'delay');
  assert.equal(d.update.delayNotified, true);
  const again = job({ attempts: 6, delayNotified: true });
  assert.equal(decide(again, again.recipients[0]!, deferred, late, policy).notice, null, 'only once');
  const failureOnly = job({ attempts: 5, notify: 'FAILURE' });
  assert.equal(decide(failureOnly, failureOnly.recipients[0]!, deferred, late, policy).notice, null);
  const off = { ...policy, delayWarningMs: 0 };
  assert.equal(decide(j, j.recipients[0]!, deferred, late, off).notice, null, '0 turns warnings off');
});

test('failed and delivered: notices per NOTIFY; a next hop with DSN reports success itself', () => {
  const j = job();
  const r = j.recipients[0]!;
  const failed: Outcome = { outcome: 'failed', category: 'mailbox-unknown', reply: '550 5.1.1 no such user', remoteHost: null };
  assert.equal(decide(j, r, failed, T0, policy).notice, 'failure');
  assert.equal(decide(j, { ...r, notify: 'NEVER' }, failed, T0, policy).notice, null);
  assert.equal(decide(j, r, failed, T0, policy).status, '5.1.1');
  const ok: Outcome = { outcome: 'delivered', category: 'ok', reply: '250 2.0.0 queued', remoteHost: null };
  assert.equal(decide(j, r, ok, T0, policy).notice, null, 'no NOTIFY: no success report');
  assert.equal(decide(j, { ...r, notify: 'SUCCESS,FAILURE' }, ok, T0, policy).notice, 'success');
  assert.equal(decide(j, { ...r, notify: 'SUCCESS' }, { ...ok, dsnPassedOn: true }, T0, policy).notice, null);
});

test('notifyAllows and statusOfReply', () => {
  assert.equal(notifyAllows(null, 'FAILURE'), true);
  assert.equal(notifyAllows(null, 'DELAY'), true);
  assert.equal(notifyAllows(null, 'SUCCESS'), false);
  assert.equal(notifyAllows('never', 'FAILURE'), false);
  assert.equal(notifyAllows('SUCCESS, DELAY', 'DELAY'), true);
  assert.equal(statusOfReply('550 5.7.1 go away', 'failed'), '5.7.1');
  assert.equal(statusOfReply('550 go away', 'failed'), '5.0.0');
  assert.equal(statusOfReply('connection refused', 'deferred'), '4.0.0');
});
