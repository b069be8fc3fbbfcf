/**
 * The operator's console pages over real HTTPS: the dashboard's figures against known data and
 * against /metrics (every figure it shows is the value of the metric it names), the queue
 * browser's filters and actions (one message and the listed ones, deletion confirmed), holds
 * (purge asks first), bans and unlock; the tenant wall (a customer or mailbox session gets 404
 * on every operator page and action, and nothing changes) and CSRF refusals.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';
import { createConsoleClient } from '../helpers/console.ts';
import { httpsCall } from '../helpers/admin-api.ts';
import { webPort } from '../helpers/api.ts';
import { HOLD_AFTER_3_DOMAINS, holdMailbox } from '../helpers/held.ts';

const HOUR = 3_600_000;
let t = Math.floor(Date.now() / HOUR) * HOUR + 60_000;
const clock = { now: () => t };
let s: TestServer;
let opToken: string;
let acmeToken: string;
let heldId: string;

before(async () => {
  s = await startTestServer({ containment: HOLD_AFTER_3_DOMAINS, auth: { failureDelayMs: 0 } }, { clock });
  await s.addMailbox('alice@example.com', 'alice-secret-1', 'acme');
  await s.addMailbox('bob@other.example', 'bob-secret-111', 'other');
  await s.admin.clearLimit('mailbox', '*');
  heldId = await holdMailbox(s, 'alice@example.com', 'alice-secret-1');
  for (const to of ['x@y.test', 'z@w.test'])
    assert.match(await submitAs(s, { user: 'bob@other.example', pass: 'bob-secret-111', to: [to] }), /^250 /);
  assert.ok(await s.server.store.authGuard.recordIpFailure('192.0.2.7', t, 60_000, 1, HOUR), 'a ban');
  opToken = (await s.admin.addToken('ops', { operator: true })).token;
  acmeToken = (await s.admin.addToken('acme-panel', { customer: 'acme' })).token;
});
after(() => s?.close());

async function operator() {
  const c = createConsoleClient(s);
  await c.signIn({ token: opToken });
  return c;
}
const bobIds = async () => (await s.server.store.queue.list({ customer: 'other' })).map((m) => m.id).sort();
const unescapeHtml = (v: string) =>
  v
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

// ---- /metrics, parsed ----

function parse(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of `name{k="v",...}` in a scrape: the sum of its samples with those labels; undefined when the metric has none. */
function sampleValue(samples: ReturnType<typeof parse>, expr: string): number | undefined {
  const m = /^(\w+)(?:\{(.*)\})?$/.exec(expr)!;
  const want = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
  const hits = samples.filter((x) => x.name === m[1] && Object.entries(want).every(([k, v]) => x.labels[k] === v));
  return hits.length ? hits.reduce((a, x) => a + x.value, 0) : undefined;
}

