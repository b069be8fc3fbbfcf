import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { crossSite, roleOf, safeNext } from './guard.ts';
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

test('crossSite: Sec-Fetch-Site decides when a browser sends it (Chromium sends Origin: null with Referrer-Policy no-referrer); else the Origin against the Host', async () => {
  const app = new Hono().post('/', (c) => c.text(String(crossSite(c))));
  const ask = async (h: Record<string, string>) => (await app.request('https://console.test/', { method: 'POST', headers: { host: 'console.test', ...h } })).text();
  assert.equal(await ask({ 'sec-fetch-site': 'same-origin', origin: 'null' }), 'false', 'Chromium\'s same-origin form under no-referrer');
  assert.equal(await ask({ 'sec-fetch-site': 'same-origin', origin: 'https://console.test' }), 'false');
  assert.equal(await ask({ 'sec-fetch-site': 'cross-site', origin: 'https://console.test' }), 'true');
  assert.equal(await ask({ 'sec-fetch-site': 'same-site', origin: 'null' }), 'true');
  assert.equal(await ask({ origin: 'null' }), 'true', 'no Sec-Fetch-Site: an opaque origin is refused');
  assert.equal(await ask({ origin: 'https://evil.test' }), 'true');
  assert.equal(await ask({ origin: 'https://console.test' }), 'false');
  assert.equal(await ask({}), 'false', 'not a browser: left to the CSRF token');
});
