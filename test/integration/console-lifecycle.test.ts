/**
 * The life of an account in the operator console over real HTTPS: suspend (a mailbox user's
 * console session ends, SMTP refuses), resume, rename; removing a customer or a domain and
 * moving a domain go through a page that lists everything affected and need a ticked
 * confirmation (without it nothing changes).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';
import { createConsoleClient } from '../helpers/console.ts';

let s: TestServer;
let opToken: string;

before(async () => {
  s = await startTestServer();
  await s.addMailbox('alice@acme.example', 'alice-secret-1', 'acme');
  await s.addMailbox('dan@shop.example', 'dan-secret-11', 'acme');
  await s.addMailbox('zed@zeta.example', 'zed-secret-11', 'zeta');
  await s.admin.addCustomer('buyer');
  opToken = (await s.admin.addToken('ops', { operator: true })).token;
});
after(() => s?.close());

const flashOf = (text: string) => /<p class="flash[^"]*" role="[a-z]+">([^<]*)<\/p>/.exec(text)?.[1];
async function postAndFollow(c: ReturnType<typeof createConsoleClient>, path: string, fields: Record<string, string>) {
  const a = await c.post(path, fields);
  assert.equal(a.status, 303, `${path}: ${a.status} ${a.text.slice(0, 400)}`);
  return c.get(String(a.headers.location));
}

test("suspend, resume and rename from the customer page; a suspended account's console session ends", async () => {
  const op = createConsoleClient(s);
  await op.signIn({ token: opToken });
  const user = createConsoleClient(s);
  await user.signIn({ login: 'alice@acme.example', password: 'alice-secret-1' });
  assert.equal((await user.get('/console')).status, 200);

  const pageBefore = await op.get('/console/customers/acme');
  assert.match(pageBefore.text, /<h2>Account<\/h2>[\s\S]*<span class="state ok">active<\/span>[\s\S]*Suspend the account/);
  const after = await postAndFollow(op, '/console/customers/acme/suspend', {});
  assert.match(flashOf(after.text)!, /acme is suspended: its mailboxes, sites and tokens are refused; 0 queued messages held\./);
  assert.match(after.text, /<span class="state bad">suspended<\/span> since/);
  assert.notEqual((await user.get('/console')).status, 200, "the mailbox user's session no longer stands");
  assert.match(await submitAs(s, { user: 'alice@acme.example', pass: 'alice-secret-1' }), /this account is suspended/);
  assert.match((await op.get('/console/customers')).text, /acme<\/a><\/td><td><span class="state bad">suspended<\/span>/);

  const resumed = await postAndFollow(op, '/console/customers/acme/resume', {});
  assert.match(flashOf(resumed.text)!, /acme is active again; 0 held messages released\./);
  assert.match(await submitAs(s, { user: 'alice@acme.example', pass: 'alice-secret-1' }), /^ok$/);

  const bad = await postAndFollow(op, '/console/customers/zeta/rename', { to: 'acme' });
  assert.match(flashOf(bad.text)!, /customer acme already exists/);
  const renamed = await op.post('/console/customers/zeta/rename', { to: 'zeta-two' });
  assert.equal(renamed.headers.location, '/console/customers/zeta-two');
  assert.equal((await s.server.store.mailboxes.get('zed@zeta.example'))!.customerName, 'zeta-two');
});

test('domain move and removal, customer removal: a plan page first, nothing without the ticked confirmation', async () => {
  const op = createConsoleClient(s);
  await op.signIn({ token: opToken });
  assert.match((await op.get('/console/domains/shop.example')).text, /Move this domain to another customer…[\s\S]*Remove this domain…/);
  const pick = await op.get('/console/domains/shop.example/move');
  assert.match(pick.text, /<option value="buyer">buyer<\/option>/);
  const plan = await op.get('/console/domains/shop.example/move?customer=buyer');
  assert.match(plan.text, /domain shop\.example: from customer acme to buyer \(dry run: nothing changed\)/);
  assert.match(plan.text, /<li>mailboxes would move: dan@shop\.example<\/li>/);
  const unticked = await postAndFollow(op, '/console/domains/shop.example/move', { customer: 'buyer' });
  assert.match(flashOf(unticked.text)!, /tick the confirmation: nothing was changed/);
  assert.equal((await s.server.store.domains.get('shop.example'))!.customerName, 'acme');
  const moved = await postAndFollow(op, '/console/domains/shop.example/move', { customer: 'buyer', confirm: '1' });
  assert.match(flashOf(moved.text)!, /Domain shop\.example now belongs to buyer/);

  const dplan = await op.get('/console/domains/shop.example/remove');
  assert.match(dplan.text, /domain shop\.example \(customer buyer\) \(dry run: nothing changed\)/);
  const dgone = await postAndFollow(op, '/console/domains/shop.example/remove', { confirm: '1', mode: 'drain' });
  assert.match(flashOf(dgone.text)!, /Domain shop\.example is removed\./);
  assert.equal(await s.server.store.domains.get('shop.example'), null);

  const cplan = await op.get('/console/customers/acme/remove');
  assert.match(cplan.text, /<li>domains would be removed: acme\.example<\/li>/);
  assert.match(cplan.text, /<li>mailboxes would be removed: alice@acme\.example<\/li>/);
  await postAndFollow(op, '/console/customers/acme/remove', { mode: 'drain' });
  assert.ok(await s.server.store.customers.get('acme'), 'not without the confirmation');
  const gone = await op.post('/console/customers/acme/remove', { confirm: '1', mode: 'drain' });
  assert.equal(gone.headers.location, '/console/customers');
  assert.match(flashOf((await op.get('/console/customers')).text)!, /Customer acme is removed\./);
  assert.equal(await s.server.store.customers.get('acme'), null);
  assert.equal((await op.get('/console/customers/acme/remove')).status, 404);
});

test('a customer token cannot reach the lifecycle pages', async () => {
  const t = (await s.admin.addToken('buyer-panel', { customer: 'buyer' })).token;
  const c = createConsoleClient(s);
  await c.signIn({ token: t });
  assert.notEqual((await c.get('/console/customers/buyer/remove')).status, 200);
  const a = await c.post('/console/customers/buyer/suspend', {});
  assert.notEqual(a.status, 303);
  assert.equal((await s.server.store.customers.get('buyer'))!.status, 'active');
});
