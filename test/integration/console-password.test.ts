/**
 * Password change in the console over real HTTPS: a mailbox user changes its own password (the
 * current one checked like a login: a wrong one refused and counted), after which the old
 * password no longer logs in over SMTP and the mailbox's other console sessions are ended; a
 * customer sets or generates the password of its own mailbox only (a generated one shown once);
 * forms without the session's CSRF token or from another site change nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';
import { createConsoleClient } from '../helpers/console.ts';

let s: TestServer;
let acmeToken: string;
let opToken: string;

before(async () => {
  s = await startTestServer();
  await s.addMailbox('alice@example.com', 'alice-secret-1', 'acme');
  await s.addMailbox('carol@example.com', 'carol-secret-1', 'acme');
  await s.addMailbox('eve@beta.test', 'eve-secret-11', 'beta');
  acmeToken = (await s.admin.addToken('acme-panel', { customer: 'acme' })).token;
  opToken = (await s.admin.addToken('ops', { operator: true })).token;
});
after(() => s?.close());

const smtpLogin = (user: string, pass: string) => submitAs(s, { user, pass });
const failures = async (address: string) =>
  (await s.server.store.authGuard.loginState((await s.server.store.mailboxes.get(address))!.id)).failures;

test('a mailbox user changes its own password: wrong current refused and counted, then the old one is dead and other sessions end', async () => {
  const a = createConsoleClient(s);
  const b = createConsoleClient(s);
  await a.signIn({ login: 'carol@example.com', password: 'carol-secret-1' });
  await b.signIn({ login: 'carol@example.com', password: 'carol-secret-1' });
  const form = await a.get('/console/password');
  assert.equal(form.status, 200);
  for (const [id, label] of [
    ['pw-current', 'Current password'],
    ['pw-new', 'New password'],
    ['pw-repeat', 'New password again'],
  ]) {
    assert.match(form.text, new RegExp(`<label for="${id}">${label}`));
    assert.match(form.text, new RegExp(`<input id="${id}" name="\\w+" type="password"`));
  }
  const before = await failures('carol@example.com');
  const wrong = await a.post('/console/password', { current: 'not-my-password', password: 'carol-new-pass-2', repeat: 'carol-new-pass-2' });
  assert.equal(wrong.status, 401);
  assert.match(wrong.text, /role="alert" id="pw-error">The current password is not right/);
  assert.equal(await failures('carol@example.com'), before + 1, 'counted like a failed login');
  assert.ok(
    s.logs.some((l) => l.evt === 'auth' && l.listener === 'console' && l.user === 'carol@example.com' && l.reason === 'bad-password'),
  );
  const mismatch = await a.post('/console/password', {
    current: 'carol-secret-1',
    password: 'carol-new-pass-2',
    repeat: 'carol-new-pass-3',
  });
  assert.equal(mismatch.status, 422);
  assert.match(mismatch.text, /The two new passwords are not the same/);
  const short = await a.post('/console/password', { current: 'carol-secret-1', password: 'short', repeat: 'short' });
  assert.equal(short.status, 422);
  assert.match(short.text, /at least 8 characters/);
  assert.equal(await smtpLogin('carol@example.com', 'carol-secret-1'), 'ok', 'nothing changed so far');

  const done = await a.post('/console/password', { current: 'carol-secret-1', password: 'carol-new-pass-2', repeat: 'carol-new-pass-2' });
  assert.equal(done.status, 303);
  assert.equal(done.headers.location, '/console/password');
  assert.match((await a.get('/console/password')).text, /role="status">Your password was changed/);
  assert.match(await smtpLogin('carol@example.com', 'carol-secret-1'), /^535/, 'the old password no longer logs in');
  assert.equal(await smtpLogin('carol@example.com', 'carol-new-pass-2'), 'ok');
  const other = await b.get('/console');
  assert.equal(other.status, 303, 'the other session has ended');
  assert.match(String(other.headers.location), /^\/console\/login/);
  assert.equal((await a.get('/console')).status, 200, 'the session that changed it goes on');
});

test('CSRF: without the token, with a wrong one, or from another site the change is refused and nothing changes', async () => {
  const a = createConsoleClient(s);
  await a.signIn({ login: 'alice@example.com', password: 'alice-secret-1' });
  await a.get('/console/password');
  const fields = { current: 'alice-secret-1', password: 'alice-new-pass-9', repeat: 'alice-new-pass-9' };
  for (const [what, extra, headers] of [
    ['no token', { _csrf: '' }, {}],
    ['a wrong token', { _csrf: 'x'.repeat(43) }, {}],
    ['another site', {}, { origin: 'https://evil.example' }],
  ] as const) {
    const r = await a.post('/console/password', { ...fields, ...extra }, headers);
    assert.equal(r.status, 403, what);
    assert.match(r.text, /nothing was changed/, what);
  }
  const c = createConsoleClient(s);
  await c.signIn({ token: acmeToken });
  await c.get('/console/password');
  assert.equal((await c.post('/console/password', { action: 'generate', mailbox: 'alice@example.com', _csrf: 'nope' })).status, 403);
  assert.equal(await smtpLogin('alice@example.com', 'alice-secret-1'), 'ok', 'the password is unchanged');
  assert.match(await smtpLogin('alice@example.com', 'alice-new-pass-9'), /^535/);
});

test("a customer sets or generates its own mailboxes' passwords (shown once), never another customer's", async () => {
  const mailbox = createConsoleClient(s);
  await mailbox.signIn({ login: 'alice@example.com', password: 'alice-secret-1' });
  const c = createConsoleClient(s);
  await c.signIn({ token: acmeToken });
  const form = await c.get('/console/password');
  assert.match(form.text, /<label for="pw-mailbox">Mailbox<\/label><select id="pw-mailbox" name="mailbox" required>/);
  assert.match(form.text, /<option value="alice@example\.com">/);
  assert.doesNotMatch(form.text, /eve@beta\.test/);

  const gen = await c.post('/console/password', { action: 'generate', mailbox: 'alice@example.com' });
  assert.equal(gen.status, 200);
  const pw = /<code id="new-password">([^<]+)<\/code>/.exec(gen.text)?.[1];
  assert.ok(pw && pw.length >= 12, 'the generated password is shown');
  assert.equal(await smtpLogin('alice@example.com', pw.replace(/&amp;/g, '&')), 'ok');
  assert.match(await smtpLogin('alice@example.com', 'alice-secret-1'), /^535/);
  assert.equal((await mailbox.get('/console')).status, 303, "the mailbox's console session ended");
  assert.doesNotMatch((await c.get('/console/password')).text, new RegExp(pw.replace(/[^A-Za-z0-9]/g, '.')), 'shown only once');

  const set = await c.post('/console/password', {
    action: 'set',
    mailbox: 'alice@example.com',
    password: 'alice-chosen-77',
    repeat: 'alice-chosen-77',
  });
  assert.equal(set.status, 303);
  assert.match((await c.get('/console/password')).text, /The password of alice@example\.com was changed/);
  assert.equal(await smtpLogin('alice@example.com', 'alice-chosen-77'), 'ok');

  const theirs = await c.post('/console/password', {
    action: 'set',
    mailbox: 'eve@beta.test',
    password: 'stolen-pass-1',
    repeat: 'stolen-pass-1',
  });
  assert.equal(theirs.status, 404);
  assert.doesNotMatch(theirs.text, /<option value="eve@beta\.test"/);
  assert.equal((await c.post('/console/password', { action: 'generate', mailbox: 'eve@beta.test' })).status, 404);
  assert.equal(await smtpLogin('eve@beta.test', 'eve-secret-11'), 'ok', "another customer's mailbox is untouched");

  const op = createConsoleClient(s);
  await op.signIn({ token: opToken });
  const r = await op.get('/console/password');
  assert.equal(r.status, 303);
  assert.equal(r.headers.location, '/console/customers');
});
