/**
 * Two-factor sign-in to the console over real HTTPS, with a controlled clock: an operator
 * (console.twoFactor.required: [operator]) is led through the setup before any page (QR code,
 * key, first code, recovery codes shown once); then every sign-in asks for a code, each code
 * and each recovery code works once, wrong codes count toward the address ban; a customer (not
 * required) sets it up under Security and turns it off with a code; everything is audited.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createConsoleClient } from '../helpers/console.ts';
import { base32Decode, totp } from '../../src/credentials/index.ts';

let t = Date.parse('2026-03-02T10:00:00Z');
const clock = { now: () => t };
let s: TestServer;
let opToken: string;
let acmeToken: string;

before(async () => {
  s = await startTestServer(
    {
      auth: { failureDelayMs: 0, ipFailures: 50, ipWindowMinutes: 10, ipBanMinutes: 30 },
      console: { twoFactor: { required: ['operator'], issuer: 'Postern test' } },
    },
    { clock },
  );
  await s.admin.addCustomer('acme');
  opToken = (await s.admin.addToken('ops', { operator: true })).token;
  acmeToken = (await s.admin.addToken('acme-panel', { customer: 'acme' })).token;
});
after(() => s?.close());

const keyOf = (text: string): Buffer => {
  const m = /id="totp-key" type="text" readonly value="([A-Z2-7 ]+)"/.exec(text);
  assert.ok(m, 'the key to type is on the page');
  return base32Decode(m[1]!)!;
};
const codes = (text: string) => [...text.matchAll(/<li><code>([a-z2-7]{5}-[a-z2-7]{5})<\/code><\/li>/g)].map((m) => m[1]!);
const auditActions = async (target: string) => (await s.server.store.audit.list({ target })).map((r) => r.action);

/** Signs in with the first factor only: the answer's redirect. */
async function firstStep(c: ReturnType<typeof createConsoleClient>, token: string) {
  await c.get('/console/login');
  const a = await c.post('/console/login', { method: 'token', token });
  assert.equal(a.status, 303);
  return String(a.headers.location);
}

let opKey: Buffer;
let opRecovery: string[];

test('a required role with no second factor is led through setting it up before any page; the recovery codes are shown once', async () => {
  const c = createConsoleClient(s);
  assert.equal(await firstStep(c, opToken), '/console/login/2fa/enrol');
  assert.equal(c.jar.has('__Host-postern-console'), false, 'no session after the first factor');
  assert.equal((await c.get('/console')).status, 303, 'no page yet');
  const enrol = await c.get('/console/login/2fa/enrol');
  assert.equal(enrol.status, 200);
  assert.match(enrol.text, /<h1>Set up two-factor sign-in<\/h1>/);
  assert.match(enrol.text, /<svg class="qr" role="img" aria-label="QR code for Postern test: ops" viewBox="0 0 \d+ \d+"/);
  assert.doesNotMatch(enrol.text, /<script|style=/);
  opKey = keyOf(enrol.text);
  assert.equal(opKey.length, 20);
  assert.deepEqual(keyOf((await c.get('/console/login/2fa/enrol')).text), opKey, 'a reload shows the same key');
  const wrong = await c.post('/console/login/2fa/enrol', { code: totp(opKey, t + 10 * 60_000) });
  assert.equal(wrong.status, 401);
  assert.match(wrong.text, /That code is not right/);
  assert.deepEqual(await auditActions('console-2fa:token:ops'), []);
  const ok = await c.post('/console/login/2fa/enrol', { code: totp(opKey, t) });
  assert.equal(ok.status, 200);
  opRecovery = codes(ok.text);
  assert.equal(opRecovery.length, 10);
  assert.match(ok.text, /shown only this once/);
  assert.equal((await c.get('/console')).status, 200, 'signed in now');
  assert.deepEqual(await auditActions('console-2fa:token:ops'), ['enrolTwoFactor']);
  const row = await s.server.store.consoleTotp.get('token', 'ops');
  assert.ok(row?.confirmedAt);
  assert.doesNotMatch(JSON.stringify(row), new RegExp(opRecovery[0]!), 'recovery codes are stored hashed');
  assert.doesNotMatch(row!.secret, /^[A-Z2-7]{32}$/, 'the secret is stored sealed');
  const security = await c.get('/console/security');
  assert.match(security.text, /Two-factor sign-in is on for ops/);
  assert.match(security.text, /cannot be turned off here/, 'required for the role');
});

