/**
 * The console's management pages over real HTTPS with the console client: an operator adds a
 * customer, a domain, a mailbox (which then logs in over SMTP) and a limit, and reads the DNS
 * records and their live status (from the tests' own DNS server; a DNS server that does not
 * answer leaves the page fast). A customer sees and changes only its own domains, mailboxes,
 * suppressions and webhooks (another customer's: 404 with none of its data), resets its own
 * mailbox's password; the webhook delivery log shows a test delivery to a real receiver.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';
import { chromium } from 'playwright-core';
import { browserSignIn, createConsoleClient } from '../helpers/console.ts';
import { startFakeDns, type FakeDns, type FakeZone } from '../helpers/fake-dns.ts';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.ts';
import { until } from '../helpers/delivery-lab.ts';

let s: TestServer;
let dns: FakeDns;
let rx: Receiver;
let opToken: string;
let acmeToken: string;
let globexHook: string;

const zone: FakeZone = {
  'newco.test': { MX: [{ preference: 10, exchange: 'mx.newco.test' }], TXT: [['v=spf1 ip4:192.0.2.10 -all']] },
  '_dmarc.newco.test': { TXT: [['v=DMARC1; p=reject']] },
  'slow.test': { behavior: 'timeout' },
  '_dmarc.slow.test': { behavior: 'timeout' },
};

before(async () => {
  dns = await startFakeDns(zone);
  rx = await startReceiver();
  s = await startTestServer({
    dns: { servers: [dns.address], timeoutMs: 4000, tries: 2 },
    dkim: { enabled: true, rsaBits: 1024, autoActivate: false },
    delivery: { enabled: false, publicAddresses: ['192.0.2.10'] },
    webhooks: { allowInsecure: true, allowNetworks: ['127.0.0.0/8'], retrySeconds: [0.3], pollIntervalMs: 50, timeoutSeconds: 2 },
  });
  await s.addMailbox('alice@example.com', 'alice-secret-1', 'acme');
  await s.addMailbox('carol@shop.example.com', 'carol-secret-1', 'acme');
  await s.addMailbox('bob@example.org', 'bob-secret-11', 'globex');
  await s.admin.addDomain('slow.test', 'globex');
  await s.admin.addSuppression('secret-victim@remote.test', { customer: 'globex', reason: 'globex private reason' });
  globexHook = (await s.admin.addWebhook({ customer: 'globex', url: 'http://127.0.0.1:9/globex-private-hook' })).endpoint.id;
  opToken = (await s.admin.addToken('ops', { operator: true })).token;
  acmeToken = (await s.admin.addToken('acme-panel', { customer: 'acme' })).token;
});
after(async () => {
  await s?.close();
  await dns?.close();
  await rx?.close();
});

const signedIn = async (cred: { token: string } | { login: string; password: string }) => {
  const c = createConsoleClient(s);
  await c.signIn(cred);
  return c;
};
const secretOf = (text: string) => /<code class="secret">([^<]+)<\/code>/.exec(text)?.[1];
const flashOf = (text: string) => /<p class="flash[^"]*" role="[a-z]+">([^<]*)<\/p>/.exec(text)?.[1];
/** POSTs, follows the redirect, returns the page shown after it. */
async function postAndFollow(c: ReturnType<typeof createConsoleClient>, path: string, fields: Record<string, string>) {
  const a = await c.post(path, fields);
  assert.equal(a.status, 303, `${path}: ${a.status} ${a.text.slice(0, 400)}`);
  return c.get(String(a.headers.location));
}

