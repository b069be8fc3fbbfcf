/**
 * The admin HTTP API, route by route, with an operator token: status codes, response shapes
 * (checked against each route's response schema by the client), problem responses on errors,
 * authentication (401, 403, bans), the OpenAPI document, and a last test proving that every
 * registered route was called.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';
import { createAdminClient, httpsCall } from '../helpers/admin-api.ts';
import { webPort } from '../helpers/api.ts';
import { ADMIN_ROUTES, API_BASE } from '../../src/admin/api/index.ts';

let s: TestServer;
let api: ReturnType<typeof createAdminClient>;
let op: string;
let acmeToken: string;

before(async () => {
  s = await startTestServer({
    dkim: { enabled: true, rsaBits: 1024, autoActivate: false },
    dns: { servers: ['127.0.0.1:9'], timeoutMs: 50, tries: 1 },
    auth: { failureDelayMs: 0, ipFailures: 5 },
    adminApi: { maxBodyBytes: 2048 },
    webhooks: { allowNetworks: ['127.0.0.0/8'] }, // the endpoints below are on loopback
    delivery: {
      enabled: false,
      pools: {
        a: { addresses: ['127.0.0.2'], helo: 'a.out.postern.test' },
        b: { addresses: ['127.0.0.3', '::1'], helo: 'b.out.postern.test', select: 'round-robin', concurrency: 4 },
      },
      defaultPool: 'a',
    },
  });
  api = createAdminClient(s);
  op = (await s.admin.addToken('ops', { operator: true })).token;
});
after(() => s?.close());

test('authentication: no token, a malformed, unknown or revoked token get 401 with WWW-Authenticate; a customer token gets 403 on operator routes', async () => {
  const none = await api.expect(401, 'get', '/customers');
  assert.match(String(none.headers['www-authenticate']), /^Bearer realm="postern-admin"/);
  assert.equal(none.json.type, 'urn:postern:problem:auth');
  await api.expect(401, 'get', '/customers', { authorization: 'Basic YTpi' });
  await api.expect(401, 'get', '/customers', { token: 'pat_short' });
  await api.expect(401, 'get', '/customers', { token: `pat_${'A'.repeat(43)}` });
  const t = await s.admin.addToken('gone', { operator: true });
  await api.expect(200, 'get', '/customers', { token: t.token });
  await s.admin.revokeToken('gone');
  await api.expect(401, 'get', '/customers', { token: t.token });
  assert.ok((await s.server.store.apiTokens.get('gone'))!.lastUsedAt, 'its use was stamped');

  await s.admin.addCustomer('acme');
  acmeToken = (await s.admin.addToken('acme-panel', { customer: 'acme' })).token;
  const denied = await api.expect(403, 'post', '/customers', { token: acmeToken, body: { name: 'x' } });
  assert.equal(denied.json.reason, 'forbidden');
  assert.equal(await s.server.store.customers.get('x'), null, 'nothing was made');
  const metrics = await s.server.metrics.registry.getSingleMetricAsString('postern_auth_total');
  assert.match(metrics, /channel="admin",result="failure"\} [1-9]/);
  assert.match(metrics, /channel="admin",result="success"\} [1-9]/);
  await s.server.store.authGuard.unban('127.0.0.1');
});

test('failed token attempts ban the client address like failed logins (429 with Retry-After, even with a good token)', async () => {
  await s.server.store.authGuard.unban('127.0.0.1');
  const port = webPort(s);
  // failures from 127.0.0.1 until auth.ipFailures (5) is reached (the previous test's failures count too)
  for (let i = 0; i < 5 && !(await s.server.store.authGuard.banOf('127.0.0.1', Date.now())); i++) {
    assert.equal(
      (await httpsCall(port, 'get', `${API_BASE}/customers`, { authorization: `Bearer pat_${String(i).repeat(43)}` })).status,
      401,
    );
  }
  const banned = await api.expect(429, 'get', '/customers', { token: op });
  assert.ok(Number(banned.headers['retry-after']) > 0);
  assert.ok((await s.server.store.authGuard.bans(Date.now())).some((b) => b.ip === '127.0.0.1'));
  await s.server.store.authGuard.unban('127.0.0.1');
  await api.expect(200, 'get', '/customers', { token: op });
});

test('customers: add (201), conflict (409), invalid (422 with errors), list, get, missing (404), change the contact', async () => {
  const made = await api.expect(201, 'post', '/customers', { token: op, body: { name: 'shopco', contact: 'Boss@Shop.example' } });
  assert.deepEqual({ name: made.json.name, contact: made.json.contact }, { name: 'shopco', contact: 'boss@shop.example' });
  assert.equal((await api.expect(409, 'post', '/customers', { token: op, body: { name: 'shopco' } })).json.reason, 'conflict');
  assert.match(
    (await api.expect(422, 'post', '/customers', { token: op, body: { name: 'bad name' } })).json.detail,
    /invalid customer name/,
  );
  const schema = await api.expect(422, 'post', '/customers', { token: op, body: { contact: 'x@y.example', extra: 1 } });
  assert.ok(
    schema.json.errors.some((e: { path: string }) => e.path === 'body.name'),
    JSON.stringify(schema.json.errors),
  );
  assert.equal(
    (await api.expect(400, 'post', '/customers', { token: op, raw: { type: 'application/json', data: '{nope' } })).json.detail,
    'The body is not valid JSON',
  );
  await api.expect(415, 'post', '/customers', { token: op, raw: { type: 'text/plain', data: 'name=x' } });
  await api.expect(413, 'post', '/customers', { token: op, body: { name: 'big', contact: 'x'.repeat(4000) } });
  const list = await api.expect(200, 'get', '/customers', { token: op });
  assert.deepEqual(list.json.customers.map((c: { name: string }) => c.name).sort(), ['acme', 'shopco']);
  assert.equal((await api.expect(200, 'get', '/customers', { token: op, query: { limit: '1' } })).json.customers.length, 1);
  await api.expect(422, 'get', '/customers', { token: op, query: { limit: '0' } });
  assert.equal((await api.expect(200, 'get', '/customers/{name}', { token: op, params: { name: 'shopco' } })).json.name, 'shopco');
  assert.equal((await api.expect(404, 'get', '/customers/{name}', { token: op, params: { name: 'nobody' } })).json.reason, 'not-found');
  assert.equal(
    (await api.expect(200, 'patch', '/customers/{name}', { token: op, params: { name: 'shopco' }, body: { contact: '' } })).json.contact,
    null,
  );
  await api.expect(404, 'patch', '/customers/{name}', { token: op, params: { name: 'nobody' }, body: { contact: '' } });
});

test('domains: add with DKIM keys, list, get, the DNS records, DKIM keys, rotate and activate', async () => {
  const d = await api.expect(201, 'post', '/domains', { token: op, body: { name: 'Shop.Example', customer: 'shopco' } });
  assert.deepEqual({ name: d.json.name, customer: d.json.customer }, { name: 'shop.example', customer: 'shopco' });
  await api.expect(409, 'post', '/domains', { token: op, body: { name: 'shop.example', customer: 'shopco' } });
  await api.expect(404, 'post', '/domains', { token: op, body: { name: 'x.example', customer: 'nobody' } });
  await api.expect(422, 'post', '/domains', { token: op, body: { name: 'not a domain', customer: 'shopco' } });
  assert.deepEqual(
    (await api.expect(200, 'get', '/domains', { token: op, query: { customer: 'shopco' } })).json.domains.map(
      (x: { name: string }) => x.name,
    ),
    ['shop.example'],
  );
  await api.expect(404, 'get', '/domains', { token: op, query: { customer: 'nobody' } });
  assert.equal(
    (await api.expect(200, 'get', '/domains/{domain}', { token: op, params: { domain: 'shop.example' } })).json.customer,
    'shopco',
  );
  await api.expect(404, 'get', '/domains/{domain}', { token: op, params: { domain: 'nope.example' } });
  const dns = await api.expect(200, 'get', '/domains/{domain}/dns', { token: op, params: { domain: 'shop.example' } });
  const types = dns.json.records.map((r: { type: string }) => r.type);
  assert.ok(types.includes('SRV') && types.includes('TXT'), JSON.stringify(types));
  assert.ok(
    dns.json.records.some((r: { name: string }) => /\._domainkey\.shop\.example$/.test(r.name)),
    'the DKIM record',
  );
  const keys = await api.expect(200, 'get', '/domains/{domain}/dkim', { token: op, params: { domain: 'shop.example' } });
  assert.equal(keys.json.keys.length, 1);
  assert.equal(keys.json.keys[0].state, 'pending');
  assert.match(keys.json.keys[0].value, /^v=DKIM1; k=rsa; p=/);
  assert.ok(!JSON.stringify(keys.json).includes('PRIVATE'), 'never the private key');
  const activated = await api.expect(200, 'post', '/domains/{domain}/dkim/activate', {
    token: op,
    params: { domain: 'shop.example' },
    body: { force: true },
  });
  assert.equal(activated.json.activated.length, 1);
  const rotated = await api.expect(200, 'post', '/domains/{domain}/dkim/rotate', {
    token: op,
    params: { domain: 'shop.example' },
    body: {},
  });
  assert.equal(rotated.json.keys.filter((k: { state: string }) => k.state === 'pending').length, 1);
  await api.expect(422, 'post', '/domains/{domain}/dkim/rotate', {
    token: op,
    params: { domain: 'shop.example' },
    body: { algorithm: 'dsa' },
  });
  await api.expect(404, 'post', '/domains/{domain}/dkim/rotate', { token: op, params: { domain: 'nope.example' }, body: {} });
});

test('mailboxes: add with a password or a generated one (returned once), get, list, password, suspend, resume, unlock, delete', async () => {
  const given = await api.expect(201, 'post', '/mailboxes', {
    token: op,
    body: { address: 'Alice@shop.example', password: 'correct horse battery' },
  });
  assert.deepEqual(
    { address: given.json.mailbox.address, customer: given.json.mailbox.customer, password: given.json.password },
    { address: 'alice@shop.example', customer: 'shopco', password: null },
  );
  const generated = await api.expect(201, 'post', '/mailboxes', { token: op, body: { address: 'bob@shop.example' } });
  assert.match(generated.json.password, /^\S{12,}$/);
  assert.equal(await submitAs(s, { user: 'bob@shop.example', pass: generated.json.password }), 'ok', 'the generated password logs in');
  await api.expect(409, 'post', '/mailboxes', { token: op, body: { address: 'alice@shop.example', password: 'another password' } });
  assert.match(
    (await api.expect(422, 'post', '/mailboxes', { token: op, body: { address: 'carol@shop.example', password: 'short' } })).json.detail,
    /at least 8/,
  );
  await api.expect(404, 'post', '/mailboxes', { token: op, body: { address: 'x@nothosted.example', password: 'long enough pw' } });
  const one = await api.expect(200, 'get', '/mailboxes/{address}', { token: op, params: { address: 'alice@shop.example' } });
  assert.deepEqual(one.json.login, { failures: 0, lockedUntil: null });
  assert.ok(!('passwordHash' in one.json), 'never the hash');
  await api.expect(404, 'get', '/mailboxes/{address}', { token: op, params: { address: 'nobody@shop.example' } });
  assert.deepEqual(
    (await api.expect(200, 'get', '/mailboxes', { token: op, query: { domain: 'shop.example' } })).json.mailboxes.map(
      (m: { address: string }) => m.address,
    ),
    ['alice@shop.example', 'bob@shop.example'],
  );
  const pw = await api.expect(200, 'put', '/mailboxes/{address}/password', {
    token: op,
    params: { address: 'bob@shop.example' },
    body: {},
  });
  assert.notEqual(pw.json.password, generated.json.password);
  assert.equal(await submitAs(s, { user: 'bob@shop.example', pass: pw.json.password }), 'ok');
  await api.expect(200, 'put', '/mailboxes/{address}/password', {
    token: op,
    params: { address: 'bob@shop.example' },
    body: { password: 'bob password 2' },
  });
  assert.equal(
    (await api.expect(200, 'post', '/mailboxes/{address}/suspend', { token: op, params: { address: 'bob@shop.example' } })).json.status,
    'suspended',
  );
  assert.equal(
    (await api.expect(200, 'post', '/mailboxes/{address}/resume', { token: op, params: { address: 'bob@shop.example' } })).json.status,
    'active',
  );
  const m = (await s.server.store.mailboxes.get('bob@shop.example'))!;
  await s.server.store.authGuard.recordFailure(m.id, Date.now(), 1, 60_000);
  assert.equal(
    (await api.expect(200, 'post', '/mailboxes/{address}/unlock', { token: op, params: { address: 'bob@shop.example' } })).json.wasLocked,
    true,
  );
  assert.equal(
    (await api.expect(200, 'post', '/mailboxes/{address}/unlock', { token: op, params: { address: 'bob@shop.example' } })).json.wasLocked,
    false,
  );
  await api.expect(200, 'delete', '/mailboxes/{address}', { token: op, params: { address: 'bob@shop.example' } });
  await api.expect(404, 'delete', '/mailboxes/{address}', { token: op, params: { address: 'bob@shop.example' } });
});

test('grants: add (an address, a domain, the null sender), list, remove; the customer wall holds', async () => {
  const p = { address: 'alice@shop.example' };
  assert.deepEqual(
    (await api.expect(201, 'post', '/mailboxes/{address}/grants', { token: op, params: p, body: { sendAs: 'Orders@shop.example' } })).json,
    { grant: { kind: 'address', value: 'orders@shop.example' }, added: true },
  );
  assert.equal(
    (await api.expect(201, 'post', '/mailboxes/{address}/grants', { token: op, params: p, body: { sendAs: 'orders@shop.example' } })).json
      .added,
    false,
  );
  await api.expect(201, 'post', '/mailboxes/{address}/grants', { token: op, params: p, body: { domain: 'shop.example' } });
  await api.expect(201, 'post', '/mailboxes/{address}/grants', { token: op, params: p, body: { sendAs: '<>' } });
  await api.expect(422, 'post', '/mailboxes/{address}/grants', {
    token: op,
    params: p,
    body: { sendAs: 'x@shop.example', domain: 'shop.example' },
  });
  await s.admin.addDomain('acme.example', 'acme');
  assert.match(
    (await api.expect(422, 'post', '/mailboxes/{address}/grants', { token: op, params: p, body: { domain: 'acme.example' } })).json.detail,
    /not a domain of customer shopco/,
  );
  const list = await api.expect(200, 'get', '/mailboxes/{address}/grants', { token: op, params: p });
  assert.deepEqual(list.json.grants.map((g: { kind: string; value: string }) => `${g.kind}:${g.value}`).sort(), [
    'address:orders@shop.example',
    'domain:shop.example',
    'null-sender:',
  ]);
  await api.expect(200, 'delete', '/mailboxes/{address}/grants', { token: op, params: p, query: { sendAs: '<>' } });
  await api.expect(200, 'delete', '/mailboxes/{address}/grants', { token: op, params: p, query: { domain: 'shop.example' } });
  await api.expect(404, 'delete', '/mailboxes/{address}/grants', { token: op, params: p, query: { domain: 'shop.example' } });
  await api.expect(422, 'delete', '/mailboxes/{address}/grants', { token: op, params: p });
  assert.equal((await api.expect(200, 'get', '/mailboxes/{address}/grants', { token: op, params: p })).json.grants.length, 1);
});

test('imports and app passwords: mailbox and grant imports report per line; app passwords log in, revoked at once; the customer wall holds', async () => {
  const sha512 = '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'; // "Hello world!"
  const content = `carl@shop.example:{SHA512-CRYPT}${sha512}::\ndora@shop.example:{PLAIN}secret::\n`;
  const r = await api.expect(200, 'post', '/mailboxes/import', { token: op, body: { format: 'dovecot-passwd', content } });
  assert.deepEqual(r.json, {
    added: 1,
    updated: 0,
    unchanged: 0,
    refused: [{ line: 2, error: 'dora@shop.example: plain-text password ({PLAIN}) refused: import hashes only' }],
  });
  assert.equal(await submitAs(s, { user: 'carl@shop.example', pass: 'Hello world!' }), 'ok', 'the imported hash logs in');
  assert.match((await s.server.store.mailboxes.get('carl@shop.example'))!.passwordHash, /^\$argon2id\$/, 'and was replaced by argon2id');
  const walled = await api.expect(200, 'post', '/mailboxes/import', {
    token: acmeToken,
    body: { format: 'csv', content: `eve@shop.example,${sha512}\n` },
  });
  assert.match(walled.json.refused[0].error, /shop\.example is not hosted here/, "another customer's domain");
  await api.expect(422, 'post', '/mailboxes/import', { token: op, body: { format: 'htpasswd', content } });
  const g = await api.expect(200, 'post', '/grants/import', {
    token: op,
    body: { content: 'sales@shop.example carl@shop.example\nx@acme.example carl@shop.example\n' },
  });
  assert.equal(g.json.added, 1);
  assert.match(g.json.refused[0].error, /may not send as x@acme\.example/);
  await api.expect(422, 'post', '/grants/import', { token: op, body: {} });

  const p = { address: 'carl@shop.example' };
  const made = await api.expect(201, 'post', '/mailboxes/{address}/app-passwords', { token: op, params: p, body: { name: 'phone' } });
  await api.expect(409, 'post', '/mailboxes/{address}/app-passwords', { token: op, params: p, body: { name: 'phone' } });
  await api.expect(404, 'post', '/mailboxes/{address}/app-passwords', { token: acmeToken, params: p, body: { name: 'x' } });
  assert.equal(await submitAs(s, { user: 'carl@shop.example', pass: made.json.password }), 'ok');
  const list = await api.expect(200, 'get', '/mailboxes/{address}/app-passwords', { token: op, params: p });
  assert.equal(list.json.appPasswords[0].lastIp, '127.0.0.1');
  assert.ok(!list.text.includes(made.json.password));
  await api.expect(404, 'get', '/mailboxes/{address}/app-passwords', { token: acmeToken, params: p });
  assert.equal(
    (await api.expect(200, 'put', '/mailboxes/{address}/app-passwords-only', { token: op, params: p, body: { on: true } })).json
      .appPasswordsOnly,
    true,
  );
  await api.expect(422, 'put', '/mailboxes/{address}/app-passwords-only', { token: op, params: p, body: { on: 'yes' } });
  assert.match(
    await submitAs(s, { user: 'carl@shop.example', pass: 'Hello world!' }),
    /^535 5\.7\.8/,
    'its own password is useless on submission',
  );
  await api.expect(200, 'delete', '/mailboxes/{address}/app-passwords/{name}', { token: op, params: { ...p, name: 'phone' } });
  await api.expect(404, 'delete', '/mailboxes/{address}/app-passwords/{name}', { token: op, params: { ...p, name: 'phone' } });
  assert.match(await submitAs(s, { user: 'carl@shop.example', pass: made.json.password }), /^535 5\.7\.8/, 'revoked: refused at once');
});

test('sites: add (token once), list, get, rotate the token, grants, remove', async () => {
  const made = await api.expect(201, 'post', '/sites', {
    token: op,
    body: { name: 'shop', customer: 'shopco', unixUser: 'www-shop', sendAs: 'orders@shop.example' },
  });
  assert.match(made.json.token, /^pst_[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(made.json.site.grants, [{ kind: 'address', value: 'orders@shop.example' }]);
  await api.expect(409, 'post', '/sites', { token: op, body: { name: 'shop', customer: 'shopco', domain: 'shop.example' } });
  await api.expect(422, 'post', '/sites', { token: op, body: { name: 'bare', customer: 'shopco' } });
  await api.expect(404, 'post', '/sites', { token: op, body: { name: 'x', customer: 'nobody', domain: 'shop.example' } });
  assert.deepEqual(
    (await api.expect(200, 'get', '/sites', { token: op, query: { customer: 'shopco' } })).json.sites.map((x: { name: string }) => x.name),
    ['shop'],
  );
  assert.equal((await api.expect(200, 'get', '/sites/{name}', { token: op, params: { name: 'shop' } })).json.unixUser, 'www-shop');
  await api.expect(404, 'get', '/sites/{name}', { token: op, params: { name: 'nope' } });
  const rotated = await api.expect(200, 'post', '/sites/{name}/token', { token: op, params: { name: 'shop' } });
  assert.notEqual(rotated.json.token, made.json.token);
  assert.deepEqual(
    (await api.expect(201, 'post', '/sites/{name}/grants', { token: op, params: { name: 'shop' }, body: { domain: ['shop.example'] } }))
      .json.added,
    [{ kind: 'domain', value: 'shop.example' }],
  );
  assert.deepEqual(
    (
      await api.expect(200, 'delete', '/sites/{name}/grants', {
        token: op,
        params: { name: 'shop' },
        query: { sendAs: 'orders@shop.example' },
      })
    ).json.removed,
    [{ kind: 'address', value: 'orders@shop.example' }],
  );
  await api.expect(404, 'delete', '/sites/{name}/grants', {
    token: op,
    params: { name: 'shop' },
    query: { sendAs: 'orders@shop.example' },
  });
  await api.expect(201, 'post', '/sites', { token: op, body: { name: 'temp', customer: 'shopco', domain: 'shop.example' } });
  await api.expect(200, 'delete', '/sites/{name}', { token: op, params: { name: 'temp' } });
  await api.expect(404, 'delete', '/sites/{name}', { token: op, params: { name: 'temp' } });
});

test('limits: set, list with usage, clear; routes: set, list (never the password), remove', async () => {
  const set = await api.expect(200, 'put', '/limits', {
    token: op,
    body: { level: 'customer', target: 'shopco', window: 'hour', messages: 50, recipients: 200, action: 'hold' },
  });
  assert.equal(set.json.limits.length, 2);
  await api.expect(422, 'put', '/limits', { token: op, body: { level: 'customer', target: 'shopco', window: 'year', messages: 1 } });
  await api.expect(404, 'put', '/limits', { token: op, body: { level: 'customer', target: 'nobody', window: 'hour', messages: 1 } });
  const list = await api.expect(200, 'get', '/limits', { token: op, query: { level: 'customer', target: 'shopco' } });
  const mine = list.json.limits.filter((r: { target: string }) => r.target === 'shopco');
  assert.deepEqual(mine.map((r: { metric: string; max: number; usage: number }) => `${r.metric}:${r.max}:${r.usage}`).sort(), [
    'messages:50:0',
    'recipients:200:0',
  ]);
  assert.equal(
    (await api.expect(200, 'delete', '/limits', { token: op, query: { level: 'customer', target: 'shopco', metric: 'messages' } })).json
      .cleared,
    1,
  );
  await api.expect(404, 'delete', '/limits', { token: op, query: { level: 'customer', target: 'shopco', metric: 'messages' } });
  await api.expect(422, 'delete', '/limits', { token: op, query: { level: 'planet' } });

  const r = await api.expect(200, 'put', '/routes/{domain}', {
    token: op,
    params: { domain: 'partner.example' },
    body: { host: 'relay.partner.example:2525', tls: 'required', auth: { user: 'shop', pass: 's3cret-relay' } },
  });
  assert.deepEqual(
    { host: r.json.host, port: r.json.port, login: r.json.login },
    { host: 'relay.partner.example', port: 2525, login: 'shop' },
  );
  await api.expect(422, 'put', '/routes/{domain}', {
    token: op,
    params: { domain: 'partner.example' },
    body: { host: 'x', tls: 'none', auth: { user: 'a', pass: 'b' } },
  });
  const routes = await api.expect(200, 'get', '/routes', { token: op });
  assert.equal(routes.json.routes.length, 1);
  assert.ok(!routes.text.includes('s3cret') && !routes.text.includes('authSecret'), 'never the relay password, sealed or not');
  await api.expect(200, 'delete', '/routes/{domain}', { token: op, params: { domain: 'partner.example' } });
  await api.expect(404, 'delete', '/routes/{domain}', { token: op, params: { domain: 'partner.example' } });
});

/** Sends one message as alice (delivery is off: it stays queued); returns its queue id. */
async function queued(): Promise<string> {
  const reply = await submitAs(s, { user: 'alice@shop.example', pass: 'correct horse battery', to: ['rcpt@remote.example'] });
  const id =
    /queued as (\S+)/i.exec(reply)?.[1] ?? (await s.server.store.queue.list({ authUser: 'alice@shop.example', limit: 1000 })).at(-1)?.id;
  assert.ok(id, reply);
  return id;
}