test('the dashboard: queue, deliveries, top senders, holds, bans and abuse signals from known data; each figure is the value of the metric it names', async () => {
  const c = await operator();
  const d = await c.get('/console');
  assert.equal(d.status, 200);
  assert.match(d.text, /<h1>Dashboard<\/h1>/);
  const cards = [
    ...d.text.matchAll(
      /<span class="figure">([^<]+)<\/span><span class="caption">(?:<a href="[^"]*">)?([^<]+)(?:<\/a>)?<\/span><details class="metric"><summary>metric<span class="vh"> of [^<]+<\/span><\/summary><code>([^<]+)<\/code><\/details>/g,
    ),
  ].map((m) => ({ value: Number(m[1]), label: m[2]!, metric: unescapeHtml(m[3]!) }));
  const card = (label: string) => cards.find((x) => x.label === label)!.value;
  const depth = await s.server.store.queue.depth();
  const queue = await s.server.store.queue.list({ limit: 1000 });
  const held = queue.filter((m) => m.state === 'held').length;
  assert.ok(held >= 1);
  assert.equal(card('messages held'), held);
  assert.equal(card('messages waiting'), depth.messages.queued);
  assert.equal(card('messages waiting'), queue.length - held, 'everything else waits (delivery is off)');
  assert.equal(card('recipients deferred'), 0);
  assert.equal(
    card('accepted'),
    queue.filter((m) => m.authUser).length + queue.filter((m) => !m.authUser).length,
    'every message accepted this hour (notices too)',
  );
  assert.equal(card('delivered'), 0);
  assert.equal(card('mailboxes on hold'), 1);
  assert.equal(card('sites on hold'), 0);
  assert.equal(card('client addresses banned now'), 1);
  assert.ok(card('holds made') >= 2, 'the mailbox, and the message held after it');
  // top senders: alice 5 messages, bob 2, linked to the message search and the customer
  const alice = queue.filter((m) => m.authUser === 'alice@example.com').length;
  assert.equal(alice, 5);
  assert.match(
    d.text,
    new RegExp(
      `<a href="/console/messages\\?sender=alice%40example\\.com">alice@example\\.com</a></td><td><a href="/console/customers/acme">acme</a></td><td>5</td>`,
    ),
  );
  assert.match(
    d.text,
    /<a href="\/console\/messages\?sender=bob%40other\.example">bob@other\.example<\/a><\/td><td><a href="\/console\/customers\/other">other<\/a><\/td><td>2<\/td>/,
  );
  assert.ok(d.text.indexOf('>alice@example.com</a>') < d.text.indexOf('>bob@other.example</a>'), 'most first');
  // held and banned, and the recent signals with their reasons
  assert.match(d.text, /On hold: alice@example\.com\. <a href="\/console\/holds">Review the holds<\/a>/);
  assert.match(
    d.text,
    /mailbox on hold<\/td><td>alice@example\.com<\/td><td><a href="\/console\/customers\/acme">acme<\/a><\/td><td>4 recipient domains this hour/,
  );
  assert.match(d.text, /address banned<\/td><td>192\.0\.2\.7<\/td>/);
  assert.match(d.text, /Mailboxes locked by failed logins are not listed/);

  // Prometheus scrapes every figure the dashboard shows, under the name the dashboard gives
  const m = await httpsCall(webPort(s), 'GET', '/metrics', {});
  assert.equal(m.status, 200);
  const samples = parse(m.text);
  assert.ok(cards.length >= 17, `cards: ${cards.length}`);
  for (const x of cards) assert.equal(sampleValue(samples, x.metric) ?? 0, x.value, `${x.label}: ${x.metric}`);
  assert.equal(sampleValue(samples, 'postern_top_sender_messages{sender="alice@example.com"}'), 5);
  assert.equal(sampleValue(samples, 'postern_top_sender_messages{sender="bob@other.example"}'), 2);
  assert.match(m.text, /^postern_held_mailboxes 1$/m);
  assert.match(m.text, /^postern_bans_active 1$/m);
});

