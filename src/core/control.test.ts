import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasControl, jsonHasControl, urlHasControl } from './control.ts';

test('control characters: NUL and other C0 refused, tab CR LF allowed; encoded in URLs; deep in JSON', () => {
  assert.equal(hasControl('a\u0000b'), true);
  assert.equal(hasControl('a\u001bb'), true);
  assert.equal(hasControl('a\u007fb'), true);
  assert.equal(hasControl('line one\r\nline\ttwo'), false);
  assert.equal(hasControl('Grüße 😀'), false);
  assert.equal(urlHasControl('/console/messages/%00'), true);
  assert.equal(urlHasControl('/x?sender=a%1Fb'), true);
  assert.equal(urlHasControl('/x?sender=a%7f'), true);
  assert.equal(urlHasControl('/x?text=a%0D%0Ab%09'), false);
  assert.equal(urlHasControl('/console/mailboxes/alice%40example.com'), false);
  assert.equal(urlHasControl('/x?a=%2000'), false, '%20 then 00 is a space and two digits');
  assert.equal(jsonHasControl({ a: [{ b: 'x\u0000' }] }), true);
  assert.equal(jsonHasControl({ 'k\u0000': 1 }), true);
  assert.equal(jsonHasControl({ a: ['ok', 1, null, true, { b: 'fine\n' }] }), false);
});
