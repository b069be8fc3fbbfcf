import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Readable } from 'node:stream';
import { noticeRequest } from './notice-request.ts';
import { createHoldNotifier } from './hold-send.ts';

test('a notice request: the notice origin (signed, no limits), the null sender, no NOTIFY, from loopback; maxSize only when given', () => {
  const r = noticeRequest({ queueId: 'Q1', to: ['a@x.test', 'b@x.test'], customerId: 7, listener: 'bounce', hostname: 'mx.test' });
  assert.deepEqual(r, {
    queueId: 'Q1',
    origin: { kind: 'notice', customerId: 7 },
    sender: '',
    recipients: [{ address: 'a@x.test' }, { address: 'b@x.test' }],
    dsnRet: null,
    dsnEnvid: null,
    clientIp: '127.0.0.1',
    clientHostname: 'localhost',
    heloName: 'mx.test',
    tls: null,
    listener: 'bounce',
  });
  assert.equal(
    noticeRequest({ queueId: 'Q2', to: ['a@x.test'], customerId: null, listener: 'bounce', hostname: 'h', maxSize: 5 }).maxSize,
    5,
  );
});

test('a hold notice goes to the contact and the postmaster once each, through one notice request', async () => {
  const got: { to: string[]; listener: string; customerId: number | null; text: string }[] = [];
  const notify = createHoldNotifier({
    hostname: 'mx.test',
    from: 'MAILER-DAEMON@mx.test',
    postmaster: 'pm@mx.test',
    now: () => 0,
    logger: pino({ level: 'silent' }),
    contactOf: async () => 'pm@mx.test',
    intake: {
      async receive(stream: Readable, req) {
        let text = '';
        for await (const c of stream) text += String(c);
        got.push({
          to: req.recipients.map((r) => r.address),
          listener: req.listener,
          customerId: req.origin.kind === 'notice' ? req.origin.customerId : null,
          text,
        });
      },
    },
  });
  await notify({ kind: 'site', name: 'shop', customerId: 3, customerName: 'acme' }, 'too many bounces');
  assert.equal(got.length, 1);
  assert.deepEqual([got[0]!.to, got[0]!.listener, got[0]!.customerId], [['pm@mx.test'], 'notice', 3]);
  assert.match(got[0]!.text, /the website shop was stopped/);
});

test('a hold notice with nobody to tell is only logged', async () => {
  let called = false;
  const notify = createHoldNotifier({
    hostname: 'mx.test',
    from: 'f@mx.test',
    postmaster: null,
    now: () => 0,
    logger: pino({ level: 'silent' }),
    contactOf: async () => null,
    intake: {
      async receive() {
        called = true;
      },
    },
  });
  await notify({ kind: 'mailbox', name: 'a@x.test', customerId: 1, customerName: 'acme' }, 'r');
  assert.equal(called, false);
});