test('then each sign-in asks for a code: a wrong one and a used one are refused, the next one signs in', async () => {
  const c = createConsoleClient(s);
  assert.equal(await firstStep(c, opToken), '/console/login/2fa');
  assert.equal(c.jar.has('__Host-postern-console'), false);
  const form = await c.get('/console/login/2fa');
  assert.match(form.text, /<label for="code">The 6-digit code of your authenticator app, or a recovery code<\/label>/);
  assert.match(form.text, /autocomplete="one-time-code"/);
  const bad = await c.post('/console/login/2fa', { code: '000000' });
  assert.equal(bad.status, 401);
  assert.equal((await c.post('/console/login/2fa', { code: totp(opKey, t) })).status, 401, 'the code that set it up was used already');
  t += 30_000;
  const good = await c.post('/console/login/2fa', { code: totp(opKey, t) });
  assert.equal(good.status, 303);
  assert.equal(good.headers.location, '/console');
  assert.equal((await c.get('/console')).status, 200);
  assert.equal(
    s.logs.filter((l) => l.evt === 'auth' && l.reason === 'second-factor' && l.user === 'ops').length,
    3,
    'wrong codes are failed sign-ins (logged, counted toward the address ban)',
  );
  const again = createConsoleClient(s);
  await firstStep(again, opToken);
  assert.equal(
    (await again.post('/console/login/2fa', { code: totp(opKey, t) })).status,
    401,
    'a code signs in once, even in another browser',
  );
  t += 6 * 60_000;
  assert.equal((await again.post('/console/login/2fa', { code: totp(opKey, t) })).status, 401, 'the first step expires after 5 minutes');
});

test('a recovery code signs in once, and is audited', async () => {
  const c = createConsoleClient(s);
  await firstStep(c, opToken);
  const r = await c.post('/console/login/2fa', { code: opRecovery[3]!.toUpperCase() });
  assert.equal(r.status, 303);
  assert.deepEqual(await auditActions('console-2fa:token:ops'), ['useRecoveryCode', 'enrolTwoFactor']);
  const d = createConsoleClient(s);
  await firstStep(d, opToken);
  assert.equal((await d.post('/console/login/2fa', { code: opRecovery[3]! })).status, 401, 'used up');
  assert.match((await c.get('/console/security')).text, /9 recovery codes are left/);
});

test('a customer (not required) signs in with the token alone, sets it up under Security, then turns it off with a code', async () => {
  const c = createConsoleClient(s);
  assert.equal(await firstStep(c, acmeToken), '/console');
  const sec = await c.get('/console/security');
  assert.match(sec.text, /<span class="state warn">off<\/span>/);
  const key = keyOf(sec.text);
  const wrong = await c.post('/console/security/enrol', { code: '123456' });
  assert.equal(wrong.status, 303);
  assert.match((await c.get('/console/security')).text, /That code is not right/);
  const on = await c.post('/console/security/enrol', { code: totp(key, t) });
  assert.equal(on.status, 200);
  assert.equal(codes(on.text).length, 10);
  const d = createConsoleClient(s);
  assert.equal(await firstStep(d, acmeToken), '/console/login/2fa', 'now the customer too is asked for a code');
  await c.get('/console/security');
  await c.post('/console/security/disable', { code: '999999' });
  assert.match((await c.get('/console/security')).text, /That code is not right; two-factor sign-in stays on/);
  t += 30_000;
  await c.post('/console/security/disable', { code: totp(key, t) });
  assert.match((await c.get('/console/security')).text, /Two-factor sign-in is off/);
  assert.equal(
    (await s.server.store.consoleTotp.get('token', 'acme-panel'))?.confirmedAt ?? null,
    null,
    'no confirmed second factor (the Security page offers a new setup)',
  );
  assert.deepEqual(await auditActions('console-2fa:token:acme-panel'), ['disableTwoFactor', 'enrolTwoFactor']);
  assert.equal(await firstStep(createConsoleClient(s), acmeToken), '/console', 'the token alone again');
});

test("a removed mailbox's second factor goes with it: the address added again signs in with its password alone", async () => {
  await s.addMailbox('carol@example.com', 'carol-secret-1', 'acme');
  await s.server.store.consoleTotp.begin('mailbox', 'carol@example.com', 'sealed', t);
  await s.server.store.consoleTotp.confirm('mailbox', 'carol@example.com', ['h'], 1, t);
  await s.admin.removeMailbox('carol@example.com');
  assert.equal(await s.server.store.consoleTotp.get('mailbox', 'carol@example.com'), null);
  await s.addMailbox('carol@example.com', 'carol-secret-2', 'acme');
  const c = createConsoleClient(s);
  await c.get('/console/login');
  const a = await c.post('/console/login', { method: 'mailbox', login: 'carol@example.com', password: 'carol-secret-2' });
  assert.equal(a.headers.location, '/console');
});