test('queue: list, get with attempts, hold, release, retry (one and all), delete (and with bounce)', async () => {
  const id = await queued();
  const list = await api.expect(200, 'get', '/queue', { token: op, query: { customer: 'shopco' } });
  assert.ok(list.json.messages.some((m: { id: string }) => m.id === id));
  await api.expect(422, 'get', '/queue', { token: op, query: { state: 'lost' } });
  const one = await api.expect(200, 'get', '/queue/{id}', { token: op, params: { id } });
  assert.deepEqual({ id: one.json.message.id, attempts: one.json.attempts }, { id, attempts: [] });
  await api.expect(404, 'get', '/queue/{id}', { token: op, params: { id: 'NOPE' } });
  await api.expect(200, 'post', '/queue/{id}/hold', { token: op, params: { id } });
  assert.equal(
    (await api.expect(422, 'post', '/queue/{id}/hold', { token: op, params: { id } })).json.detail,
    `message ${id} is already held`,
  );
  await api.expect(422, 'post', '/queue/{id}/retry', { token: op, params: { id } });
  await api.expect(200, 'post', '/queue/{id}/release', { token: op, params: { id } });
  // a released message is due at once: nothing more to make due
  assert.equal((await api.expect(200, 'post', '/queue/{id}/retry', { token: op, params: { id } })).json.due, 0);
  assert.equal((await api.expect(200, 'post', '/queue/retry', { token: op })).json.due, 0);
  const gone = await api.expect(200, 'delete', '/queue/{id}', { token: op, params: { id } });
  assert.deepEqual({ outcome: gone.json.outcome, bounced: gone.json.bounced }, { outcome: 'deleted', bounced: 0 });
  assert.equal(await s.server.store.queue.get(id), null);
  const id2 = await queued();
  const cancelled = await api.expect(200, 'delete', '/queue/{id}', { token: op, params: { id: id2 }, query: { bounce: 'true' } });
  assert.deepEqual({ outcome: cancelled.json.outcome, bounced: cancelled.json.bounced }, { outcome: 'cancelled', bounced: 1 });
  await api.expect(404, 'delete', '/queue/{id}', { token: op, params: { id: 'NOPE' } });
});

