import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roleOf, safeNext } from './guard.ts';
import type { ConsoleSession } from '../../store/index.ts';

test('safeNext: console paths with their query are kept; anything else becomes /console', () => {
  for (const ok of ['/console', '/console/queue', '/console/queue?state=held&domain=example.com', '/console/messages/1A2B3C', '/console/mailboxes/alice%40example.com']) {
    assert.equal(safeNext(ok), ok);
  }
  for (const bad of [undefined, '', 'https://evil.example/', '//evil.example', '/console//evil.example', '/consolex', '/console/../x', 'javascript:alert(1)', '/console/a b', '/console#x', '/\\evil']) {
    assert.equal(safeNext(bad), '/console', String(bad));
  }
});

test('roleOf: operator (no customer), customer (a token of one), mailbox (a mailbox login)', () => {
  const base: ConsoleSession = { idHash: 'h', via: 'token', subject: 'ops', customerId: null, customerName: null, csrf: 'c', createdAt: 0, seenAt: 0, expiresAt: 1 };
  assert.equal(roleOf(base), 'operator');
  assert.equal(roleOf({ ...base, customerId: 1, customerName: 'acme' }), 'customer');
  assert.equal(roleOf({ ...base, via: 'mailbox', subject: 'a@example.com', customerId: 1, customerName: 'acme' }), 'mailbox');
});