test('operator: adds a customer, a domain, a mailbox that then logs in over SMTP, and a limit; reads the DNS records and their live status', async () => {
  const c = await signedIn({ token: opToken });
  const list = await c.get('/console/customers');
  assert.equal(list.status, 200);
  assert.match(list.text, /<caption>Customers \(2\)<\/caption>/);
  assert.match(
    list.text,
    /<a href="\/console\/customers\/acme">acme<\/a><\/td><td><span class="state ok">active<\/span><\/td><td><span class="muted">none<\/span><\/td><td>2<\/td><td>2<\/td>/,
    'acme: 2 domains, 2 mailboxes',
  );
  assert.match((await c.get('/console/customers?q=example.org')).text, /Customers matching &quot;example\.org&quot; \(1\)[\s\S]*globex/);

  const added = await c.post('/console/customers', { name: 'newco', contact: 'Ops@NewCo.test' });
  assert.equal(added.status, 303);
  assert.equal(added.headers.location, '/console/customers/newco');
  let pg = await c.get('/console/customers/newco');
  assert.equal(pg.status, 200);
  assert.match(pg.text, /<h1>Customer newco<\/h1>/);
  assert.match(pg.text, /Customer newco added\./);
  assert.match(pg.text, /<dt>Contact<\/dt><dd>ops@newco\.test<\/dd>/);
  assert.match(
    (await postAndFollow(c, '/console/customers', { name: 'newco' })).text,
    /class="flash error" role="alert">[^<]*already exists|class="flash error" role="alert">[^<]*newco/,
  );

  pg = await postAndFollow(c, '/console/customers/newco/domains', { domain: 'NewCo.test' });
  assert.match(flashOf(pg.text)!, /^Domain newco\.test added to newco/);
  assert.match(pg.text, /<a href="\/console\/domains\/newco\.test">newco\.test<\/a>/);

  const mb = await c.post('/console/mailboxes', { address: 'info@newco.test', password: '', back: '/console/customers/newco' });
  assert.equal(mb.status, 200, 'the generated password is shown on the answer page itself');
  const password = secretOf(mb.text);
  assert.ok(password && password.length >= 12, mb.text.slice(0, 600));
  assert.equal(mb.headers.location, undefined);
  assert.ok(!String(mb.headers['set-cookie'] ?? '').includes(password), 'never in a cookie');
  assert.equal(mb.headers['cache-control'], 'no-store');
  assert.equal(await submitAs(s, { user: 'info@newco.test', pass: password }), 'ok', 'the new mailbox logs in over SMTP');
  const again = await c.get('/console/mailboxes/info%40newco.test');
  assert.equal(again.status, 200);
  assert.doesNotMatch(again.text, new RegExp(password), 'shown once only');
  assert.match(again.text, /<dt>Failed sign-ins since the last success<\/dt><dd>0<\/dd>/);

  pg = await postAndFollow(c, '/console/customers/newco/limits', {
    target: 'mailbox:info@newco.test',
    window: 'hour',
    metric: 'messages',
    max: '5',
    action: 'hold',
  });
  assert.equal(flashOf(pg.text), 'Limit set: mailbox info@newco.test, at most 5 messages per hour, then hold.');
  assert.match(pg.text, /mailbox <code>info@newco\.test<\/code><\/td><td>hour<\/td><td>messages<\/td><td>5<\/td><td>0<\/td><td>hold<\/td>/);
  const own = async (address: string) =>
    (await s.admin.showLimits('mailbox', address))
      .filter((r) => r.target !== '*')
      .map((r) => `${r.target}:${r.window}:${r.metric}:${r.max}:${r.action}`);
  assert.deepEqual(await own('info@newco.test'), ['info@newco.test:hour:messages:5:hold']);
  assert.match(
    (await c.get('/console/mailboxes/info%40newco.test')).text,
    /<caption>Sending limits of info@newco\.test<\/caption>[\s\S]*<td>hour<\/td><td>messages<\/td><td>5<\/td>/,
  );
  pg = await postAndFollow(c, '/console/customers/newco/limits', {
    target: 'mailbox:bob@example.org',
    window: 'hour',
    metric: 'messages',
    max: '5',
    action: 'hold',
  });
  assert.match(flashOf(pg.text)!, /no mailbox bob@example\.org/, "another customer's mailbox is not a target on this page");
  assert.deepEqual(await own('bob@example.org'), []);
  const askLimit = await c.post('/console/customers/newco/limits/remove', {
    level: 'mailbox',
    target: 'info@newco.test',
    window: 'hour',
    metric: 'messages',
  });
  assert.match(askLimit.text, /<h1>Remove a limit of info@newco\.test\?<\/h1>/);
  assert.match(askLimit.text, /1 limit of mailbox info@newco\.test \(at most 5 messages per hour\) will be removed/);
  assert.deepEqual(await own('info@newco.test'), ['info@newco.test:hour:messages:5:hold'], 'not before the confirmation');
  pg = await postAndFollow(c, '/console/customers/newco/limits/remove', {
    level: 'mailbox',
    target: 'info@newco.test',
    window: 'hour',
    metric: 'messages',
    confirm: 'yes',
  });
  assert.equal(flashOf(pg.text), 'Removed 1 limit of mailbox info@newco.test.');
  assert.deepEqual(await own('info@newco.test'), []);

  const started = Date.now();
  const dom = await c.get('/console/domains/newco.test');
  assert.equal(dom.status, 200);
  assert.ok(Date.now() - started < 3000, 'a DNS that answers: no waiting');
  const [key] = await s.admin.showDkim('newco.test');
  assert.ok(key, 'the new domain got a DKIM key');
  assert.match(dom.text, /<td><code class="name">_submission\._tcp\.newco\.test<\/code><\/td><td>SRV<\/td>/);
  assert.match(
    dom.text,
    new RegExp(
      `<td><code class="name">${key.name.replace(/\./g, '\\.')}</code></td><td>TXT</td><td><code class="record">&quot;v=DKIM1; k=rsa; p=`,
    ),
  );
  assert.match(dom.text, /<caption>Live DNS status of newco\.test<\/caption>/);
  assert.match(
    dom.text,
    /<td><code class="name">dmarc<\/code><\/td><td><span class="state ok">ok<\/span><\/td><td>DMARC policy is p=reject/,
  );
  assert.match(
    dom.text,
    new RegExp(
      `<td><code class="name">dkim:${key.selector}</code></td><td><span class="state warn">warning</span></td><td>DKIM selector ${key.selector} \\(rsa-sha256, pending\\) is not published yet`,
    ),
  );
  assert.match(
    dom.text,
    new RegExp(`<td><code class="name">${key.selector}</code></td><td>rsa-sha256</td><td><span class="state warn">pending</span>`),
  );

  // DKIM: activation waits for DNS unless forced
  pg = await postAndFollow(c, '/console/domains/newco.test/dkim/activate', {});
  assert.match(pg.text, /class="flash error" role="alert">[^<]*not published/);
  pg = await postAndFollow(c, '/console/domains/newco.test/dkim/activate', { force: '1' });
  assert.equal(flashOf(pg.text), `Active now: ${key.selector} (rsa-sha256).`);
  assert.deepEqual(
    (await s.admin.showDkim('newco.test')).map((k) => k.state),
    ['active'],
  );
});