test('holds: list a held mailbox and its mail, release it, purge; bans: list, lift; audit: the API changes under the token name', async () => {
  const alice = (await s.server.store.mailboxes.get('alice@shop.example'))!;
  await s.server.store.mailboxes.hold(alice.id, 'test', Date.now());
  const id = await queued();
  const holds = await api.expect(200, 'get', '/holds', { token: op });
  const row = holds.json.mailboxes.find((m: { mailbox: { address: string } }) => m.mailbox.address === 'alice@shop.example');
  assert.equal(row.heldMessages, 1, JSON.stringify(holds.json));
  assert.equal((await s.server.store.queue.get(id))!.state, 'held');
  assert.deepEqual(
    (await api.expect(200, 'post', '/holds/{target}/release', { token: op, params: { target: 'alice@shop.example' }, body: {} })).json,
    { released: 1, keptSpam: 0 },
  );
  await api.expect(422, 'post', '/holds/{target}/release', { token: op, params: { target: 'alice@shop.example' } });
  await s.server.store.mailboxes.hold(alice.id, 'test', Date.now());
  await queued();
  assert.deepEqual((await api.expect(200, 'post', '/holds/{target}/purge', { token: op, params: { target: 'alice@shop.example' } })).json, {
    purged: 1,
  });
  await api.expect(404, 'post', '/holds/{target}/purge', { token: op, params: { target: 'site:nope' } });
  await s.admin.releaseHold('alice@shop.example').catch(() => undefined);

  await s.server.store.authGuard.recordIpFailure('2001:db8:1:2::/64', Date.now(), 60_000, 1, 3_600_000);
  await s.server.store.authGuard.recordIpFailure('192.0.2.7', Date.now(), 60_000, 1, 3_600_000);
  const bans = await api.expect(200, 'get', '/bans', { token: op });
  assert.deepEqual(bans.json.bans.map((b: { ip: string }) => b.ip).sort(), ['192.0.2.7', '2001:db8:1:2::/64']);
  await api.expect(200, 'delete', '/bans/{ip}', { token: op, params: { ip: '2001:db8:1:2::/64' } });
  await api.expect(200, 'delete', '/bans/{ip}', { token: op, params: { ip: '192.0.2.7' } });
  await api.expect(404, 'delete', '/bans/{ip}', { token: op, params: { ip: '192.0.2.7' } });
  await api.expect(422, 'delete', '/bans/{ip}', { token: op, params: { ip: 'not-an-ip' } });

  const audit = await api.expect(200, 'get', '/audit', { token: op, query: { target: 'customer:shopco' } });
  assert.deepEqual(
    audit.json.entries.map((e: { action: string; actor: string }) => `${e.actor} ${e.action}`),
    ['api:ops clearLimit', 'api:ops setLimit', 'api:ops setContact', 'api:ops addCustomer'],
  );
  assert.equal((await api.expect(200, 'get', '/audit', { token: op, query: { limit: '3' } })).json.entries.length, 3);
  assert.ok(
    !JSON.stringify((await api.expect(200, 'get', '/audit', { token: op, query: { limit: '1000' } })).json).includes('$argon2'),
    'no password hash in the trail',
  );
});