test('queue browser: filters as a GET form, each message with its recipients, customer and actions', async () => {
  const c = await operator();
  const all = await c.get('/console/queue');
  assert.equal(all.status, 200);
  assert.match(all.text, /<form class="filters" method="get" action="\/console\/queue">/);
  for (const [id, label] of [
    ['q-state', 'State'],
    ['q-domain', 'Recipient domain'],
    ['q-customer', 'Customer'],
    ['q-site', 'Site'],
    ['q-limit', 'At most'],
  ]) {
    assert.match(all.text, new RegExp(`<label for="${id}">${label.replace(/[()]/g, '\\$&')}</label>`));
  }
  assert.match(all.text, /<caption>Messages in the queue<\/caption>/);
  assert.match(
    all.text,
    new RegExp(
      `<a class="id" id="m-${heldId}" href="/console/messages/${heldId}" title="${heldId}"><span aria-hidden="true">${heldId!.slice(0, 4)}…${heldId!.slice(-6)}</span><span class="vh">${heldId}</span></a>`,
    ),
    'the id shortened, whole on hover and for screen readers',
  );
  const other = await c.get('/console/queue?customer=other');
  for (const id of await bobIds()) assert.match(other.text, new RegExp(`href="/console/messages/${id}"`));
  assert.doesNotMatch(other.text, new RegExp(heldId), "another customer's message is filtered out");
  assert.match(other.text, /x@y\.test <span class="state ">queued<\/span>|x@y\.test <span class="state[^"]*">queued<\/span>/);
  assert.match(other.text, /<a href="\/console\/customers\/other">other<\/a>/);
  assert.match(other.text, /Retry now<\/button>/);
  assert.match(other.text, /Delete and bounce…<\/button>/, 'a destructive action says it asks first (…)');
  const heldOnly = await c.get('/console/queue?state=held');
  assert.match(heldOnly.text, new RegExp(heldId));
  assert.match(
    heldOnly.text,
    /<span class="state warn">held<\/span> <span class="muted">\(sender\)<\/span>|<span class="state warn">held<\/span>/,
  );
  assert.match(heldOnly.text, />Release<\/button>/);
  assert.doesNotMatch(heldOnly.text, /bob@other\.example/);
  const byDomain = await c.get('/console/queue?domain=w.test');
  assert.equal((byDomain.text.match(/href="\/console\/messages\//g) ?? []).length, 1);
  const bad = await c.get('/console/queue?state=lost&limit=5');
  assert.equal(bad.status, 200);
  assert.match(bad.text, /role="alert">--state must be one of queued, deferred, delivered, failed, held: lost</);
  assert.match(bad.text, /<option value="">any<\/option>/, 'the form is still there to fix it');
  const unknown = await c.get('/console/queue?customer=nobody');
  assert.match(unknown.text, /role="alert">no customer named nobody/);
});

test('queue actions on one message: hold, release, retry, delete with a bounce, delete; back to the same filtered list', async () => {
  const c = await operator();
  const [a, b] = await bobIds();
  const back = '/console/queue?customer=other';
  await c.get(back);
  let r = await c.post(`/console/queue/${a}/hold`, { back });
  assert.equal(r.status, 303);
  assert.equal(r.headers.location, back);
  assert.equal((await s.server.store.queue.get(a!))!.state, 'held');
  assert.match((await c.get(back)).text, new RegExp(`role="status">Message ${a} is held\\.`));
  r = await c.post(`/console/queue/${a}/hold`, { back });
  assert.match((await c.get(String(r.headers.location))).text, new RegExp(`class="flash error" role="alert">message ${a} is already held`));
  await c.post(`/console/queue/${a}/release`, { back });
  assert.equal((await s.server.store.queue.get(a!))!.state, 'queued');
  r = await c.post(`/console/queue/${a}/retry`, { back });
  assert.match(
    (await c.get(back)).text,
    new RegExp(`Message ${a}: 0 recipients due now \\(none was waiting: each is due already, in an attempt or final\\)\\.`),
  );
  t -= 60_000; // its next attempt (the release's now) is a minute away
  r = await c.post(`/console/queue/${a}/retry`, { back });
  t += 60_000;
  assert.match((await c.get(back)).text, new RegExp(`Message ${a}: 1 recipient due now\\.`));
  // deleting asks first: what will happen, to how many, with Cancel focused; nothing changes until confirmed
  const askBounce = await c.post(`/console/queue/${a}/delete`, { back, bounce: '1' });
  assert.equal(askBounce.status, 200);
  assert.match(askBounce.text, new RegExp(`<h1>Delete and bounce message ${a}\\?</h1>`));
  assert.match(
    askBounce.text,
    /its 1 recipient not yet delivered is never tried again and is reported to bob@other\.example in a bounce\. This cannot be undone\./,
  );
  assert.match(
    askBounce.text,
    /<a class="button" href="[^"]+" autofocus>Cancel<\/a>\s*<button type="submit" class="danger" aria-describedby="confirm-what">Delete and bounce 1 recipient<\/button>/,
  );
  assert.match(askBounce.text, /name="bounce" value="1"><input type="hidden" name="confirm" value="yes">/);
  assert.equal((await s.server.store.queue.get(a!))!.state, 'queued', 'not before the confirmation');
  r = await c.post(`/console/queue/${a}/delete`, { back, bounce: '1', confirm: 'yes' });
  assert.equal((await s.server.store.queue.get(a!))!.state, 'cancelled');
  assert.match((await c.get(back)).text, new RegExp(`Message ${a} is cancelled: 1 recipient will be bounced to bob@other\\.example\\.`));
  const ask = await c.post(`/console/queue/${b}/delete`, { back });
  assert.match(ask.text, new RegExp(`<h1>Delete message ${b}\\?</h1>`));
  assert.match(ask.text, /\(1 message, 1 recipient not yet delivered\) is deleted at once with its body; nobody is told\./);
  assert.ok(await s.server.store.queue.get(b!), 'not before the confirmation');
  r = await c.post(`/console/queue/${b}/delete`, { back, confirm: 'yes' });
  assert.equal(r.headers.location, back);
  assert.equal(await s.server.store.queue.get(b!), null);
  assert.match((await c.get(back)).text, new RegExp(`Message ${b} is deleted\\.`));
  r = await c.post('/console/queue/NOSUCHMESSAGE0000000/release', { back });
  assert.match((await c.get(back)).text, /role="alert">no message NOSUCHMESSAGE0000000 in the queue/);
  // a back URL to another site is not followed
  r = await c.post(`/console/queue/${a}/retry`, { back: 'https://evil.test/' });
  assert.equal(r.headers.location, '/console');
  await s.admin.deleteMessage(a!, { removeBody: async () => undefined });
});

test('queue actions on the listed messages: hold and release all; deleting them asks first', async () => {
  for (const to of ['p@q.test', 'r@q.test'])
    assert.match(await submitAs(s, { user: 'bob@other.example', pass: 'bob-secret-111', to: [to] }), /^250 /);
  const c = await operator();
  const back = '/console/queue?customer=other&domain=q.test';
  const list = await c.get(back);
  const ids = await bobIds();
  assert.equal(ids.length, 2);
  assert.match(list.text, new RegExp(`name="ids" value="(${ids.join(',')}|${[...ids].reverse().join(',')})"`));
  assert.match(list.text, /<label for="bulk-action">Do with the 2 messages listed<\/label>/);
  const idsField = /name="ids" value="([^"]+)"/.exec(list.text)![1]!;
  let r = await c.post('/console/queue/bulk', { ids: idsField, back, action: 'hold' });
  assert.equal(r.headers.location, back);
  for (const id of ids) assert.equal((await s.server.store.queue.get(id))!.state, 'held');
  assert.match((await c.get(back)).text, /Held 2 of 2 messages\./);
  await c.post('/console/queue/bulk', { ids: idsField, back, action: 'release' });
  for (const id of ids) assert.equal((await s.server.store.queue.get(id))!.state, 'queued');
  const ask = await c.post('/console/queue/bulk', { ids: idsField, back, action: 'delete' });
  assert.equal(ask.status, 200);
  assert.match(ask.text, /<h1>Delete 2 messages\?<\/h1>/);
  assert.match(ask.text, /<button type="submit" class="danger" aria-describedby="confirm-what">Delete 2 messages<\/button>/);
  assert.match(ask.text, new RegExp(`<a class="button" href="${back.replace(/[?]/g, '\\?').replace(/&/g, '&amp;')}" autofocus>Cancel</a>`));
  for (const id of ids) assert.ok(await s.server.store.queue.get(id), 'nothing deleted before the confirmation');
  r = await c.post('/console/queue/bulk', { ids: idsField, back, action: 'delete', confirm: 'yes' });
  assert.equal(r.headers.location, back);
  for (const id of ids) assert.equal(await s.server.store.queue.get(id), null);
  assert.match((await c.get(back)).text, /Deleted 2 of 2 messages\./);
});

