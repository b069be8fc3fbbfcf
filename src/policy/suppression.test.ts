import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSuppression, suppressedText } from './suppression.ts';

const AT = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

test('checkSuppression: continue without an entry; 550 5.1.1 with when, why and how to lift it', () => {
  assert.deepEqual(checkSuppression('bob@remote.test', null), { kind: 'continue' });
  const v = checkSuppression('Bob@Remote.test', { reason: '550 5.1.1 <bob@remote.test>: user unknown', source: 'bounce', updatedAt: AT });
  assert.equal(v.kind, 'reject');
  if (v.kind !== 'reject') return;
  assert.deepEqual([v.reply.code, v.reply.enhanced], [550, '5.1.1']);
  assert.equal(
    v.reply.text,
    '<Bob@Remote.test>: suppressed: this address hard-bounced on 2025-01-02T03:04:05Z ("550 5.1.1 <bob@remote.test>: user unknown"); remove it from the suppression list (postern suppression remove) if it works again',
  );
});

test('suppressedText: an operator entry says so', () => {
  assert.match(
    suppressedText('x@y.test', { reason: 'asked by the customer', source: 'operator', updatedAt: AT }),
    /^<x@y\.test>: suppressed: listed by the postmaster on 2025-01-02T03:04:05Z \("asked by the customer"\)/,
  );
});

test('suppressedText: one printable line, at most 200 characters of the reply, about 400 in all', () => {
  const nasty = `550-5.1.1 first line\r\n550 5.1.1 "second"\x00\x07 line ${'x'.repeat(500)} ünïcode`;
  const text = suppressedText('bob@remote.test', { reason: nasty, source: 'bounce', updatedAt: AT });
  assert.doesNotMatch(text, /[\x00-\x1f\x7f-\uffff]/, 'no control or non-ASCII characters');
  const quoted = /\("(.*)"\)/.exec(text)![1];
  assert.ok(quoted.length <= 200, `quoted ${quoted.length}`);
  assert.ok(quoted.startsWith("550-5.1.1 first line 550 5.1.1 'second' line xxx"), quoted);
  assert.ok(text.length <= 400, `text ${text.length}`);
  const long = suppressedText(`${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.example`, {
    reason: nasty,
    source: 'bounce',
    updatedAt: AT,
  });
  assert.ok(long.length <= 410, `a long address shortens the quote: ${long.length}`);
  assert.match(long, /remove it from the suppression list \(postern suppression remove\) if it works again$/);
});