test('the domain page stays fast when DNS does not answer: the records are shown, the live status says it is unknown', async () => {
  const c = await signedIn({ token: opToken });
  const started = Date.now();
  const dom = await c.get('/console/domains/slow.test');
  const took = Date.now() - started;
  assert.equal(dom.status, 200);
  assert.ok(took < 4500, `answered in ${took} ms (the lookups may wait 4 s and more each)`);
  // c-ares adapts its timeouts to how fast the server answered before: either the page's deadline
  // or the lookups' own timeout ends the wait (the deadline alone is covered in pages/domains.test.ts)
  assert.match(
    dom.text,
    /did not answer within 3 seconds: the live status is unknown|could not check: MX lookup of slow\.test failed \(ETIMEOUT\)/,
  );
  assert.match(dom.text, /<td><code class="name">_dmarc\.slow\.test<\/code><\/td><td>TXT<\/td>/, 'the records to publish are still there');
});

test("a customer sees its own domains, mailboxes, suppressions and webhooks; another customer's answer 404 with none of their data", async () => {
  const c = await signedIn({ token: acmeToken });
  const own = await c.get('/console/domains/example.com');
  assert.equal(own.status, 200);
  assert.match(own.text, /<h1>Domain example\.com<\/h1>/);
  assert.doesNotMatch(own.text, /<dt>Customer<\/dt>/);
  assert.doesNotMatch(own.text, /Make a new pending key/, 'no operator actions');
  assert.equal((await c.get('/console/mailboxes/alice%40example.com')).status, 200);

  const walls: [string, RegExp][] = [
    ['/console/domains/example.org', /globex|_domainkey/],
    ['/console/domains/slow.test', /globex|_dmarc/],
    ['/console/mailboxes/bob%40example.org', /globex|Sign-in state/],
    ['/console/mailboxes/bob%40example.org/remove', /globex|Remove/],
    ['/console/suppressions?customer=globex', /secret-victim|private reason/],
    [`/console/webhooks/${globexHook}`, /globex-private-hook/],
    ['/console/webhooks?customer=globex', /globex-private-hook/],
    ['/console/customers', /acme|globex/],
    ['/console/customers/acme', /Contact/],
  ];
  for (const [path, secret] of walls) {
    const a = await c.get(path);
    assert.equal(a.status, 404, `${path}: ${a.status}`);
    assert.match(a.text, /<h1>Not found<\/h1>/);
    assert.doesNotMatch(a.text.replace(/<header>[\s\S]*<\/header>/, ''), secret, `${path} shows nothing of globex`);
  }
  for (const [path, fields] of [
    ['/console/mailboxes/bob%40example.org/password', { password: 'stolen-password-1' }],
    ['/console/mailboxes/bob%40example.org/suspend', {}],
    ['/console/suppressions/remove', { customer: 'globex', address: 'secret-victim@remote.test' }],
    ['/console/suppressions/remove', { customer: 'globex', address: 'secret-victim@remote.test', confirm: 'yes' }],
    [`/console/webhooks/${globexHook}/disable`, {}],
    [`/console/webhooks/${globexHook}/rotate`, {}],
  ] as const) {
    const a = await c.post(path, fields);
    assert.equal(a.status, 404, `POST ${path}: ${a.status}`);
    assert.doesNotMatch(a.text, /secret-victim|globex-private-hook|<code class="secret">/);
  }
  assert.equal(await submitAs(s, { user: 'bob@example.org', pass: 'bob-secret-11' }), 'ok', "bob's password is unchanged");
  assert.equal((await s.admin.getMailbox('bob@example.org')).mailbox.status, 'active');
  assert.equal((await s.admin.listSuppressions({ customer: 'globex' })).length, 1);
  assert.equal((await s.admin.getWebhook(globexHook)).enabled, true);

  const sup = await c.get('/console/suppressions');
  assert.equal(sup.status, 200);
  assert.doesNotMatch(sup.text, /secret-victim|private reason|<label for="f-customer">/);
  const hooks = await c.get('/console/webhooks');
  assert.equal(hooks.status, 200);
  assert.doesNotMatch(hooks.text, /globex/);
  // a mailbox of another customer's domain cannot be added
  const mb = await postAndFollow(c, '/console/mailboxes', { address: 'eve@example.org', password: 'eve-password-1', back: '/console' });
  assert.match(mb.text, /class="flash error" role="alert">domain example\.org is not hosted here/);
  assert.equal((await s.admin.listMailboxes({ domain: 'example.org' })).length, 1);
});