test('holds: the held mailbox with why, since when and what it kept; purge asks "Purge N messages of X?" first', async () => {
  const c = await operator();
  const h = await c.get('/console/holds');
  assert.equal(h.status, 200);
  const kept = (await s.server.store.queue.list({ state: 'held', authUser: 'alice@example.com' })).length;
  assert.match(
    h.text,
    new RegExp(
      `<span id="h-m0">alice@example\\.com</span></td><td><a href="/console/customers/acme">acme</a></td><td>4 recipient domains this hour[^<]*</td><td><time datetime="[^"]+">[^<]+</time></td><td>${kept}</td><td>0</td>`,
    ),
  );
  assert.match(h.text, /<button type="submit" aria-describedby="h-m0">Release<\/button>/);
  assert.match(h.text, /No site is on hold\./);
  const ask = await c.post('/console/holds/purge', { target: 'alice@example.com' });
  assert.equal(ask.status, 200);
  assert.match(ask.text, new RegExp(`<h1>Purge ${kept} messages? of alice@example\\.com\\?</h1>`));
  assert.equal((await s.server.store.queue.list({ state: 'held', authUser: 'alice@example.com' })).length, kept, 'nothing purged yet');
  const r = await c.post('/console/holds/purge', { target: 'alice@example.com', confirm: 'yes' });
  assert.equal(r.headers.location, '/console/holds');
  assert.equal((await s.server.store.queue.list({ state: 'held', authUser: 'alice@example.com' })).length, 0);
  assert.equal(await s.server.store.queue.get(heldId), null);
  const after = await c.get('/console/holds');
  assert.match(after.text, new RegExp(`Purged ${kept} held messages? of alice@example\\.com; it stays on hold until released\\.`));
  assert.match(after.text, /<span id="h-m0">alice@example\.com<\/span>/, 'still on hold');
});