test('tracking: search by filters, newest first with a cursor, one message with its events, stats', async () => {
  const older = await queued();
  const id = await queued();
  const list = await api.expect(200, 'get', '/tracking/messages', {
    token: op,
    query: { customer: 'shopco', recipient: 'rcpt@remote.example' },
  });
  assert.deepEqual(
    list.json.messages.slice(0, 2).map((m: { id: string }) => m.id),
    [id, older],
    'newest first',
  );
  const page1 = await api.expect(200, 'get', '/tracking/messages', { token: op, query: { customer: 'shopco', limit: '1' } });
  assert.deepEqual([page1.json.messages[0].id, typeof page1.json.next], [id, 'string']);
  const page2 = await api.expect(200, 'get', '/tracking/messages', {
    token: op,
    query: { customer: 'shopco', limit: '1', before: page1.json.next },
  });
  assert.equal(page2.json.messages[0].id, older, 'the cursor continues where the page ended');
  const byId = await api.expect(200, 'get', '/tracking/messages', {
    token: op,
    query: { id, sender: 'alice@shop.example', status: 'queued', since: '2000-01-01' },
  });
  assert.deepEqual([byId.json.messages.length, byId.json.messages[0].customer, byId.json.next], [1, 'shopco', null]);
  await api.expect(422, 'get', '/tracking/messages', { token: op, query: { status: 'lost' } });
  assert.match((await api.expect(422, 'get', '/tracking/messages', { token: op, query: { since: 'yesterday' } })).json.detail, /ISO 8601/);
  assert.match((await api.expect(422, 'get', '/tracking/messages', { token: op, query: { before: 'x y' } })).json.detail, /not a cursor/);
  await api.expect(422, 'get', '/tracking/messages', { token: op, query: { limit: '0' } });
  await api.expect(404, 'get', '/tracking/messages', { token: op, query: { customer: 'nobody' } });
  const one = await api.expect(200, 'get', '/tracking/messages/{queueId}', { token: op, params: { queueId: id } });
  assert.deepEqual([one.json.id, one.json.recipients, one.json.events[0].type], [id, ['rcpt@remote.example'], 'accepted']);
  assert.match(
    (await api.expect(404, 'get', '/tracking/messages/{queueId}', { token: op, params: { queueId: 'NOPE' } })).json.detail,
    /no tracked message NOPE/,
  );
  const stats = await api.expect(200, 'get', '/tracking/stats', { token: op });
  assert.ok(stats.json.messages >= 2 && stats.json.events >= 2 && stats.json.bytes > 0 && stats.json.oldest, JSON.stringify(stats.json));
});