test("a customer resets its own mailbox's password (generated, shown once); suspends and resumes it; removes one after confirming", async () => {
  const c = await signedIn({ token: acmeToken });
  await c.get('/console/mailboxes/alice%40example.com');
  const a = await c.post('/console/mailboxes/alice%40example.com/password', { password: '' });
  assert.equal(a.status, 200);
  const pw = secretOf(a.text)!;
  assert.ok(pw, a.text.slice(0, 500));
  assert.match(a.text, /The password of alice@example\.com is changed to a generated one\./);
  assert.equal(await submitAs(s, { user: 'alice@example.com', pass: pw }), 'ok');
  assert.notEqual(await submitAs(s, { user: 'alice@example.com', pass: 'alice-secret-1' }), 'ok', 'the old password is refused');
  let pg = await postAndFollow(c, '/console/mailboxes/alice%40example.com/password', { password: 'short' });
  assert.match(pg.text, /class="flash error" role="alert">the password must have at least 8 characters/);
  pg = await postAndFollow(c, '/console/mailboxes/alice%40example.com/password', { password: 'alice-secret-1' });
  assert.equal(flashOf(pg.text), 'The password of alice@example.com is changed.');
  assert.equal(await submitAs(s, { user: 'alice@example.com', pass: 'alice-secret-1' }), 'ok');

  pg = await postAndFollow(c, '/console/mailboxes/carol%40shop.example.com/suspend', {});
  assert.match(flashOf(pg.text)!, /carol@shop\.example\.com is suspended/);
  assert.match(pg.text, /<span class="state bad">suspended<\/span>/);
  pg = await postAndFollow(c, '/console/mailboxes/carol%40shop.example.com/resume', {});
  assert.match(pg.text, /<span class="state ok">active<\/span>/);

  const added = await c.post('/console/mailboxes', { address: 'temp@example.com', password: 'temp-password-1', back: '/console' });
  assert.equal(added.status, 303);
  const confirm = await c.get('/console/mailboxes/temp%40example.com/remove');
  assert.match(confirm.text, /<h1>Remove temp@example\.com\?<\/h1>/);
  assert.match(confirm.text, /<button type="submit" class="danger" aria-describedby="confirm-what">Remove temp@example\.com<\/button>/);
  assert.match(
    (await c.post('/console/mailboxes/temp%40example.com/remove', {})).text,
    /<h1>Remove temp@example\.com\?<\/h1>/,
    'a POST without the confirmation only asks',
  );
  const gone = await c.post('/console/mailboxes/temp%40example.com/remove', { confirm: 'yes' });
  assert.equal(gone.status, 303);
  assert.equal(gone.headers.location, '/console');
  assert.equal((await c.get('/console/mailboxes/temp%40example.com')).status, 404);
});