test('bans: the banned address with until when, unban; unlock a locked mailbox by its address', async () => {
  const c = await operator();
  const b = await c.get('/console/bans');
  assert.match(b.text, /<span id="ban-0" class="mono">192\.0\.2\.7<\/span>/);
  assert.match(b.text, /<caption>Client addresses banned now<\/caption>/);
  assert.match(b.text, /<time datetime="[^"]+">[^<]+<\/time> <span class="muted">\(in (59|60) min\)<\/span>/);
  assert.match(b.text, /Locked mailboxes are not listed here/);
  assert.match(
    b.text,
    /<label for="unlock-address">Mailbox address<\/label><input id="unlock-address" name="address" type="email" required>/,
  );
  // a CSRF-less unban is refused and changes nothing
  const refused = await c.post('/console/bans/unban', { ip: '192.0.2.7', _csrf: 'wrong' });
  assert.equal(refused.status, 403);
  assert.ok(await s.server.store.authGuard.banOf('192.0.2.7', t));
  const r = await c.post('/console/bans/unban', { ip: '192.0.2.7' });
  assert.equal(r.headers.location, '/console/bans');
  assert.equal(await s.server.store.authGuard.banOf('192.0.2.7', t), null);
  const after = await c.get('/console/bans');
  assert.match(after.text, /192\.0\.2\.7 is no longer banned\./);
  assert.match(after.text, /No client address is banned\./);
  const bob = (await s.server.store.mailboxes.get('bob@other.example'))!;
  await s.server.store.authGuard.recordFailure(bob.id, t, 1, HOUR);
  assert.ok((await s.server.store.authGuard.loginState(bob.id)).lockedUntil);
  await c.post('/console/bans/unlock', { address: 'Bob@Other.example' });
  assert.equal((await s.server.store.authGuard.loginState(bob.id)).lockedUntil, null);
  assert.match((await c.get('/console/bans')).text, /bob@other\.example is unlocked\./);
});

