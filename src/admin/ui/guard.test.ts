import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Context } from 'hono';
import { crossSite, roleOf, safeNext } from './guard.ts';
import type { ConsoleSession } from '../../core/index.ts';

test('safeNext: console paths with their query are kept; anything else becomes /console', () => {
  for (const ok of [
    '/console',
    '/console/queue',
    '/console/queue?state=held&domain=example.com',
    '/console/messages/1A2B3C',
    '/console/mailboxes/alice%40example.com',
  ]) {
    assert.equal(safeNext(ok), ok);
  }
  for (const bad of [
    undefined,
    '',
    'https://evil.example/',
    '//evil.example',
    '/console//evil.example',
    '/consolex',
    '/console/../x',
    'javascript:alert(1)',
    '/console/a b',
    '/console#x',
    '/\\evil',
    '/console/%2e%2e/metrics',
    '/console/%2E./x',
    '/console/a%2Fb',
    '/console/%5cevil',
  ]) {
    assert.equal(safeNext(bad), '/console', String(bad));
  }
});

test('roleOf: operator (no customer), customer (a token of one), mailbox (a mailbox login)', () => {
  const base: ConsoleSession = {
    idHash: 'h',
    via: 'token',
    subject: 'ops',
    customerId: null,
    customerName: null,
    csrf: 'c',
    createdAt: 0,
    seenAt: 0,
    expiresAt: 1,
  };
  assert.equal(roleOf(base), 'operator');
  assert.equal(roleOf({ ...base, customerId: 1, customerName: 'acme' }), 'customer');
  assert.equal(roleOf({ ...base, via: 'mailbox', subject: 'a@example.com', customerId: 1, customerName: 'acme' }), 'mailbox');
});

test('crossSite: Sec-Fetch-Site decides when a browser sends it (Chromium posts a same-origin form with Origin: null under no-referrer); else Origin against Host', () => {
  const req = (h: Record<string, string>) => ({ req: { header: (n: string) => h[n] } }) as unknown as Context;
  const host = '127.0.0.1:8443';
  assert.equal(crossSite(req({ 'sec-fetch-site': 'same-origin', origin: 'null', host })), false);
  assert.equal(crossSite(req({ 'sec-fetch-site': 'none', host })), false);
  assert.equal(crossSite(req({ 'sec-fetch-site': 'cross-site', origin: `https://${host}`, host })), true);
  assert.equal(crossSite(req({ 'sec-fetch-site': 'same-site', origin: 'https://other.127.0.0.1:8443', host })), true);
  assert.equal(crossSite(req({ origin: 'null', host })), true, 'no Sec-Fetch-Site: an opaque origin is refused');
  assert.equal(crossSite(req({ origin: 'https://evil.test', host })), true);
  assert.equal(crossSite(req({ origin: `https://${host}`, host })), false);
  assert.equal(crossSite(req({ host })), false, 'not a browser: the CSRF token decides');
});
