/**
 * The console's sign-in, sessions and CSRF over real HTTPS: the cookie (name, flags, never the
 * stored value), operator and customer tokens and mailbox logins, failures counted toward the
 * address ban (then 429 even for a right token), forms refused without the session's CSRF
 * token or from another origin, sign-out and revocation, password changes and suspension
 * ending sessions, the idle timeout and the absolute end, and no open redirect after sign-in.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createConsoleClient } from '../helpers/console.ts';

let t = Date.parse('2026-03-02T10:00:00Z');
const clock = { now: () => t };
let s: TestServer;
let opToken: string;
let acmeToken: string;

before(async () => {
  s = await startTestServer(
    { auth: { failureDelayMs: 0, ipFailures: 5, ipWindowMinutes: 10, ipBanMinutes: 30 }, console: { idleMinutes: 30, sessionHours: 12 } },
    { clock },
  );
  await s.addMailbox('alice@example.com', 'alice-secret-1', 'acme');
  await s.addMailbox('bob@example.org', 'bob-secret-11', 'globex');
  opToken = (await s.admin.addToken('ops', { operator: true })).token;
  acmeToken = (await s.admin.addToken('acme-panel', { customer: 'acme' })).token;
});
after(() => s?.close());

const sessionCookie = (c: ReturnType<typeof createConsoleClient>) => c.jar.get('__Host-postern-console');

test('signed out: every console page leads to the sign-in page, which is a plain accessible form with strict headers', async () => {
  const c = createConsoleClient(s);
  const a = await c.get('/console/queue?state=held');
  assert.equal(a.status, 303);
  assert.equal(a.headers.location, '/console/login?next=%2Fconsole%2Fqueue%3Fstate%3Dheld');
  const login = await c.get(String(a.headers.location));
  assert.equal(login.status, 200);
  assert.match(login.text, /<label for="login">Email address<\/label>/);
  assert.match(login.text, /<input id="login" name="login" type="email" autocomplete="username" required/);
  assert.match(login.text, /<label for="token">API token<\/label>/);
  assert.match(login.text, /name="next" value="\/console\/queue\?state=held"/);
  assert.doesNotMatch(login.text, /<script/i);
  assert.match(String(login.headers['content-security-policy']), /default-src 'none'.*form-action 'self'.*frame-ancestors 'none'/);
  assert.equal(login.headers['x-frame-options'], 'DENY');
  assert.equal(login.headers['cache-control'], 'no-store');
  const css = await c.get('/console/console.css');
  assert.equal(css.status, 200);
  assert.match(String(css.headers['content-type']), /^text\/css/);
  assert.match(css.text, /:focus-visible/);
});

test('an operator token signs in: a __Host- cookie (Secure, HttpOnly, SameSite=Strict), stored only as its hash; sign-out ends it on the server', async () => {
  const c = createConsoleClient(s);
  await c.get('/console/login');
  const a = await c.post('/console/login', { method: 'token', token: opToken, next: '/console/customers' });
  assert.equal(a.status, 303);
  assert.equal(a.headers.location, '/console/customers');
  const set = ([] as string[]).concat(a.headers['set-cookie'] ?? []).find((l) => l.startsWith('__Host-postern-console='))!;
  assert.match(set, /; Path=\//);
  assert.match(set, /; Secure/);
  assert.match(set, /; HttpOnly/);
  assert.match(set, /; SameSite=Strict/);
  assert.doesNotMatch(set, /Domain=/i);
  const value = sessionCookie(c)!;
  assert.match(value, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(await s.server.store.consoleSessions.get(value), null, 'the cookie value itself is not stored');
  const stored = (await s.server.store.consoleSessions.get(createHash('sha256').update(value).digest('hex')))!;
  assert.equal(stored.via, 'token');
  assert.equal(stored.subject, 'ops');
  assert.equal(stored.customerId, null);
  const home = await c.get('/console');
  assert.equal(home.status, 200);
  assert.match(home.text, /Signed in as operator \(ops\)/);
  assert.ok(c.csrf, 'pages carry the CSRF token');
  // sign-out: the row goes; the same cookie sent again is signed out
  const kept = sessionCookie(c)!;
  const out = await c.post('/console/logout', {});
  assert.equal(out.status, 303);
  assert.equal(out.headers.location, '/console/login');
  assert.equal(await s.server.store.consoleSessions.get(stored.idHash), null);
  c.jar.set('__Host-postern-console', kept);
  assert.equal((await c.get('/console')).status, 303);
});

test('a new sign-in always starts a new session (a planted cookie is never adopted)', async () => {
  const c = createConsoleClient(s);
  c.jar.set('__Host-postern-console', 'A'.repeat(43));
  await c.signIn({ token: opToken });
  assert.notEqual(sessionCookie(c), 'A'.repeat(43));
});

test('a mailbox login signs in as that mailbox of its customer; a wrong password or an unknown token is refused and counted', async () => {
  const c = createConsoleClient(s);
  await c.signIn({ login: 'Alice@Example.com', password: 'alice-secret-1' });
  const home = await c.get('/console');
  assert.equal(home.status, 200);
  assert.match(home.text, /Signed in as acme \(alice@example.com\)/);
  const bad = createConsoleClient(s);
  await bad.get('/console/login');
  const wrong = await bad.post('/console/login', { method: 'mailbox', login: 'alice@example.com', password: 'nope-nope-nope' });
  assert.equal(wrong.status, 401);
  assert.match(wrong.text, /The email address or the password is not right/);
  assert.match(wrong.text, /value="alice@example.com"/, 'the address is kept in the form');
  assert.equal(bad.jar.has('__Host-postern-console'), false);
  const tok = await bad.post('/console/login', { method: 'token', token: 'pat_' + 'x'.repeat(43) });
  assert.equal(tok.status, 401);
  assert.match(tok.text, /That API token is not valid/);
  assert.ok(s.logs.some((l) => l.evt === 'auth' && l.listener === 'console' && l.reason === 'unknown-token'));
  await s.server.store.authGuard.unban('127.0.0.1');
});

test('brute force: after lockout.ipFailures failed sign-ins the address gets 429 with Retry-After, even with a right token', async () => {
  t += 11 * 60_000; // a new counting window: the earlier tests' failures are out of it
  const c = createConsoleClient(s);
  await c.get('/console/login');
  for (let i = 0; i < 5; i++) assert.equal((await c.post('/console/login', { method: 'token', token: `pat_wrong${i}` })).status, 401);
  const banned = await c.post('/console/login', { method: 'token', token: opToken });
  assert.equal(banned.status, 429);
  assert.equal(banned.headers['retry-after'], String(30 * 60));
  assert.match(banned.text, /Too many failed sign-ins from your address/);
  assert.equal(c.jar.has('__Host-postern-console'), false);
  assert.ok(await s.server.store.authGuard.banOf('127.0.0.1', t), 'the same ban as SMTP AUTH');
  await s.server.store.authGuard.unban('127.0.0.1');
});

test("forms: without the CSRF token, with another session's, from another origin, or not url-encoded: 403 and nothing changes", async () => {
  const c = createConsoleClient(s);
  await c.signIn({ token: opToken });
  const other = createConsoleClient(s);
  await other.signIn({ token: opToken });
  const before = (await s.server.store.consoleSessions.get(createHash('sha256').update(sessionCookie(c)!).digest('hex')))!;
  for (const [label, fields, headers] of [
    ['no token', { _csrf: '' }, {}],
    ["another session's token", { _csrf: other.csrf! }, {}],
    ['another origin', {}, { origin: 'https://evil.example' }],
    ['a cross-site fetch', {}, { 'sec-fetch-site': 'cross-site' }],
  ] as const) {
    const a = await c.post('/console/logout', fields as Record<string, string>, headers as Record<string, string>);
    assert.equal(a.status, 403, label);
    assert.match(a.text, /This form could not be accepted/, label);
    assert.ok(await s.server.store.consoleSessions.get(before.idHash), `${label}: still signed in`);
  }
  // a same-origin browser post with the token works
  const ok = await c.post(
    '/console/logout',
    {},
    {
      origin: `https://127.0.0.1:${s.server.local!.webAddress()!.port}`,
      host: `127.0.0.1:${s.server.local!.webAddress()!.port}`,
      'sec-fetch-site': 'same-origin',
    },
  );
  assert.equal(ok.status, 303);
  assert.equal(await s.server.store.consoleSessions.get(before.idHash), null);
});

test('sessions end when their token is revoked, their mailbox password changes or it is suspended', async () => {
  const tmp = (await s.admin.addToken('temp-ops', { operator: true })).token;
  const byToken = createConsoleClient(s);
  await byToken.signIn({ token: tmp });
  const byMailbox = createConsoleClient(s);
  await byMailbox.signIn({ login: 'alice@example.com', password: 'alice-secret-1' });
  const byCustomer = createConsoleClient(s);
  await byCustomer.signIn({ token: acmeToken });
  await s.admin.revokeToken('temp-ops');
  assert.equal((await byToken.get('/console')).status, 303, "a revoked token's session is over");
  await s.admin.setPassword('alice@example.com', 'alice-secret-2');
  assert.equal((await byMailbox.get('/console')).status, 303, "a new password ends the mailbox's sessions");
  assert.equal((await byCustomer.get('/console')).status, 200, "the customer token's session is not the mailbox's");
  await byMailbox.signIn({ login: 'alice@example.com', password: 'alice-secret-2' });
  await s.admin.suspend('alice@example.com');
  assert.equal((await byMailbox.get('/console')).status, 303, 'suspension ends them');
  await s.admin.resume('alice@example.com');
  await s.admin.setPassword('alice@example.com', 'alice-secret-1');
});

test('idle for console.idleMinutes, or past console.sessionHours: signed out', async () => {
  const c = createConsoleClient(s);
  await c.signIn({ token: opToken });
  t += 29 * 60_000;
  assert.equal((await c.get('/console')).status, 200, 'used within the idle time');
  t += 29 * 60_000;
  assert.equal((await c.get('/console')).status, 200, 'each request starts the idle time again');
  t += 31 * 60_000;
  assert.equal((await c.get('/console')).status, 303, 'idle too long');
  await c.signIn({ token: opToken });
  for (let i = 0; i < 25; i++) {
    t += 29 * 60_000;
    await c.get('/console');
  }
  assert.equal((await c.get('/console')).status, 303, 'past the absolute end however active');
  const pruned = await s.server.store.consoleSessions.prune(t, t - 30 * 60_000);
  assert.ok(pruned >= 0);
});

test('after sign-in only console paths are followed (no open redirect)', async () => {
  for (const next of ['https://evil.example/', '//evil.example/console', '/console/../evil', 'javascript:alert(1)', '/consolex']) {
    const c = createConsoleClient(s);
    await c.get('/console/login');
    const a = await c.post('/console/login', { method: 'token', token: opToken, next });
    assert.equal(a.status, 303, next);
    assert.equal(a.headers.location, '/console', next);
  }
});

test('a customer session gets "not found" for pages that do not exist or are not its own, never an error', async () => {
  const c = createConsoleClient(s);
  await c.signIn({ token: acmeToken });
  const a = await c.get('/console/no-such-page');
  assert.equal(a.status, 404);
  assert.match(a.text, /There is no such page, or it is not yours to see/);
});

test('a control character (NUL) in a URL or a form field: 400 with a precise page, nothing looked up or changed', async () => {
  const c = createConsoleClient(s);
  await c.signIn({ token: opToken });
  for (const path of ['/console/messages/%00', '/console/messages?sender=a%00b', '/console/queue?site=%01', '/console/login?next=%00']) {
    const a = await c.get(path);
    assert.equal(a.status, 400, path);
    assert.match(a.text, /contains a control character/, path);
  }
  const before = c.jar.get('__Host-postern-console');
  const form = await c.post('/console/logout', { note: 'a\u0000b' });
  assert.equal(form.status, 400);
  assert.match(form.text, /A field of this form contains a control character/);
  assert.equal((await c.get('/console')).status, 200, 'still signed in: the sign-out was not done');
  assert.equal(c.jar.get('__Host-postern-console'), before);
  const login = createConsoleClient(s);
  await login.get('/console/login');
  const l = await login.post('/console/login', { method: 'mailbox', login: 'alice@example.com\u0000', password: 'x' });
  assert.equal(l.status, 400);
  assert.match(l.text, /control character/);
});

test('signing in over a session (switching who is signed in) ends the previous session on the server', async () => {
  const c = createConsoleClient(s);
  await c.signIn({ token: opToken });
  const first = sessionCookie(c)!;
  await c.signIn({ token: acmeToken });
  assert.notEqual(sessionCookie(c), first);
  assert.equal(
    await s.server.store.consoleSessions.get(createHash('sha256').update(first).digest('hex')),
    null,
    'the operator session is gone',
  );
  c.jar.set('__Host-postern-console', first);
  assert.equal((await c.get('/console/queue')).status, 303, 'its cookie no longer signs anyone in');
});

test('the password page obeys the address ban like the sign-in: 429 before the current password is checked', async () => {
  const c = createConsoleClient(s);
  await c.signIn({ login: 'alice@example.com', password: 'alice-secret-1' });
  await c.get('/console/password');
  const hash = (await s.server.store.mailboxes.get('alice@example.com'))!.passwordHash;
  const ban = await s.server.store.authGuard.recordIpFailure('127.0.0.1', t, 60_000, 1, 30 * 60_000);
  assert.equal(ban, true);
  const a = await c.post('/console/password', { current: 'alice-secret-1', password: 'alice-secret-9', repeat: 'alice-secret-9' });
  assert.equal(a.status, 429);
  assert.ok(Number(a.headers['retry-after']) > 0);
  assert.match(a.text, /Too many failed sign-ins from your address/);
  assert.equal((await s.server.store.mailboxes.get('alice@example.com'))!.passwordHash, hash, 'the password did not change');
  await s.server.store.authGuard.unban('127.0.0.1');
});