test("a customer adds a mailbox from its overview (password generated, shown once); an address at another customer's domain is refused", async () => {
  const c = await signedIn({ token: acmeToken });
  const home = await c.get('/console');
  assert.match(home.text, /<form method="post" action="\/console\/mailboxes">/);
  assert.match(home.text, /At one of: example.com, shop.example.com/);
  const added = await c.post('/console/mailboxes', { address: 'dave@example.com', password: '', back: '/console' });
  assert.equal(added.status, 200, added.text.slice(0, 300));
  const pw = secretOf(added.text)!;
  assert.ok(pw && pw.length >= 12, 'the generated password is shown');
  assert.equal((await s.server.store.mailboxes.get('dave@example.com'))!.customerName, 'acme');
  assert.doesNotMatch((await c.get('/console')).text, new RegExp(pw), 'shown once only');
  const refused = await postAndFollow(c, '/console/mailboxes', {
    address: 'mole@example.org',
    password: 'mole-secret-1',
    back: '/console',
  });
  assert.match(flashOf(refused.text) ?? '', /domain example.org is not hosted here/);
  assert.equal(await s.server.store.mailboxes.get('mole@example.org'), null);
  await s.admin.removeMailbox('dave@example.com');
});

test("suppressions: a customer adds and lifts its own; the operator sees every customer's with a filter", async () => {
  const c = await signedIn({ token: acmeToken });
  await c.get('/console/suppressions');
  let pg = await postAndFollow(c, '/console/suppressions', {
    address: 'gone@remote.test',
    days: '10',
    reason: 'left the company',
    back: '/console/suppressions',
  });
  assert.match(flashOf(pg.text)!, /^Mail of acme to gone@remote\.test is refused until \d{4}-\d\d-\d\d\.$/);
  assert.match(pg.text, /<td>gone@remote\.test<\/td><td>left the company<\/td><td>operator<\/td>/);

  const op = await signedIn({ token: opToken });
  const all = await op.get('/console/suppressions');
  assert.match(all.text, /gone@remote\.test/);
  assert.match(all.text, /secret-victim@remote\.test/);
  const filtered = await op.get('/console/suppressions?customer=acme');
  assert.match(filtered.text, /gone@remote\.test/);
  assert.doesNotMatch(filtered.text, /secret-victim/);

  const askSup = await c.post('/console/suppressions/remove', {
    customer: 'acme',
    address: 'gone@remote.test',
    back: '/console/suppressions',
  });
  assert.match(askSup.text, /<h1>Remove gone@remote\.test from the suppression list\?<\/h1>/);
  assert.equal((await s.admin.listSuppressions({ customer: 'acme' })).length, 1, 'not before the confirmation');
  pg = await postAndFollow(c, '/console/suppressions/remove', {
    customer: 'acme',
    address: 'gone@remote.test',
    back: '/console/suppressions',
    confirm: 'yes',
  });
  assert.equal(flashOf(pg.text), 'Mail of acme to gone@remote.test is accepted again.');
  assert.doesNotMatch(pg.text, /<td>gone@remote\.test<\/td>/);
  assert.deepEqual(await s.admin.listSuppressions({ customer: 'acme' }), []);
});