test('suppressions: add (201), list by customer and address, remove, and the mistakes (422, 404)', async () => {
  const made = await api.expect(201, 'post', '/suppressions', {
    token: op,
    body: { address: 'Gone@Remote.example', customer: 'shopco', days: 2, reason: 'asked to stop' },
  });
  assert.deepEqual([made.json.customer, made.json.source, made.json.reason], ['shopco', 'operator', 'asked to stop']);
  assert.ok(Date.parse(made.json.until) - Date.now() > 86_400_000, 'for two days');
  await api.expect(201, 'post', '/suppressions', { token: op, body: { address: 'other@remote.example', customer: 'shopco' } });
  const list = await api.expect(200, 'get', '/suppressions', { token: op, query: { customer: 'shopco' } });
  assert.equal(list.json.suppressions.length, 2);
  const one = await api.expect(200, 'get', '/suppressions', { token: op, query: { address: 'gone@remote.example' } });
  assert.deepEqual(
    one.json.suppressions.map((x: { address: string }) => x.address.toLowerCase()),
    ['gone@remote.example'],
  );
  assert.match(
    (await api.expect(422, 'post', '/suppressions', { token: op, body: { address: 'not an address', customer: 'shopco' } })).json.detail,
    /not a valid address/,
  );
  assert.match(
    (await api.expect(422, 'post', '/suppressions', { token: op, body: { address: 'x@remote.example' } })).json.detail,
    /give the customer/,
  );
  await api.expect(422, 'post', '/suppressions', { token: op, body: { address: 'x@remote.example', customer: 'shopco', days: 0 } });
  await api.expect(404, 'post', '/suppressions', { token: op, body: { address: 'x@remote.example', customer: 'nobody' } });
  await api.expect(404, 'get', '/suppressions', { token: op, query: { customer: 'nobody' } });
  const p = { customer: 'shopco', address: 'gone@remote.example' };
  assert.deepEqual((await api.expect(200, 'delete', '/suppressions/{customer}/{address}', { token: op, params: p })).json, p);
  assert.match(
    (await api.expect(404, 'delete', '/suppressions/{customer}/{address}', { token: op, params: p })).json.detail,
    /is not suppressed for customer shopco/,
  );
  assert.equal((await api.expect(200, 'get', '/suppressions', { token: op, query: { customer: 'shopco' } })).json.suppressions.length, 1);
});

