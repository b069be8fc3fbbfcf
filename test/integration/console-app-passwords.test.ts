/**
 * App passwords in the console over real HTTPS: a mailbox user makes one (shown once), sends
 * with it over SMTP, sees its last use, turns on "app passwords only" (its own password is then
 * refused on submission but still signs in to the console), and revokes it (refused at once); a
 * customer manages those of its own mailboxes only; an operator is sent to the customer pages.
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
  await s.addMailbox('eve@beta.test', 'eve-secret-11', 'beta');
  acmeToken = (await s.admin.addToken('acme-panel', { customer: 'acme' })).token;
  opToken = (await s.admin.addToken('ops', { operator: true })).token;
});
after(() => s?.close());

const secretOf = (text: string) => /<code class="secret">([^<]+)<\/code>/.exec(text)?.[1];

test('a mailbox user: make one, send with it, app passwords only, revoke', async () => {
  const a = createConsoleClient(s);
  await a.signIn({ login: 'alice@example.com', password: 'alice-secret-1' });
  const empty = await a.get('/console/app-passwords');
  assert.equal(empty.status, 200);
  assert.match(empty.text, /No app passwords yet/);
  assert.match(empty.text, /<a href="\/console\/app-passwords" aria-current="page">App passwords<\/a>/);
  assert.doesNotMatch(empty.text, /id="ap-mailbox"/, 'no mailbox picker for a mailbox user');
  const made = await a.post('/console/app-passwords', { action: 'add', name: 'Phone', mailbox: 'eve@beta.test' });
  assert.equal(made.status, 200);
  const pw = secretOf(made.text);
  assert.ok(pw && pw.length === 24, made.text);
  assert.equal(
    await s.server.store.mailboxes.get('eve@beta.test').then(async (m) => (await s.server.store.appPasswords.list(m!.id)).length),
    0,
    'a mailbox field naming another mailbox is ignored: its own',
  );
  assert.equal(await submitAs(s, { user: 'alice@example.com', pass: pw }), 'ok');
  const listed = await a.get('/console/app-passwords');
  assert.match(listed.text, /<td>Phone<\/td>/);
  assert.match(listed.text, /<td>127\.0\.0\.1<\/td>/);
  assert.ok(!listed.text.includes(pw), 'never shown again');

  assert.equal((await a.post('/console/app-passwords', { action: 'only', on: 'on' })).status, 303);
  assert.match((await a.get('/console/app-passwords')).text, /Only app passwords send mail for alice@example\.com now/);
  assert.match(
    await submitAs(s, { user: 'alice@example.com', pass: 'alice-secret-1' }),
    /^535 5\.7\.8/,
    'the own password is refused on submission',
  );
  assert.equal(await submitAs(s, { user: 'alice@example.com', pass: pw }), 'ok');
  const b = createConsoleClient(s);
  await b.signIn({ login: 'alice@example.com', password: 'alice-secret-1' }); // the console still takes it

  assert.equal((await a.post('/console/app-passwords', { action: 'revoke', name: 'Phone' })).status, 303);
  assert.match(
    (await a.get('/console/app-passwords')).text,
    /The app password &quot;Phone&quot; of alice@example\.com is revoked|The app password "Phone" of alice@example\.com is revoked/,
  );
  assert.match(await submitAs(s, { user: 'alice@example.com', pass: pw }), /^535 5\.7\.8/, 'revoked: refused at once');
  await a.post('/console/app-passwords', { action: 'only', on: 'off' });
  assert.equal(await submitAs(s, { user: 'alice@example.com', pass: 'alice-secret-1' }), 'ok');
  const audit = await s.server.store.audit.list({ target: 'alice@example.com' });
  assert.ok(
    audit.some((r) => r.action === 'addAppPassword' && r.actor.includes('alice@example.com')),
    JSON.stringify(audit.map((r) => r.actor)),
  );
});

test('a customer: its own mailboxes only; an operator goes to the customer pages', async () => {
  const c = createConsoleClient(s);
  await c.signIn({ token: acmeToken });
  const pick = await c.get('/console/app-passwords');
  assert.match(pick.text, /<option value="alice@example\.com"/);
  assert.doesNotMatch(pick.text, /eve@beta\.test/);
  const made = await c.post('/console/app-passwords', { action: 'add', name: 'Laptop', mailbox: 'alice@example.com' });
  assert.ok(secretOf(made.text));
  assert.match((await c.get('/console/app-passwords?mailbox=alice%40example.com')).text, /<td>Laptop<\/td>/);
  const other = await c.post('/console/app-passwords', { action: 'add', name: 'X', mailbox: 'eve@beta.test' });
  assert.equal(other.status, 303);
  const shown = await c.get(other.headers.location as string);
  assert.equal(shown.status, 404);
  assert.match(shown.text, /role="alert">no mailbox eve@beta\.test/);
  assert.equal((await s.server.store.appPasswords.list((await s.server.store.mailboxes.get('eve@beta.test'))!.id)).length, 0);
  const op = createConsoleClient(s);
  await op.signIn({ token: opToken });
  assert.equal((await op.get('/console/app-passwords')).status, 303);
});