test("webhooks: a customer adds an endpoint (secret shown once), sends a test, and the delivery log shows it delivered with the receiver's status code", async () => {
  const c = await signedIn({ token: acmeToken });
  await c.get('/console/webhooks');
  const a = await c.post('/console/webhooks', { url: rx.url, 'event-delivered': '1', 'event-bounced': '1' });
  assert.equal(a.status, 200);
  const secret = secretOf(a.text);
  assert.match(String(secret), /^whsec_|^[A-Za-z0-9_-]{20,}/);
  const id = /Endpoint (wh_[A-Za-z0-9_-]+) added/.exec(a.text)![1]!;
  const [hook] = await s.admin.listWebhooks('acme');
  assert.equal(hook!.id, id);
  assert.deepEqual(hook!.events, ['delivered', 'bounced']);

  const pg = await postAndFollow(c, `/console/webhooks/${id}/test`, {});
  assert.match(flashOf(pg.text)!, /^A test event \(evt_[0-9a-f]+\) is queued/);
  await until(() => rx.received.length > 0, 10_000, 'the ping arrives');
  assert.equal(rx.received[0]!.json.type, 'ping');
  let log = '';
  await until(
    async () => /<span class="state ok">delivered<\/span>/.test((log = (await c.get(`/console/webhooks/${id}`)).text)),
    10_000,
    'the log shows it delivered',
  );
  assert.match(log, /<td>ping<\/td><td><span class="state ok">delivered<\/span><\/td><td>1<\/td><td>200<\/td>/);
  const overall = await c.get('/console/webhooks');
  assert.match(
    overall.text,
    new RegExp(`<td>ping</td><td><a href="/console/webhooks/${id}">${id}</a></td><td><span class="state ok">delivered</span>`),
  );

  const rotated = await c.post(`/console/webhooks/${id}/rotate`, {});
  assert.equal(rotated.status, 200);
  assert.ok(secretOf(rotated.text) && secretOf(rotated.text) !== secret, 'a new secret, shown once');
  const off = await postAndFollow(c, `/console/webhooks/${id}/disable`, {});
  assert.match(off.text, /<span class="state ">disabled<\/span>|disabled/);
  assert.equal((await s.admin.getWebhook(id)).enabled, false);
});

test("a mailbox user sees its own domain's page only, and none of the management pages; a POST without the CSRF token changes nothing", async () => {
  const m = await signedIn({ login: 'alice@example.com', password: 'alice-secret-1' });
  const own = await m.get('/console/domains/example.com');
  assert.equal(own.status, 200);
  assert.match(own.text, /<h2>DNS records to publish<\/h2>/);
  for (const path of [
    '/console/domains/shop.example.com',
    '/console/domains/example.org',
    '/console/mailboxes/alice%40example.com',
    '/console/suppressions',
    '/console/webhooks',
    '/console/customers',
  ]) {
    assert.equal((await m.get(path)).status, 404, path);
  }

  const op = await signedIn({ token: opToken });
  const refused = await op.post('/console/customers', { name: 'forged', _csrf: 'x'.repeat(43) });
  assert.equal(refused.status, 403);
  assert.match(refused.text, /Form refused/);
  const none = await op.post('/console/suppressions', { customer: 'acme', address: 'forged@remote.test', _csrf: '' });
  assert.equal(none.status, 403);
  assert.equal(
    (await s.admin.listCustomers()).some((x) => x.name === 'forged'),
    false,
  );
  assert.deepEqual(await s.admin.listSuppressions({ customer: 'acme' }), []);
});

test('in Chromium: an operator finds a customer, adds a mailbox with the keyboard and labels, and reads the generated password once', async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await browserSignIn(page, s, { token: opToken });
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Customers' }).click();
    await page.getByLabel('Search by name, contact or domain').fill('example.org');
    await page.keyboard.press('Enter');
    await page
      .getByRole('table', { name: /Customers matching/ })
      .getByRole('link', { name: 'globex' })
      .click();
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Customer globex');
    await page.getByLabel('Address', { exact: true }).fill('web@example.org');
    await page.getByLabel('Password (leave empty to have one generated)').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter'); // the focused "Add the mailbox" button
    await page.getByRole('heading', { level: 1, name: 'Mailbox added' }).waitFor();
    const password = (await page.locator('code.secret').textContent())!;
    assert.match(password, /^[A-Za-z0-9]{12,}$/);
    assert.ok(!page.url().includes(password));
    assert.equal(await submitAs(s, { user: 'web@example.org', pass: password }), 'ok');
    await page.getByRole('link', { name: 'Go to web@example.org' }).click();
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Mailbox web@example.org');
    assert.ok(!(await page.content()).includes(password), 'not shown again');
    await context.close();
  } finally {
    await browser.close();
  }
});