test('webhooks: add (secret once), list, get, rotate, disable and enable, test, the delivery logs, remove', async () => {
  const url = 'https://127.0.0.1:9/hook';
  const made = await api.expect(201, 'post', '/webhooks', {
    token: op,
    body: { url, customer: 'shopco', events: ['delivered', 'bounced'] },
  });
  const id = made.json.webhook.id as string;
  assert.match(made.json.secret, /\S{20,}/);
  assert.deepEqual(
    [made.json.webhook.customer, made.json.webhook.events, made.json.webhook.enabled],
    ['shopco', ['delivered', 'bounced'], true],
  );
  assert.match(
    (await api.expect(422, 'post', '/webhooks', { token: op, body: { url: 'http://127.0.0.1:9/hook', customer: 'shopco' } })).json.detail,
    /must start with https/,
  );
  assert.match(
    (await api.expect(422, 'post', '/webhooks', { token: op, body: { url, customer: 'shopco', events: 'sent' } })).json.detail,
    /unknown event type sent/,
  );
  await api.expect(404, 'post', '/webhooks', { token: op, body: { url, customer: 'nobody' } });
  const list = await api.expect(200, 'get', '/webhooks', { token: op, query: { customer: 'shopco' } });
  assert.deepEqual(
    list.json.webhooks.map((w: { id: string }) => w.id),
    [id],
  );
  assert.ok(!list.text.includes(made.json.secret), 'never the secret again');
  assert.equal((await api.expect(200, 'get', '/webhooks/{id}', { token: op, params: { id } })).json.url, url);
  await api.expect(404, 'get', '/webhooks/{id}', { token: op, params: { id: 'wh_nope' } });
  const rotated = await api.expect(200, 'post', '/webhooks/{id}/rotate-secret', { token: op, params: { id } });
  assert.notEqual(rotated.json.secret, made.json.secret);
  assert.equal((await api.expect(200, 'post', '/webhooks/{id}/disable', { token: op, params: { id } })).json.enabled, false);
  assert.match((await api.expect(422, 'post', '/webhooks/{id}/test', { token: op, params: { id } })).json.detail, /is disabled/);
  assert.equal((await api.expect(200, 'post', '/webhooks/{id}/enable', { token: op, params: { id } })).json.enabled, true);
  const ping = await api.expect(200, 'post', '/webhooks/{id}/test', { token: op, params: { id } });
  const log = await api.expect(200, 'get', '/webhooks/{id}/deliveries', { token: op, params: { id } });
  assert.deepEqual(
    log.json.deliveries.map((d: { event: string; type: string }) => `${d.type}:${d.event}`),
    [`ping:${ping.json.eventId}`],
  );
  assert.equal(log.json.deliveries[0].payload.customer, 'shopco');
  const all = await api.expect(200, 'get', '/webhooks/deliveries', { token: op, query: { limit: '10' } });
  assert.ok(all.json.deliveries.some((d: { endpoint: string }) => d.endpoint === id));
  assert.equal(
    (await api.expect(200, 'get', '/webhooks/deliveries', { token: op, query: { customer: 'acme' } })).json.deliveries.length,
    0,
  );
  await api.expect(422, 'get', '/webhooks/{id}/deliveries', { token: op, params: { id }, query: { limit: '0' } });
  await api.expect(404, 'get', '/webhooks/{id}/deliveries', { token: op, params: { id: 'wh_nope' } });
  for (const action of ['rotate-secret', 'enable', 'disable', 'test'])
    await api.expect(404, 'post', `/webhooks/{id}/${action}`, { token: op, params: { id: 'wh_nope' } });
  await api.expect(200, 'delete', '/webhooks/{id}', { token: op, params: { id } });
  await api.expect(404, 'delete', '/webhooks/{id}', { token: op, params: { id } });
  assert.deepEqual((await api.expect(200, 'get', '/webhooks', { token: op })).json.webhooks, []);
  const audit = await api.expect(200, 'get', '/audit', { token: op, query: { target: `webhook:${id}` } });
  assert.deepEqual(
    audit.json.entries.map((e: { action: string }) => e.action).slice(0, 2),
    ['removeWebhook', 'testWebhook'],
    'the API changes are audited',
  );
});

