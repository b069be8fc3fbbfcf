/**
 * The customer's side of the console over real HTTPS with the console client: the message
 * search's one-box shortcut (recipient, sender, queue id, Message-ID), paging by the cursor,
 * a mailbox user seeing only what its own login sent, the customer's overview, password change
 * (wrong current refused and counted, the old password then dead over SMTP, the mailbox's
 * other sessions ended), a customer setting or generating a mailbox's password, and forms
 * without the session's CSRF token refused with nothing changed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import { createConsoleClient } from '../helpers/console.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';
import { PAGE_SIZE } from '../../src/admin/ui/pages/messages.ts';

const ZONE: FakeZone = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx1.remote.test' }] },
  'mx1.remote.test': { A: ['127.0.0.2'] },
  'example.com': { MX: [{ preference: 10, exchange: 'mx.example.com' }] },
  'mx.example.com': { A: ['127.0.0.4'] },
};
const MESSAGE_ID = '<shortcut-1@client.example>';

let lab: DeliveryLab;
let acmeToken: string;
let opToken: string;
let bouncedId: string;
let carolId: string;
let eveId: string;
const many: string[] = [];

const rows = (text: string) => (/<tbody>([\s\S]*?)<\/tbody>/.exec(text)?.[1] ?? '').split('<tr>').length - 1;
const unescapeHtml = (s: string) => s.replace(/&amp;/g, '&');

before(async () => {
  lab = await startDeliveryLab(ZONE);
  await lab.mx('127.0.0.2', { rcpt: (c) => (c.to === 'nobody@remote.test' ? { code: 550, text: '5.1.1 no such user here' } : 'accept') });
  await lab.mx('127.0.0.4', {});
  await lab.s.addMailbox('carol@example.com', 'carol-secret-1', 'acme');
  await lab.s.addMailbox('eve@beta.test', 'eve-secret-11', 'beta');
  acmeToken = (await lab.s.admin.addToken('acme-panel', { customer: 'acme' })).token;
  opToken = (await lab.s.admin.addToken('ops', { operator: true })).token;
  for (let i = 0; i < PAGE_SIZE + 2; i++) many.push(await lab.submit({ to: `reader${i}@remote.test`, subject: `Newsletter ${i}` }));
  bouncedId = await lab.submit({ to: 'nobody@remote.test', subject: 'Invoice 42', messageId: MESSAGE_ID });
  carolId = await lab.submitAs('carol@example.com', 'carol-secret-1', { to: 'friend@remote.test', subject: 'From carol' });
  eveId = await lab.submitAs('eve@beta.test', 'eve-secret-11', { to: 'partner@remote.test', subject: 'Beta secret plans' });
  await until(async () => (await lab.s.server.store.tracking.get(bouncedId))?.status === 'failed', 15_000, 'the bounce');
  await until(async () => (await lab.s.server.store.queue.count()) === 0, 20_000, 'an empty queue');
});
after(() => lab?.close());

test('the search box: an address as recipient, then as sender; a queue id; a Message-ID; nonsense explained', async () => {
  const c = createConsoleClient(lab.s);
  await c.signIn({ token: acmeToken });
  const recipient = await c.get('/console/messages?search=nobody%40remote.test');
  assert.match(recipient.text, /Showing messages whose recipient is <strong>nobody@remote\.test<\/strong>/);
  assert.match(recipient.text, /Invoice 42/);
  assert.equal(rows(recipient.text), 1);
  assert.match(recipient.text, /aria-describedby="q-search-help"/);
  const sender = await c.get('/console/messages?search=CAROL%40example.com');
  assert.match(
    sender.text,
    /Showing messages whose sender is <strong>carol@example\.com<\/strong>/,
    'nobody wrote to carol: read as the sender',
  );
  assert.match(sender.text, /From carol/);
  assert.equal(rows(sender.text), 1);
  const byId = await c.get(`/console/messages?search=${bouncedId}`);
  assert.match(byId.text, /whose queue id is/);
  assert.match(byId.text, /Invoice 42/);
  for (const typed of [MESSAGE_ID, 'shortcut-1@client.example']) {
    const a = await c.get(`/console/messages?search=${encodeURIComponent(typed)}`);
    assert.match(a.text, /whose Message-ID is <strong>&lt;shortcut-1@client\.example&gt;<\/strong>/, typed);
    assert.match(a.text, /Invoice 42/);
  }
  const none = await c.get('/console/messages?search=stranger%40remote.test');
  assert.match(none.text, /Nothing found for stranger@remote\.test as recipient, or as sender, or as Message-ID/);
  assert.match(none.text, /No message matches/);
  const nonsense = await c.get('/console/messages?search=example.com');
  assert.match(unescapeHtml(nonsense.text), /is not an address, a queue id or a Message-ID/);
  const bad = await c.get('/console/messages?since=2025-13-45');
  assert.equal(bad.status, 422);
  assert.match(bad.text, /role="alert">From must be an ISO 8601 date/);
  assert.match(bad.text, /<label for="q-search">/, 'the form is still there to correct it');
  const beta = await c.get(`/console/messages?search=${eveId}`);
  assert.doesNotMatch(beta.text, /Beta secret plans/, "another customer's queue id finds nothing");
});

test('paging: newest first, the cursor leads to older messages and back; no message twice', async () => {
  const c = createConsoleClient(lab.s);
  await c.signIn({ token: acmeToken });
  const first = await c.get('/console/messages?sender=alice%40example.com&status=delivered');
  assert.equal(rows(first.text), PAGE_SIZE);
  const newest = /<tbody>[\s\S]*?Newsletter (\d+)/.exec(first.text)![1];
  assert.equal(newest, String(PAGE_SIZE + 1), 'the newest first');
  const older = /<a href="([^"]+)" rel="next">Older messages<\/a>/.exec(first.text);
  assert.ok(older, 'a link to older messages');
  const url = unescapeHtml(older[1]!);
  assert.match(url, /sender=alice%40example\.com/);
  assert.match(url, /status=delivered/);
  const second = await c.get(url);
  assert.equal(rows(second.text), 2);
  assert.doesNotMatch(second.text, /rel="next"/, 'the last page');
  assert.match(second.text, />Newest messages<\/a>/);
  const seen = [...first.text.matchAll(/Newsletter (\d+)</g), ...second.text.matchAll(/Newsletter (\d+)</g)]
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  assert.deepEqual(seen, [...Array(PAGE_SIZE + 2).keys()]);
  // what the search box was read as fills its field (so paging and a refined search keep it)
  const searched = await c.get('/console/messages?search=alice%40example.com');
  assert.match(searched.text, /whose recipient is <strong>alice@example\.com/, 'the bounce of the invoice went to alice');
  assert.match(searched.text, /Undelivered Mail Returned to Sender/);
  assert.match(searched.text, /<input id="q-search" name="search" type="search" value=""/);
  assert.match(searched.text, /<input id="q-recipient" name="recipient" type="text" value="alice@example\.com">/);
});

test("a mailbox user sees only what its own login sent; another login's message is 404", async () => {
  const carol = createConsoleClient(lab.s);
  await carol.signIn({ login: 'carol@example.com', password: 'carol-secret-1' });
  const home = await carol.get('/console');
  assert.match(home.text, /<h1>Your mailbox<\/h1>/);
  assert.match(home.text, /From carol/);
  assert.doesNotMatch(home.text, /Newsletter|Invoice 42/);
  assert.match(home.text, /href="\/console\/domains\/example\.com"/);
  const list = await carol.get('/console/messages');
  assert.match(list.text, /<h1>Sent mail<\/h1>/);
  assert.equal(rows(list.text), 1);
  assert.match(list.text, /From carol/);
  for (const q of ['search=nobody%40remote.test', 'sender=alice%40example.com', `id=${bouncedId}`]) {
    assert.doesNotMatch((await carol.get(`/console/messages?${q}`)).text, /Invoice 42|Newsletter/, q);
  }
  const other = await carol.get(`/console/messages/${bouncedId}`);
  assert.equal(other.status, 404);
  assert.doesNotMatch(other.text, /Invoice 42|nobody@remote/);
  const own = await carol.get(`/console/messages/${carolId}`);
  assert.equal(own.status, 200);
  assert.match(own.text, /friend@remote\.test/);
  assert.match(own.text, /delivered/);
  const alice = createConsoleClient(lab.s);
  await alice.signIn({ login: 'alice@example.com', password: 'alice-secret-1' });
  assert.doesNotMatch((await alice.get('/console/messages?search=friend%40remote.test')).text, /From carol/);
  assert.equal((await alice.get(`/console/messages/${carolId}`)).status, 404);
  const page = await alice.get(`/console/messages/${bouncedId}`);
  assert.match(page.text, /the mailbox does not exist/);
  const dsn = (await lab.s.server.store.tracking.get(bouncedId))!.events.find((e) => e.type === 'bounced')!.ref!;
  assert.ok(page.text.includes(dsn), "the bounce's queue id is named");
  assert.ok(!page.text.includes(`href="/console/messages/${dsn}"`), "but not linked: that message is not her login's");
});

test("the customer's overview: its figures, bounces, domains, mailboxes; nothing of another customer", async () => {
  const c = createConsoleClient(lab.s);
  await c.signIn({ token: acmeToken });
  const a = await c.get('/console');
  assert.equal(a.status, 200);
  assert.match(a.text, /<h1>Overview of acme<\/h1>/);
  const accepted = Number(/<div class="figure">(\d+)<\/div><div>messages accepted<\/div>/.exec(a.text)?.[1]);
  const scope = { customerId: (await lab.s.server.store.customers.get('acme'))!.id, customerName: 'acme' };
  assert.equal(accepted, (await lab.s.admin.trackingSummary(Date.now() - 86_400_000, 5, scope)).events.accepted);
  assert.ok(accepted >= PAGE_SIZE + 4, `the newsletters, the invoice and carol's message at least: ${accepted}`);
  assert.match(a.text, /Who sent the most[\s\S]*alice@example\.com[\s\S]*carol@example\.com/);
  assert.match(a.text, /Invoice 42/);
  assert.match(a.text, /href="\/console\/domains\/example\.com"/);
  assert.match(a.text, /href="\/console\/mailboxes\/carol%40example\.com"/);
  assert.doesNotMatch(a.text, /beta\.test|eve@/);
  const op = createConsoleClient(lab.s);
  await op.signIn({ token: opToken });
  const all = await op.get('/console/messages?customer=beta');
  assert.match(all.text, /<h1>Find a message<\/h1>/);
  assert.match(all.text, /Beta secret plans/);
  assert.doesNotMatch(all.text, /Invoice 42/);
  const msg = await op.get(`/console/messages/${bouncedId}`);
  assert.match(msg.text, /<dt>Client address<\/dt><dd>127\.0\.0\.1<\/dd>/);
  const dsn = (await lab.s.server.store.tracking.get(bouncedId))!.events.find((e) => e.type === 'bounced')!.ref!;
  assert.ok(msg.text.includes(`href="/console/messages/${dsn}"`), 'the operator follows the bounce to its own page');
  assert.equal((await op.get(`/console/messages/${dsn}`)).status, 200);
});
