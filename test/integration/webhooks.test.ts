/**
 * Webhooks end to end in one server: real submissions (nodemailer on 587), delivery to fake MX
 * hosts through the fake DNS, and a receiver on 127.0.0.1 that checks each request's HMAC.
 * delivered, deferred, bounced, held and limit-reached arrive once each, signed; the first
 * request is answered 500 and comes again; another customer's endpoint sees nothing of acme.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import { assertSigned, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';
import { verifyWebhook } from '../../src/webhooks/index.ts';

const ZONE: FakeZone = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx1.remote.test' }] },
  'mx1.remote.test': { A: ['127.0.0.2'] },
  'example.com': { MX: [{ preference: 10, exchange: 'mx.example.com' }] },
  'mx.example.com': { A: ['127.0.0.4'] },
};

let lab: DeliveryLab | null = null;
const receivers: Receiver[] = [];
afterEach(async () => {
  await lab?.close();
  lab = null;
  for (const r of receivers.splice(0)) await r.close();
});

const WEBHOOKS = { allowInsecure: true, allowNetworks: ['127.0.0.0/8'], retrySeconds: [0.3], pollIntervalMs: 50, timeoutSeconds: 2 };

test('delivered, deferred, bounced, held and limit-reached from real traffic reach the endpoint signed, once each; a 500 is retried', async () => {
  const rx = await startReceiver((n) => (n === 1 ? 500 : 200));
  receivers.push(rx);
  const otherRx = await startReceiver();
  receivers.push(otherRx);
  lab = await startDeliveryLab(ZONE, {}, { webhooks: WEBHOOKS });
  const { s } = lab;
  const { endpoint, secret } = await s.admin.addWebhook({ customer: 'acme', url: rx.url });
  await s.admin.addCustomer('other');
  const other = await s.admin.addWebhook({ customer: 'other', url: otherRx.url });
  let later = 0;
  await lab.mx('127.0.0.2', {
    rcpt: (c) =>
      c.to === 'nobody@remote.test'
        ? { code: 550, text: '5.1.1 no such user' }
        : c.to === 'later@remote.test' && later++ === 0
          ? { code: 451, text: '4.2.0 try later' }
          : 'accept',
  });
  await lab.mx('127.0.0.4', {}); // the bounce to alice

  const sent = await lab.submit({ to: ['bob@remote.test', 'nobody@remote.test'] });
  const slow = await lab.submit({ to: 'later@remote.test' });
  await until(async () => (await s.server.store.queue.count()) === 0, 10_000, 'delivery, bounce and retry done');
  await s.admin.setLimit('mailbox', 'alice@example.com', { window: 'hour', messages: 0, action: 'hold' });
  const held1 = await lab.submit({ to: 'bob@remote.test', subject: 'held 1' });
  const held2 = await lab.submit({ to: 'bob@remote.test', subject: 'held 2' });

  const ok = () => rx.received.filter((r) => r.status === 200);
  const types = () =>
    ok()
      .map((r) => `${r.json.type}:${r.json.data.queueId}:${String(r.json.data.recipient ?? '')}`)
      .sort();
  const want = [
    `bounced:${sent}:nobody@remote.test`,
    `deferred:${slow}:later@remote.test`,
    `delivered:${sent}:bob@remote.test`,
    `delivered:${slow}:later@remote.test`,
    `held:${held1}:`,
    `held:${held2}:`,
    `limit-reached:${held1}:`,
  ].sort();
  // the DSN to alice is delivered too (acme's null-sender notice): a delivered event of its own
  await until(
    () => want.every((w) => types().includes(w)) && ok().length === want.length + 1,
    15_000,
    `every event (got ${types().join(' ')})`,
  );

  for (const r of rx.received) {
    assertSigned(r, secret);
    assert.equal(
      verifyWebhook({ header: String(r.headers['postern-signature']), body: r.raw, secret }),
      true,
      'the exported verifier agrees',
    );
    assert.equal(r.json.customer, 'acme');
    assert.match(r.json.id, /^evt_[0-9a-f]{24}$/);
    assert.ok(!Number.isNaN(Date.parse(r.json.created)));
    assert.doesNotMatch(r.raw, /alice-secret-1|hello/, 'never a password or a body');
  }
  assert.equal(new Set(ok().map((r) => r.json.id)).size, ok().length, 'each event once');
  const first = rx.received[0]!;
  assert.equal(first.status, 500);
  assert.ok(
    ok().some((r) => r.json.id === first.json.id && r.raw === first.raw),
    'the event answered 500 came again, byte for byte',
  );

  const byType = (t: string, q: string) => ok().find((r) => r.json.type === t && r.json.data.queueId === q)!.json.data;
  assert.match(String(byType('delivered', sent).reply), /^250/);
  assert.match(String(byType('delivered', sent).remoteHost), /mx1\.remote\.test/);
  assert.equal(byType('delivered', sent).sender, 'alice@example.com');
  assert.match(String(byType('delivered', sent).messageId), /^<.+>$/);
  assert.match(String(byType('bounced', sent).reply), /^550 5\.1\.1/);
  assert.match(String(byType('deferred', slow).reply), /^451 4\.2\.0/);
  assert.equal(byType('held', held1).reason, 'limit');
  const limit = byType('limit-reached', held1);
  assert.deepEqual(limit.limit, {
    level: 'mailbox',
    target: 'alice@example.com',
    window: 'hour',
    metric: 'messages',
    max: 0,
    action: 'hold',
  });
  assert.equal(limit.outcome, 'held');
  assert.equal(limit.submittedBy, 'alice@example.com');
  assert.equal(ok().filter((r) => r.json.type === 'limit-reached').length, 1, 'one limit-reached per limit and window');

  assert.equal(otherRx.received.length, 0, "another customer's endpoint hears nothing of acme");
  // the receiver answered before the outcome was written: wait for the log to say so
  const log = await until(
    async () => {
      const l = await s.admin.webhookLog({ customer: 'acme', endpoint: endpoint.id, limit: 100 });
      return l.length === ok().length && l.every((d) => d.state === 'delivered') ? l : null;
    },
    5000,
    'every delivery recorded delivered',
  );
  const retried = log.find((d) => d.eventId === first.json.id)!;
  assert.equal(retried.attempts, 2);
  assert.equal(retried.lastStatus, 200);
  assert.deepEqual(await s.admin.webhookLog({ customer: 'other' }), []);
  await assert.rejects(s.admin.webhookLog({ customer: 'other', endpoint: endpoint.id }), /no webhook endpoint .* of customer other/);
  await assert.rejects(s.admin.removeWebhook(endpoint.id, 'other'), /no webhook endpoint/);

  // ping: only to the endpoint asked, even though it subscribed to no ping
  await s.admin.testWebhook(other.endpoint.id);
  await until(() => otherRx.received.length === 1, 5000, 'the ping');
  assertSigned(otherRx.received[0]!, other.secret);
  assert.equal(otherRx.received[0]!.json.type, 'ping');
  assert.equal(otherRx.received[0]!.json.customer, 'other');
});

test('429 with Retry-After waits that long; a rotated secret signs the next attempt; after maxAttempts the delivery fails', async () => {
  const rx = await startReceiver((n) => (n === 1 ? { status: 429, headers: { 'retry-after': '3' } } : 503));
  receivers.push(rx);
  lab = await startDeliveryLab(ZONE, {}, { webhooks: { ...WEBHOOKS, maxAttempts: 3 } });
  const { s } = lab;
  const { endpoint } = await s.admin.addWebhook({ customer: 'acme', url: rx.url, events: 'delivered' });
  const rotated = await s.admin.rotateWebhookSecret(endpoint.id);
  await s.admin.setWebhookEnabled(endpoint.id, false);
  await assert.rejects(s.admin.testWebhook(endpoint.id), /is disabled; enable it first: postern webhook enable/);
  await s.admin.setWebhookEnabled(endpoint.id, true);
  await assert.rejects(s.admin.addWebhook({ customer: 'nobody', url: rx.url }), /no customer named nobody/);
  await s.admin.testWebhook(endpoint.id);
  await until(() => rx.received.length === 1, 5000, 'the first attempt');
  await until(() => rx.received.length === 3, 10_000, 'the retries');
  const gap = rx.received[1]!.at - rx.received[0]!.at;
  assert.ok(gap >= 2900, `Retry-After: 3 waited, not the 0.3 s schedule (${gap} ms)`);
  assert.ok(rx.received[2]!.at - rx.received[1]!.at < 2500, 'a 503 without Retry-After follows the schedule');
  for (const r of rx.received) assertSigned(r, rotated.secret);
  const [d] = await until(
    async () => {
      const l = await s.admin.webhookLog({ endpoint: endpoint.id });
      return l[0]?.state === 'failed' ? l : null;
    },
    5000,
    'failed',
  );
  assert.equal(d!.attempts, 3);
  assert.equal(d!.lastStatus, 503);
  assert.match(d!.lastError!, /^HTTP 503/);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(rx.received.length, 3, 'nothing after the last attempt');
  assert.ok(s.logs.some((l) => l.evt === 'webhook' && l.result === 'failed'));
});
