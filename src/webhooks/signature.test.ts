/** The webhook signature: a known vector computed here with node:crypto, the verifier's tolerance and refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { newWebhookSecret, signatureHeader, verifyWebhook } from './signature.ts';

const SECRET = 'whsec_test-secret-0123456789';
const BODY = '{"id":"evt_1","type":"ping","created":"2023-11-14T22:13:20.000Z","customer":"acme","data":{}}';
const T = 1_700_000_000;

test('the header is t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> keyed with the whole secret string', () => {
  const expected = createHmac('sha256', Buffer.from(SECRET, 'utf8'))
    .update(Buffer.from(`${T}.${BODY}`, 'utf8'))
    .digest('hex');
  assert.equal(signatureHeader(SECRET, BODY, T), `t=${T},v1=${expected}`);
  // a fixed vector, so that a change of the scheme cannot pass unnoticed
  assert.equal(createHmac('sha256', 'k').update('1.b').digest('hex'), signatureHeader('k', 'b', 1).slice('t=1,v1='.length));
  assert.equal(signatureHeader('k', Buffer.from('b'), 1), signatureHeader('k', 'b', 1), 'a Buffer body signs the same bytes');
});

test('verifyWebhook accepts a fresh signature within the clock-skew tolerance, either way', () => {
  const header = signatureHeader(SECRET, BODY, T);
  assert.equal(verifyWebhook({ header, body: BODY, secret: SECRET, now: T * 1000 }), true);
  assert.equal(verifyWebhook({ header, body: Buffer.from(BODY), secret: SECRET, now: T * 1000 }), true);
  assert.equal(verifyWebhook({ header, body: BODY, secret: SECRET, now: (T + 300) * 1000 }), true, 'late by the tolerance');
  assert.equal(verifyWebhook({ header, body: BODY, secret: SECRET, now: (T - 300) * 1000 }), true, "the sender's clock ahead");
  assert.equal(verifyWebhook({ header, body: BODY, secret: SECRET, now: (T + 301) * 1000 }), false, 'too old: a replay');
  assert.equal(verifyWebhook({ header, body: BODY, secret: SECRET, now: (T + 1000) * 1000, toleranceSeconds: 1000 }), true);
  assert.equal(
    verifyWebhook({ header: ` t=${T} , v1=00 , v1=${header.split('v1=')[1]}`, body: BODY, secret: SECRET, now: T * 1000 }),
    true,
    'any v1 may match',
  );
});

test('verifyWebhook refuses another body, another secret, and broken headers', () => {
  const header = signatureHeader(SECRET, BODY, T);
  const now = T * 1000;
  assert.equal(verifyWebhook({ header, body: BODY.replace('acme', 'acmf'), secret: SECRET, now }), false);
  assert.equal(verifyWebhook({ header, body: BODY, secret: `${SECRET}x`, now }), false);
  assert.equal(
    verifyWebhook({ header: header.replace(`t=${T}`, `t=${T + 1}`), body: BODY, secret: SECRET, now }),
    false,
    'the time is signed',
  );
  for (const bad of [
    undefined,
    null,
    '',
    'v1=abc',
    `t=${T}`,
    `t=x,v1=${'0'.repeat(64)}`,
    `t=${T},v1=zz`,
    `t=${T},v0=${header.split('v1=')[1]}`,
  ]) {
    assert.equal(verifyWebhook({ header: bad, body: BODY, secret: SECRET, now }), false, String(bad));
  }
});

test('a new secret is whsec_ and 256 random bits', () => {
  const a = newWebhookSecret();
  assert.match(a, /^whsec_[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(a.slice(6), 'base64url').length, 32);
  assert.notEqual(newWebhookSecret(), a);
});