test('GET /token tells the token its name and scope', async () => {
  assert.deepEqual((({ name, scope }) => ({ name, scope }))((await api.expect(200, 'get', '/token', { token: op })).json), {
    name: 'ops',
    scope: 'operator',
  });
  assert.equal((await api.expect(200, 'get', '/token', { token: acmeToken })).json.scope, 'customer:acme');
});

test('egress pools: listed from the configuration; a customer, domain or site is assigned, shown, listed and unassigned; bad targets are refused and change nothing', async () => {
  await s.admin.addCustomer('poolco');
  await s.admin.addDomain('poolco.example', 'poolco');
  const listed = await api.expect(200, 'get', '/pools', { token: op });
  assert.deepEqual(
    listed.json.pools.map((p: { name: string; isDefault: boolean; assignments: number }) => [p.name, p.isDefault, p.assignments]),
    [
      ['a', true, 0],
      ['b', false, 0],
    ],
  );
  const a = await api.expect(200, 'put', '/pools/{name}/assignments', { token: op, params: { name: 'b' }, body: { customer: 'poolco' } });
  assert.deepEqual([a.json.kind, a.json.name, a.json.customer, a.json.pool], ['customer', 'poolco', 'poolco', 'b']);
  await api.expect(200, 'put', '/pools/{name}/assignments', { token: op, params: { name: 'a' }, body: { domain: 'PoolCo.Example' } });
  const shown = await api.expect(200, 'get', '/pools/{name}', { token: op, params: { name: 'b' } });
  assert.deepEqual(
    [shown.json.configured, shown.json.addresses, shown.json.concurrency, shown.json.assigned.map((x: { name: string }) => x.name)],
    [true, ['127.0.0.3', '::1'], 4, ['poolco']],
  );
  const all = await api.expect(200, 'get', '/pool-assignments', { token: op, query: { customer: 'poolco' } });
  assert.deepEqual(
    all.json.assignments.map((x: { kind: string; name: string; pool: string }) => `${x.kind}:${x.name}:${x.pool}`),
    ['customer:poolco:b', 'domain:poolco.example:a'],
  );
  // refusals: unknown pool, two targets, unknown domain; none changes anything
  const before = (await api.expect(200, 'get', '/pool-assignments', { token: op })).text;
  assert.match(
    (await api.expect(404, 'put', '/pools/{name}/assignments', { token: op, params: { name: 'nope' }, body: { customer: 'poolco' } })).json
      .detail,
    /no egress pool named nope in delivery\.pools \(configured: a, b\)/,
  );
  assert.match(
    (
      await api.expect(422, 'put', '/pools/{name}/assignments', {
        token: op,
        params: { name: 'a' },
        body: { customer: 'poolco', domain: 'poolco.example' },
      })
    ).json.detail,
    /exactly one of/,
  );
  await api.expect(404, 'put', '/pools/{name}/assignments', { token: op, params: { name: 'a' }, body: { domain: 'nowhere.example' } });
  await api.expect(404, 'get', '/pools/{name}', { token: op, params: { name: 'nope' } });
  const check = await api.expect(200, 'get', '/pools/{name}/check', { token: op, params: { name: 'b' } });
  assert.deepEqual(
    check.json.items.map((x: { id: string }) => x.id),
    ['ptr:127.0.0.3', 'ptr:::1', 'helo', 'spf'],
    'poolco.example sends from a (its own assignment): nothing sends from b',
  );
  await api.expect(404, 'get', '/pools/{name}/check', { token: op, params: { name: 'nope' } });
  await api.expect(404, 'get', '/pool-assignments', { token: op, query: { customer: 'nobody' } });
  await api.expect(403, 'get', '/pools', { token: acmeToken });
  assert.equal((await api.expect(200, 'get', '/pool-assignments', { token: op })).text, before);
  await api.expect(200, 'delete', '/pool-assignments/{kind}/{name}', { token: op, params: { kind: 'domain', name: 'poolco.example' } });
  await api.expect(404, 'delete', '/pool-assignments/{kind}/{name}', { token: op, params: { kind: 'domain', name: 'poolco.example' } });
  await api.expect(422, 'delete', '/pool-assignments/{kind}/{name}', { token: op, params: { kind: 'mailbox', name: 'x' } });
  const audit = await s.server.store.audit.list({ limit: 10 });
  assert.ok(
    audit.some((e) => e.action === 'unassignPool' && e.target === 'pool:domain:poolco.example' && e.before === 'a' && e.after === null),
    'the change is audited',
  );
});

test('the OpenAPI document: valid JSON without a token, every registered route with its schemas', async () => {
  const a = await httpsCall(webPort(s), 'get', `${API_BASE}/openapi.json`, {});
  assert.equal(a.status, 200);
  const doc = JSON.parse(a.text) as {
    openapi: string;
    paths: Record<
      string,
      Record<
        string,
        { parameters: { name: string; in: string }[]; responses: Record<string, unknown>; requestBody?: unknown; 'x-access': string }
      >
    >;
  };
  assert.equal(doc.openapi, '3.1.0');
  for (const r of ADMIN_ROUTES) {
    const op_ = doc.paths[API_BASE + r.path]?.[r.method];
    assert.ok(op_, `${r.method} ${r.path} is documented`);
    assert.ok(op_.responses[String(r.status ?? 200)], `${r.method} ${r.path}: its success response`);
    assert.equal(op_['x-access'], r.access);
    for (const name of r.path.match(/\{(\w+)\}/g) ?? [])
      assert.ok(
        op_.parameters.some((p) => p.in === 'path' && `{${p.name}}` === name),
        `${r.path}: ${name}`,
      );
    assert.equal(Boolean(op_.requestBody), Boolean(r.body));
  }
  assert.equal(
    Object.values(doc.paths).reduce((n, p) => n + Object.keys(p).length, 0),
    ADMIN_ROUTES.length + 2,
    'and the send API and the document itself',
  );
  const body = doc.paths[`${API_BASE}/customers`]!.post!.requestBody as {
    content: { 'application/json': { schema: { required: string[] } } };
  };
  assert.deepEqual(body.content['application/json'].schema.required, ['name'], 'made from the validating schema');
});

