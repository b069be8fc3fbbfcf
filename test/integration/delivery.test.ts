/**
 * End to end: submit on 587 (STARTTLS + AUTH), resolve through the fake DNS, deliver to fake
 * MX hosts, and check outcomes, retries, expiry, notices (parsed DSNs) and connection reuse.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startDeliveryLab, until, parse, statusBlocks, type DeliveryLab } from '../helpers/delivery-lab.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';

const ZONE: FakeZone = {
  'remote.test': {
    MX: [
      { preference: 10, exchange: 'mx1.remote.test' },
      { preference: 20, exchange: 'mx2.remote.test' },
    ],
  },
  'mx1.remote.test': { A: ['127.0.0.2'] },
  'mx2.remote.test': { A: ['127.0.0.3'] },
  // bounces to alice@example.com go here
  'example.com': { MX: [{ preference: 10, exchange: 'mx.example.com' }] },
  'mx.example.com': { A: ['127.0.0.4'] },
  'nullmx.test': { MX: [{ preference: 0, exchange: '.' }] },
};

let lab: DeliveryLab | null = null;
afterEach(async () => {
  await lab?.close();
  lab = null;
});

const queueEmpty = (l: DeliveryLab) => async () => (await l.s.server.store.queue.count()) === 0;

test('submitted on 587, resolved through DNS, delivered byte for byte; the queue empties and the body is removed', async () => {
  lab = await startDeliveryLab(ZONE);
  const mx1 = await lab.mx('127.0.0.2', {});
  const id = await lab.submit({ to: 'bob@remote.test', subject: 'e2e', text: 'line one\r\n.\r\nline three' });
  await until(() => mx1.received.length === 1, 5000, 'delivery');
  const got = mx1.received[0]!;
  assert.equal(got.from, 'alice@example.com');
  assert.deepEqual(got.to, ['bob@remote.test']);
  assert.equal(got.ehlo, 'mx.postern.test');
  const text = got.data.toString();
  assert.match(text, new RegExp(`with ESMTPSA id ${id}`));
  assert.match(text, /\r\nline one\r\n\.\r\nline three/);
  await until(queueEmpty(lab), 5000, 'empty queue');
  const log = lab.s.logs.find((l) => l.evt === 'delivery' && l.qid === id);
  assert.equal(log?.result, 'delivered');
  assert.match(String(log?.remote), /mx1\.remote\.test\[127\.0\.0\.2\]/);
});

test('first MX dead (nothing listening), the second accepts', async () => {
  lab = await startDeliveryLab(ZONE);
  const mx2 = await lab.mx('127.0.0.3', {});
  await lab.submit({ to: 'bob@remote.test' });
  await until(() => mx2.received.length === 1, 5000, 'delivery to mx2');
  await until(queueEmpty(lab), 5000, 'empty queue');
});

test('5xx at RCPT: failed, and a DSN goes back to the sender with the remote reply', async () => {
  lab = await startDeliveryLab(ZONE);
  await lab.mx('127.0.0.2', { rcpt: (c) => (c.to === 'nobody@remote.test' ? { code: 550, text: '5.1.1 no such user here' } : 'accept') });
  const home = await lab.mx('127.0.0.4', {});
  const id = await lab.submit({ to: ['nobody@remote.test', 'bob@remote.test'], subject: 'will half bounce' });
  await until(() => home.received.length === 1, 5000, 'the DSN');
  const dsn = home.received[0]!;
  assert.equal(dsn.from, '', 'a DSN has the null sender');
  assert.deepEqual(dsn.to, ['alice@example.com']);
  const raw = dsn.data.toString();
  const parsed = await parse(dsn.data);
  assert.match(
    String(parsed.headers.get('content-type') && (parsed.headers.get('content-type') as { value: string }).value),
    /multipart\/report/,
  );
  assert.match(raw, /report-type="?delivery-status/i);
  assert.equal(parsed.headers.get('auto-submitted'), 'auto-replied');
  assert.match(parsed.subject ?? '', /Undelivered/);
  assert.match(parsed.text ?? '', /nobody@remote\.test/);
  const [perMessage, ...perRecipient] = statusBlocks(raw);
  assert.equal(perMessage!['reporting-mta'], 'dns; mx.postern.test');
  assert.equal(perRecipient.length, 1, 'only the failed recipient is reported');
  assert.equal(perRecipient[0]!['final-recipient'], 'rfc822; nobody@remote.test');
  assert.equal(perRecipient[0]!.action, 'failed');
  assert.equal(perRecipient[0]!.status, '5.1.1');
  assert.equal(perRecipient[0]!['remote-mta'], 'dns; mx1.remote.test');
  assert.match(perRecipient[0]!['diagnostic-code']!, /^smtp; 550 5\.1\.1 no such user here/);
  assert.match(raw, /Content-Type: text\/rfc822-headers/i);
  assert.match(raw, /Subject: will half bounce/);
  assert.match(raw, new RegExp(id));
  await until(queueEmpty(lab), 5000, 'empty queue');
});

test('4xx then accepted on retry; every attempt is kept until delivery', async () => {
  lab = await startDeliveryLab(ZONE);
  // mx2 absent: the 4xx of mx1 on the first session is final for that attempt
  let tries = 0;
  const mx1 = await lab.mx('127.0.0.2', {
    rcpt: () => (++tries === 1 ? { code: 451, text: '4.7.1 greylisted, come back later' } : 'accept'),
  });
  const id = await lab.submit({ to: 'bob@remote.test' });
  await until(() => lab!.s.logs.some((l) => l.evt === 'delivery' && l.qid === id && l.result === 'deferred'), 5000, 'deferral');
  await until(() => mx1.received.length === 1, 5000, 'delivery on retry');
  await until(queueEmpty(lab), 5000, 'empty queue');
  assert.equal(tries, 2);
});

test('null MX fails at once with 5.1.10 and bounces', async () => {
  lab = await startDeliveryLab(ZONE);
  const home = await lab.mx('127.0.0.4', {});
  await lab.submit({ to: 'someone@nullmx.test' });
  await until(() => home.received.length === 1, 5000, 'the DSN');
  const [, r] = statusBlocks(home.received[0]!.data.toString());
  assert.equal(r!.status, '5.1.10');
  assert.equal(r!.action, 'failed');
});

test('expiry: a recipient deferred past expireDays fails with 4.4.7 and is bounced', async () => {
  lab = await startDeliveryLab(ZONE, { expireDays: 0.00001, delayWarningHours: 0 }); // ~0.9 s
  await lab.mx('127.0.0.2', { rcpt: { code: 452, text: '4.2.2 mailbox full' } });
  const home = await lab.mx('127.0.0.4', {});
  await lab.submit({ to: 'full@remote.test' });
  await until(() => home.received.length === 1, 8000, 'the expiry DSN');
  const [, r] = statusBlocks(home.received[0]!.data.toString());
  assert.equal(r!.action, 'failed');
  assert.equal(r!.status, '4.4.7');
  assert.match(r!['diagnostic-code']!, /452 4\.2\.2 mailbox full/);
  await until(queueEmpty(lab), 5000, 'empty queue');
});

test('delay warning once after delayWarningHours, when NOTIFY allows it', async () => {
  lab = await startDeliveryLab(ZONE, { delayWarningHours: 0.0001 }); // 0.36 s
  await lab.mx('127.0.0.2', { rcpt: { code: 451, text: '4.3.0 try later' } });
  const home = await lab.mx('127.0.0.4', {});
  const id = await lab.submit({ to: 'slow@remote.test' });
  await until(() => home.received.length === 1, 8000, 'the delay warning');
  const raw = home.received[0]!.data.toString();
  const [, r] = statusBlocks(raw);
  assert.equal(r!.action, 'delayed');
  assert.ok(r!['will-retry-until'], 'Will-Retry-Until is given');
  assert.match((await parse(home.received[0]!.data)).subject ?? '', /Delayed/);
  // further deferrals send no second warning
  const before = lab.s.logs.filter((l) => l.evt === 'delivery' && l.qid === id).length;
  await until(() => lab!.s.logs.filter((l) => l.evt === 'delivery' && l.qid === id).length >= before + 3, 8000, 'more attempts');
  assert.equal(home.received.length, 1);
  const m = await lab.s.server.store.queue.get(id);
  assert.equal(m?.recipients[0]?.state, 'deferred');
});

test('NOTIFY=NEVER: no DSN for a failure; NOTIFY=SUCCESS to a host without DSN: a success report', async () => {
  lab = await startDeliveryLab(ZONE);
  await lab.mx(
    '127.0.0.2',
    {
      rcpt: (c) => (c.to === 'gone@remote.test' ? { code: 550, text: '5.1.1 gone' } : 'accept'),
    },
    { server: { hideDSN: true } },
  );
  const home = await lab.mx('127.0.0.4', {});
  await lab.submit({ to: 'gone@remote.test', dsn: { notify: 'NEVER' } });
  await lab.submit({ to: 'bob@remote.test', dsn: { notify: ['SUCCESS'] } });
  await until(() => home.received.length === 1, 5000, 'the success report');
  const [, r] = statusBlocks(home.received[0]!.data.toString());
  assert.equal(r!.action, 'relayed');
  assert.equal(r!['final-recipient'], 'rfc822; bob@remote.test');
  await until(queueEmpty(lab), 5000, 'empty queue');
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(home.received.length, 1, 'no DSN for NOTIFY=NEVER');
});

test('a bounce that cannot be delivered goes to the postmaster once; a failing postmaster copy is dropped', async () => {
  lab = await startDeliveryLab(
    { ...ZONE, 'ops.test': { MX: [{ preference: 10, exchange: 'mx.ops.test' }] }, 'mx.ops.test': { A: ['127.0.0.5'] } },
    {},
    { bounce: { postmaster: 'postmaster@ops.test' } },
  );
  await lab.mx('127.0.0.2', { rcpt: { code: 550, text: '5.1.1 unknown' } });
  const home = await lab.mx('127.0.0.4', { rcpt: { code: 550, text: '5.1.1 the sender does not exist either' } });
  const ops = await lab.mx('127.0.0.5', { rcpt: { code: 550, text: '5.1.1 no postmaster here' } });
  await lab.submit({ to: 'x@remote.test' });
  await until(queueEmpty(lab), 8000, 'empty queue');
  await until(() => lab!.s.logs.some((l) => l.evt === 'bounce' && l.result === 'dropped'), 5000, 'the drop');
  assert.equal(home.received.length, 0);
  assert.equal(ops.received.length, 0);
  const notices = lab.s.logs.filter((l) => l.evt === 'bounce' && l.notice === 'failure');
  assert.deepEqual(
    notices.map((l) => l.to),
    ['alice@example.com', 'postmaster@ops.test'],
  );
});

test('connections are reused: ten messages to one MX over fewer connections than messages', async () => {
  lab = await startDeliveryLab(ZONE, { concurrency: 2, perDestinationConcurrency: 2 });
  const mx1 = await lab.mx('127.0.0.2', {});
  for (let i = 0; i < 10; i++) await lab.submit({ to: `r${i}@remote.test` });
  await until(() => mx1.received.length === 10, 8000, 'ten deliveries');
  assert.ok(mx1.sessions <= 4, `expected reuse, saw ${mx1.sessions} sessions for 10 messages`);
});

test('a route overrides the MX lookup; a smarthost takes everything else', async () => {
  lab = await startDeliveryLab(ZONE, (port) => ({ smarthost: `127.0.0.6:${port}` }));
  const relay = await lab.mx('127.0.0.6', {});
  const routed = await lab.mx('127.0.0.7', {});
  await lab.s.admin.setRoute('routed.test', `127.0.0.7:${lab.port}`, 'none');
  await lab.submit({ to: 'a@routed.test' });
  await lab.submit({ to: 'b@remote.test' });
  await until(() => routed.received.length === 1 && relay.received.length === 1, 5000, 'both deliveries');
  assert.deepEqual(routed.received[0]!.to, ['a@routed.test']);
  assert.deepEqual(relay.received[0]!.to, ['b@remote.test']);
});

test('mx listener: a hosted domain with an inbound route takes mail from anyone and hands it on; without one it refuses', async () => {
  lab = await startDeliveryLab(ZONE);
  const inbound = await lab.mx('127.0.0.8', {});
  await lab.s.admin.addDomain('hosted.test', 'acme');
  const send = () =>
    nodemailer
      .createTransport({ host: '127.0.0.1', port: lab!.s.port('mx'), ignoreTLS: true })
      .sendMail({ from: 'someone@remote.test', to: 'info@hosted.test', subject: 'inbound', text: 'hi' });
  await assert.rejects(send(), (err: Error & { response?: string }) => /^550 5\.7\.1 /.test(err.response ?? ''));
  await lab.s.admin.setRoute('hosted.test', `127.0.0.8:${lab.port}`, 'none');
  await send();
  await until(() => inbound.received.length === 1, 5000, 'the inbound hand-off');
  assert.deepEqual(inbound.received[0]!.to, ['info@hosted.test']);
  assert.equal(inbound.received[0]!.from, 'someone@remote.test');
  // still no relaying for anyone else
  await assert.rejects(
    nodemailer
      .createTransport({ host: '127.0.0.1', port: lab.s.port('mx'), ignoreTLS: true })
      .sendMail({ from: 'someone@remote.test', to: 'bob@remote.test', text: 'x' }),
    (err: Error & { response?: string }) => /^554 5\.7\.1 /.test(err.response ?? ''),
  );
});

test('IPv6: an MX with only an AAAA record on ::1 gets the mail', async () => {
  lab = await startDeliveryLab({
    ...ZONE,
    'v6.test': { MX: [{ preference: 10, exchange: 'mx.v6.test' }] },
    'mx.v6.test': { AAAA: ['::1'] },
  });
  const v6 = await lab.mx('::1', {});
  await lab.submit({ to: 'six@v6.test' });
  await until(() => v6.received.length === 1, 5000, 'delivery over IPv6');
  const log = lab.s.logs.find((l) => l.evt === 'delivery' && l.to === 'six@v6.test');
  assert.match(String(log?.remote), /mx\.v6\.test\[::1\]/);
});

test('8-bit content goes out with BODY=8BITMIME; a UTF-8 recipient at a server without SMTPUTF8 fails with 5.6.7', async () => {
  lab = await startDeliveryLab(ZONE);
  const mx1 = await lab.mx('127.0.0.2', {}, { server: { hideSMTPUTF8: true } });
  const home = await lab.mx('127.0.0.4', {});
  const raw =
    'From: alice@example.com\r\nTo: bob@remote.test\r\nSubject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n';
  await lab.submit({ envelope: { from: 'alice@example.com', to: ['bob@remote.test'] }, raw });
  await until(() => mx1.received.length === 1, 5000, 'the 8-bit delivery');
  assert.equal(mx1.received[0]!.mailArgs.BODY, '8BITMIME');
  assert.match(mx1.received[0]!.data.toString('utf8'), /Grüße aus Köln/);
  await lab.submit({ to: 'jürgen@remote.test' });
  await until(() => home.received.length === 1, 5000, 'the DSN');
  const dsn = home.received[0]!.data.toString('utf8');
  const [, r] = statusBlocks(dsn);
  assert.equal(r!.status, '5.6.7');
  assert.equal(r!['final-recipient'], 'utf-8; jürgen@remote.test');
  assert.match(dsn, /Content-Type: message\/global-delivery-status/);
  assert.match(dsn, /\tfor <jürgen@remote\.test>;/, 'the Received line keeps the UTF-8 address intact');
});

test('a route with a login: the server opens the sealed password and logs in over STARTTLS', async () => {
  lab = await startDeliveryLab(ZONE);
  const logins: string[] = [];
  const relay = await lab.mx(
    '127.0.0.9',
    {},
    {
      tls: true,
      server: {
        disabledCommands: [],
        authMethods: ['PLAIN', 'LOGIN'],
        onAuth(auth, _s, cb) {
          logins.push(`${auth.username}:${auth.password}`);
          cb(null, { user: auth.username });
        },
      },
    },
  );
  await lab.s.admin.setRoute('relayed.test', `127.0.0.9:${lab.port}`, 'opportunistic', { user: 'outbound', pass: 'Relay-Pass-9' });
  await lab.submit({ to: 'r@relayed.test' });
  await until(() => relay.received.length === 1, 5000, 'delivery through the relay');
  assert.deepEqual(logins, ['outbound:Relay-Pass-9']);
  assert.equal(relay.received[0]!.tls, true);
});

test('a message held while claimed and waiting for its turn is not sent; released, it goes', async () => {
  lab = await startDeliveryLab(ZONE, { perDestinationConcurrency: 1, concurrency: 1 });
  const mx1 = await lab.mx('127.0.0.2', {}, { dataDelayMs: 600 });
  const first = await lab.submit({ to: 'one@remote.test' });
  await until(() => lab!.s.server.outbound!.scheduler.stats().active === 1, 5000, 'the first attempt');
  const second = await lab.submit({ to: 'two@remote.test' });
  await until(() => lab!.s.server.outbound!.scheduler.stats().buffered === 1, 5000, 'the second claimed and waiting');
  assert.equal(await lab.s.server.store.queue.hold(second), true);
  await until(async () => (await lab!.s.server.store.queue.get(first)) === null, 5000, 'the first delivered');
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(mx1.received.length, 1, 'the held message was not sent');
  const held = await until(
    async () => {
      const m = await lab!.s.server.store.queue.get(second);
      return m?.recipients[0]?.leaseOwner === null ? m : null;
    },
    5000,
    'the claim given back',
  );
  assert.equal(held.state, 'held');
  assert.equal(await lab.s.server.store.queue.release(second, Date.now()), true);
  lab.s.server.outbound!.kick();
  await until(() => mx1.received.length === 2, 5000, 'the released message');
});