test('the tenant wall: a customer or mailbox session gets 404 on every operator page and action, and nothing changes', async () => {
  assert.match(await submitAs(s, { user: 'bob@other.example', pass: 'bob-secret-111', to: ['wall@q.test'] }), /^250 /);
  const [id] = await bobIds();
  assert.ok(await s.server.store.authGuard.recordIpFailure('192.0.2.8', t, 60_000, 1, HOUR));
  const audit = (await s.server.store.audit.list({ limit: 1000 })).length;
  const customer = createConsoleClient(s);
  await customer.signIn({ token: acmeToken });
  const mailbox = createConsoleClient(s);
  await mailbox.signIn({ login: 'bob@other.example', password: 'bob-secret-111' });
  for (const c of [customer, mailbox]) {
    for (const path of ['/console/queue', `/console/queue?customer=other`, '/console/holds', '/console/bans']) {
      const a = await c.get(path);
      assert.equal(a.status, 404, path);
      assert.match(a.text, /<h1>Not found<\/h1>/);
      assert.doesNotMatch(a.text, new RegExp(`${id}|192\\.0\\.2\\.8|alice@example\\.com`), `${path}: nothing of it shown`);
    }
    await c.get('/console');
    for (const [path, fields] of [
      [`/console/queue/${id}/delete`, { back: '/console/queue' }],
      [`/console/queue/${id}/delete`, { back: '/console/queue', confirm: 'yes' }],
      [`/console/queue/${id}/hold`, {}],
      ['/console/queue/bulk', { ids: id!, action: 'delete', confirm: 'yes' }],
      ['/console/holds/release', { target: 'alice@example.com' }],
      ['/console/holds/purge', { target: 'alice@example.com', confirm: 'yes' }],
      ['/console/bans/unban', { ip: '192.0.2.8' }],
      ['/console/bans/unlock', { address: 'alice@example.com' }],
    ] as const) {
      const a = await c.post(path, fields);
      assert.equal(a.status, 404, path);
    }
  }
  assert.equal((await s.server.store.queue.get(id!))!.state, 'queued');
  assert.ok(await s.server.store.authGuard.banOf('192.0.2.8', t));
  assert.ok((await s.server.store.mailboxes.get('alice@example.com'))!.heldSince);
  assert.equal((await s.server.store.audit.list({ limit: 1000 })).length, audit, 'no change was even tried');
});

test("CSRF: an operator's action without the token, with a wrong one, or from another origin is refused (403) and changes nothing", async () => {
  const [id] = await bobIds();
  const c = await operator();
  await c.get('/console/queue');
  for (const [fields, headers] of [
    [{ _csrf: '' }, {}],
    [{ _csrf: 'x'.repeat(43) }, {}],
    [{}, { origin: 'https://evil.test' }],
    [{}, { 'sec-fetch-site': 'cross-site' }],
  ] as const) {
    const a = await c.post(`/console/queue/${id}/delete`, { back: '/console/queue', confirm: 'yes', ...fields }, headers);
    assert.equal(a.status, 403);
    assert.match(a.text, /<h1>Form refused<\/h1>/);
  }
  const purge = await c.post('/console/holds/purge', { target: 'alice@example.com', confirm: 'yes', _csrf: 'nope' });
  assert.equal(purge.status, 403);
  assert.equal((await s.server.store.queue.get(id!))!.state, 'queued', 'still there');
  const ok = await c.post(`/console/queue/${id}/hold`, { back: '/console/queue' });
  assert.equal(ok.status, 303, "with the page's token it works");
  assert.equal((await s.server.store.queue.get(id!))!.state, 'held');
});