test('the life of an account: suspend, resume, rename; removals and moves need dryRun or confirm and answer the same plan', async () => {
  await s.admin.addCustomer('life');
  await s.admin.addCustomer('life-buyer');
  await s.admin.addDomain('life.example', 'life');
  await s.admin.addDomain('moving.example', 'life');
  await s.admin.addMailbox('l@life.example', 'life-secret-1');
  await s.admin.addMailbox('m@moving.example', 'life-secret-1');
  const lifeToken = (await s.admin.addToken('life-panel', { customer: 'life' })).token;
  await api.expect(200, 'get', '/customers/{name}', { token: lifeToken, params: { name: 'life' } });

  const sus = await api.expect(200, 'post', '/customers/{name}/suspend', { token: op, params: { name: 'life' } });
  assert.deepEqual([sus.json.customer.status, sus.json.held], ['suspended', 0]);
  assert.ok(sus.json.customer.suspendedAt);
  assert.match(
    (await api.expect(409, 'post', '/customers/{name}/suspend', { token: op, params: { name: 'life' } })).json.detail,
    /already suspended/,
  );
  await api.expect(403, 'post', '/customers/{name}/suspend', { token: acmeToken, params: { name: 'acme' } });
  assert.match(
    (await api.expect(403, 'get', '/customers/{name}', { token: lifeToken, params: { name: 'life' } })).json.detail,
    /suspended/,
  );
  assert.match(await submitAs(s, { user: 'l@life.example', pass: 'life-secret-1' }), /^535 5\.7\.8 .*this account is suspended/);
  const res = await api.expect(200, 'post', '/customers/{name}/resume', { token: op, params: { name: 'life' } });
  assert.deepEqual([res.json.customer.status, res.json.customer.suspendedAt, res.json.released], ['active', null, 0]);
  await api.expect(409, 'post', '/customers/{name}/resume', { token: op, params: { name: 'life' } });
  await api.expect(404, 'post', '/customers/{name}/resume', { token: op, params: { name: 'nobody' } });

  assert.equal(
    (await api.expect(200, 'post', '/customers/{name}/rename', { token: op, params: { name: 'life' }, body: { to: 'life2' } })).json.name,
    'life2',
  );
  await api.expect(409, 'post', '/customers/{name}/rename', { token: op, params: { name: 'life2' }, body: { to: 'acme' } });
  await api.expect(404, 'post', '/customers/{name}/rename', { token: op, params: { name: 'life' }, body: { to: 'x' } });

  await api.expect(422, 'post', '/domains/{domain}/move', {
    token: op,
    params: { domain: 'moving.example' },
    body: { customer: 'life-buyer' },
  });
  const moveDry = await api.expect(200, 'post', '/domains/{domain}/move', {
    token: op,
    params: { domain: 'moving.example' },
    body: { customer: 'life-buyer', dryRun: true },
  });
  assert.deepEqual([moveDry.json.done, moveDry.json.mailboxes, moveDry.json.domain], [false, ['m@moving.example'], null]);
  const moved = await api.expect(200, 'post', '/domains/{domain}/move', {
    token: op,
    params: { domain: 'moving.example' },
    body: { customer: 'life-buyer', confirm: true },
  });
  assert.deepEqual([moved.json.done, moved.json.domain.customer], [true, 'life-buyer']);

  assert.match(
    (await api.expect(422, 'delete', '/domains/{domain}', { token: op, params: { domain: 'moving.example' } })).json.detail,
    /dryRun=true/,
  );
  const dDry = await api.expect(200, 'delete', '/domains/{domain}', {
    token: op,
    params: { domain: 'moving.example' },
    query: { dryRun: 'true' },
  });
  assert.ok(
    dDry.json.dkim.length >= 1 && dDry.json.dkim.every((k: { record: string }) => k.record.endsWith('._domainkey.moving.example')),
    JSON.stringify(dDry.json.dkim),
  );
  assert.equal(
    (await api.expect(200, 'delete', '/domains/{domain}', { token: op, params: { domain: 'moving.example' }, query: { confirm: 'true' } }))
      .json.done,
    true,
  );
  await api.expect(404, 'get', '/domains/{domain}', { token: op, params: { domain: 'moving.example' } });

  const cDry = await api.expect(200, 'delete', '/customers/{name}', { token: op, params: { name: 'life2' }, query: { dryRun: 'true' } });
  assert.deepEqual([cDry.json.domains, cDry.json.mailboxes, cDry.json.tokens], [['life.example'], ['l@life.example'], ['life-panel']]);
  await api.expect(422, 'delete', '/customers/{name}', {
    token: op,
    params: { name: 'life2' },
    query: { dryRun: 'true', confirm: 'true' },
  });
  const gone = await api.expect(200, 'delete', '/customers/{name}', {
    token: op,
    params: { name: 'life2' },
    query: { confirm: 'true', mode: 'bounce', waitSeconds: '5' },
  });
  assert.equal(gone.json.done, true);
  await api.expect(404, 'get', '/customers/{name}', { token: op, params: { name: 'life2' } });
  await api.expect(404, 'delete', '/customers/{name}', { token: op, params: { name: 'life2' }, query: { confirm: 'true' } });
  assert.equal((await s.server.store.audit.list({ target: 'customer:life2' }))[0]!.actor, 'api:ops');
});

test('the send API still answers on /api/v1/messages (an API token is not a site token)', async () => {
  const a = await httpsCall(
    webPort(s),
    'post',
    `${API_BASE}/messages`,
    { authorization: `Bearer ${op}`, 'content-type': 'application/json' },
    Buffer.from('{}'),
  );
  assert.equal(a.status, 401);
  assert.match(a.text, /site token/);
});

test('every registered route was called by this file, with success and with an error', () => {
  for (const r of ADMIN_ROUTES) {
    const statuses = api.called.get(`${r.method} ${r.path}`);
    assert.ok(statuses, `${r.method} ${r.path} was called`);
    assert.ok(
      [...statuses].some((x) => x < 300),
      `${r.method} ${r.path} succeeded once`,
    );
  }
});
