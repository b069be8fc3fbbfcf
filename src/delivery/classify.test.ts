import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyError, classifyReply, isHardBounce, parseReply } from './classify.ts';

const cases: [number, string | null, string, string, string][] = [
  [250, '2.0.0', 'OK queued', 'delivered', 'ok'],
  [250, null, 'ok', 'delivered', 'ok'],
  [550, '5.1.1', 'User unknown', 'failed', 'mailbox-unknown'],
  [550, null, 'No such user here', 'failed', 'mailbox-unknown'],
  [550, '5.1.10', 'null MX', 'failed', 'dns'],
  [452, '4.2.2', 'Mailbox full', 'deferred', 'mailbox-full'],
  [552, '5.2.2', 'Mailbox full', 'failed', 'mailbox-full'],
  [552, '5.3.4', 'Message too big', 'failed', 'message-too-big'],
  [552, null, 'Message size exceeds fixed limit', 'failed', 'message-too-big'],
  [550, '5.7.1', 'Relaying denied', 'failed', 'policy'],
  [554, '5.7.1', 'Message rejected as spam', 'failed', 'spam'],
  [550, '5.7.1', 'Client host blocked using Spamhaus', 'failed', 'spam'],
  [451, '4.7.1', 'Greylisted, please try again in 300 seconds', 'deferred', 'greylisted'],
  [
    450,
    '4.2.1',
    'The user you are trying to contact is receiving mail at a rate that prevents additional messages',
    'deferred',
    'rate-limited',
  ],
  [421, '4.7.28', 'Our system has detected an unusual rate', 'deferred', 'rate-limited'],
  [421, '4.7.0', 'Too many connections, slow down', 'deferred', 'rate-limited'],
  [450, '4.7.1', 'Client host rejected: access denied', 'deferred', 'policy'],
  [451, null, 'Greylisting in action', 'deferred', 'greylisted'],
  [451, '4.3.0', 'Temporary local problem', 'deferred', 'other'],
  [421, null, 'Service not available', 'deferred', 'other'],
  [553, '5.6.7', 'Non-ASCII addresses not permitted', 'failed', 'protocol'],
  [500, null, 'Syntax error', 'failed', 'protocol'],
  [554, null, 'Transaction failed', 'failed', 'policy'],
  [599, null, 'whatever', 'failed', 'other'],
  [354, null, 'go ahead', 'deferred', 'protocol'],
  [450, '4.4.2', 'bad connection', 'deferred', 'network'],
  [451, '4.4.7', 'delivery time expired', 'deferred', 'timeout'],
  [530, '5.7.11', 'Encryption required', 'failed', 'tls'],
];

test('classifyReply: the table decides outcome and category', () => {
  for (const [code, enhanced, text, outcome, category] of cases) {
    assert.deepEqual(classifyReply(code, enhanced, text), { outcome, category }, `${code} ${enhanced} ${text}`);
  }
});

test('classifyReply: the basic code class wins over a mismatched enhanced code', () => {
  assert.equal(classifyReply(450, '5.1.1', 'User unknown').outcome, 'deferred');
  assert.equal(classifyReply(250, '5.1.1', 'odd').outcome, 'delivered');
});

test('parseReply: single and multi-line replies', () => {
  assert.deepEqual(parseReply('550 5.1.1 User unknown'), { code: 550, enhanced: '5.1.1', text: 'User unknown' });
  assert.deepEqual(parseReply('550-5.7.1 first\n550 5.7.1 second'), { code: 550, enhanced: '5.7.1', text: 'first second' });
  assert.deepEqual(parseReply('421 closing'), { code: 421, enhanced: null, text: 'closing' });
  assert.equal(parseReply('garbage'), null);
});

test('classifyError: connection errors, wrapped system errors and replies', () => {
  const c = (e: Parameters<typeof classifyError>[0]) => classifyError(e);
  assert.deepEqual(c({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }), { outcome: 'deferred', category: 'network' });
  assert.deepEqual(c({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', message: 'x' }), { outcome: 'deferred', category: 'network' });
  assert.deepEqual(c({ code: 'ECONNRESET', message: 'reset' }), { outcome: 'deferred', category: 'network' });
  assert.deepEqual(c({ code: 'ETIMEDOUT', message: 'Greeting never received' }), { outcome: 'deferred', category: 'timeout' });
  assert.deepEqual(c({ code: 'ETLS', message: 'Error initiating TLS', response: '454 4.7.0 TLS not available', responseCode: 454 }), {
    outcome: 'deferred',
    category: 'tls',
  });
  assert.deepEqual(c({ code: 'EPROTOCOL', message: 'Server response exceeds maximum allowed size' }), {
    outcome: 'deferred',
    category: 'protocol',
  });
  assert.deepEqual(c({ code: 'EDNS', message: 'lookup failed' }), { outcome: 'deferred', category: 'dns' });
  assert.deepEqual(c({ code: 'EMESSAGE', message: 'Message size larger than allowed 1000' }), {
    outcome: 'failed',
    category: 'message-too-big',
  });
  assert.deepEqual(
    c({ code: 'EENVELOPE', message: 'Recipient command failed: 550 5.1.1 nope', response: '550 5.1.1 nope', responseCode: 550 }),
    { outcome: 'failed', category: 'mailbox-unknown' },
  );
  assert.deepEqual(
    c({ code: 'ECONNECTION', message: 'Server terminates connection', response: '421 4.7.0 Too many connections', responseCode: 421 }),
    { outcome: 'deferred', category: 'rate-limited' },
  );
  assert.deepEqual(c({ code: 'EMESSAGE', message: 'Message failed', response: '451 4.3.0 try later', responseCode: 451 }), {
    outcome: 'deferred',
    category: 'other',
  });
  assert.deepEqual(c({ message: 'something odd' }), { outcome: 'deferred', category: 'other' });
});

test('isHardBounce: a missing or disabled mailbox, never policy, spam, size, rate or temporary replies', () => {
  const hard = [
    '550 5.1.1 <bob@remote.test>: Recipient address rejected: User unknown in virtual mailbox table',
    '550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please try double-checking',
    '550 5.1.2 Host unknown',
    '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
    '550 5.2.1 The email account that you tried to reach is disabled',
    '550 No such user here',
    '551 User not local; please try <forward@elsewhere.test>: user unknown',
    '553 sorry, that mailbox does not exist',
    '550 Requested action not taken: mailbox unavailable',
  ];
  const soft = [
    '450 4.1.1 Recipient address rejected: unverified address',
    '452 4.2.2 Mailbox full',
    '550 5.7.1 Recipient address rejected: Access denied',
    '554 5.7.1 Service unavailable; Client host blocked using Spamhaus',
    '550 5.1.1 Recipient rejected: your IP is listed in a DNSBL', // a spam refusal worded as a bad address
    '550 5.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages',
    '552 5.2.2 Mailbox full',
    '552 5.3.4 Message too big for system',
    '550 5.4.7 delivery time expired',
    '554 Transaction failed',
    '550 Administrative prohibition',
    '550 5.0.0 deleted from the queue by the postmaster',
    '4.4.7 gave up after 5 days in the queue; last reply: 550 5.1.1 user unknown',
    'connect ECONNREFUSED 192.0.2.1:25',
    '',
  ];
  for (const r of hard) assert.equal(isHardBounce(r), true, r);
  for (const r of soft) assert.equal(isHardBounce(r), false, r);
});
