/**
 * Content scanning over real SMTP sessions with a scanner that answers what the test says (exact
 * scores): headers on top of what the MX receives, holds, refusals with a reference, the
 * failure policy, and a burst of spam from one mailbox putting it on hold with a notice.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';
import https from 'node:https';
import nodemailer from 'nodemailer';
import { apiPost, webPort } from '../helpers/api.ts';
import { until } from '../helpers/delivery-lab.ts';

/** The hold notice, once containment has queued it. */
const holdNotice = (s: TestServer) =>
  until(async () => (await s.server.store.queue.list({ sender: '' })).find((q) => q.listener === 'notice'), 5000, 'the hold notice');

let score = 0;
let fake: http.Server;
let fakeUrl = '';

before(async () => {
  fake = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ action: 'no action', score, required_score: 15, symbols: { FAKE_RULE: { score } } }));
    });
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
});
after(
  () =>
    new Promise<void>((r) => {
      fake.closeAllConnections();
      fake.close(() => r());
    }),
);

async function server(over: Record<string, unknown> = {}): Promise<TestServer> {
  const s = await startTestServer({
    scan: { enabled: true, url: fakeUrl, addHeaderScore: 6, holdScore: 10, rejectScore: 15, ...over },
    containment: { maxSpamPerHour: 3 },
    bounce: { postmaster: 'postmaster@provider.test' },
  } as never);
  await s.addMailbox('alice@example.com', 'alice-secret-1');
  await s.addMailbox('bob@example.com', 'bob-secret-111');
  return s;
}

const send = (s: TestServer, user = 'alice@example.com', pass = 'alice-secret-1') => submitAs(s, { user, pass, to: ['x@remote.test'] });

/** Submits a raw message as alice; resolves with the queue id. */
async function submitRaw(s: TestServer, raw: string): Promise<string> {
  const tr = nodemailer.createTransport({
    host: '127.0.0.1',
    port: s.port('submission'),
    requireTLS: true,
    auth: { user: 'alice@example.com', pass: 'alice-secret-1' },
    tls: { rejectUnauthorized: false },
  });
  try {
    const info = await tr.sendMail({ envelope: { from: 'alice@example.com', to: ['x@remote.test'] }, raw });
    return /queued as (\S+)/.exec(info.response)![1]!;
  } finally {
    tr.close();
  }
}

test('a clean message passes with the X-Spam headers on top; spam is held or refused with a reference the customer can quote', async () => {
  const s = await server();
  try {
    score = 1;
    const ok = await send(s);
    const id = /queued as (\S+)/.exec(ok)![1]!;
    const q = (await s.server.store.queue.list()).find((m) => m.id === id)!;
    assert.equal(q.state, 'queued');
    // a sender's own X-Spam fields are removed: only the scanner's go out
    score = 1;
    const forged = await submitRaw(
      s,
      'From: alice@example.com\r\nTo: x@remote.test\r\nX-Spam-Status: No, score=-100\r\nX-Spam-Score: -100\r\nSubject: s\r\n\r\nbody\r\n',
    );
    assert.doesNotMatch((await s.body(forged)).toString(), /^X-Spam/im);
    score = 11;
    const held = await send(s);
    assert.match(held, /^250 /);
    const hid = /queued as (\S+)/.exec(held)![1]!;
    assert.equal((await s.server.store.queue.get(hid))!.state, 'held');
    assert.equal((await s.server.store.queue.get(hid))!.holdReason, 'content');
    // releasing the mailbox does not send what the scanner held, unless asked to
    await assert.rejects(s.admin.releaseHold('alice@example.com'), /no held mail \(but spam held by the scanner: --include-spam\)/);
    assert.equal((await s.server.store.queue.get(hid))!.state, 'held');
    const all = await s.admin.releaseHold('alice@example.com', { includeSpam: true });
    assert.deepEqual([all.released, all.keptSpam], [1, 0]);
    assert.equal((await s.server.store.queue.get(hid))!.holdReason, null);
    score = 20;
    const refused = await send(s);
    assert.match(refused, /^550 5\.7\.1 Message refused as spam \(reference \S+\); quote this reference/);
    assert.doesNotMatch(refused, /FAKE_RULE/);
    const log = s.logs.find((l) => l.evt === 'scan' && l.score === 20);
    assert.deepEqual(log?.symbols, ['FAKE_RULE'], 'the rule names are in the log, for support');
  } finally {
    await s.close();
  }
});

test('sites are scanned too (the send API gets 403 with the same reply)', async () => {
  const s = await server();
  try {
    const { token } = await s.admin.addSite('shop', { customer: 'acme', sendAs: ['orders@example.com'] });
    score = 30;
    const r = await apiPost(s, { auth: { token }, body: { from: 'orders@example.com', to: 'x@remote.test', text: 'buy' } });
    assert.equal(r.status, 403);
    assert.equal(r.json.reason, 'content');
    assert.match(String(r.json.smtp), /^550 5\.7\.1 Message refused as spam/);
    assert.equal(s.logs.find((l) => l.evt === 'scan' && l.user === 'site:shop')?.score, 30);
  } finally {
    await s.close();
  }
});

test('a dead scanner: 451 4.7.0 by default, or accepted and logged when configured so', async () => {
  const strict = await server({ url: 'http://127.0.0.1:1', breakerFailures: 100 });
  try {
    assert.match(await send(strict), /^451 4\.7\.0 The content scanner is not available/);
    assert.equal(await strict.server.store.queue.count(), 0);
  } finally {
    await strict.close();
  }
  const lenient = await server({ url: 'http://127.0.0.1:1', onFailure: 'accept' });
  try {
    assert.match(await send(lenient), /^250 /);
    assert.ok(lenient.logs.some((l) => l.evt === 'scan' && l.result === 'bypass'));
    // every bypass is a metric too
    const text = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: webPort(lenient), path: '/metrics', rejectUnauthorized: false }, (res) => {
          let b = '';
          res.setEncoding('utf8').on('data', (d: string) => {
            b += d;
          });
          res.on('end', () => resolve(b));
        })
        .on('error', reject);
    });
    assert.match(text, /^postern_scan_messages_total\{result="bypassed"\} 1$/m);
    assert.match(text, /^postern_scan_messages_total\{result="failed"\} 1$/m);
  } finally {
    await lenient.close();
  }
});

test('a burst of spam from one mailbox puts it on hold and notifies; another mailbox keeps sending', async () => {
  const s = await server();
  try {
    score = 12;
    for (let i = 0; i < 2; i++) await send(s);
    assert.equal((await s.server.store.mailboxes.get('alice@example.com'))!.heldSince, null, 'two are not yet a burst');
    score = 20;
    await send(s); // refused, but it counts
    const m = await until(
      async () => {
        const x = (await s.server.store.mailboxes.get('alice@example.com'))!;
        return x.heldSince !== null ? x : null;
      },
      3000,
      'the mailbox on hold',
    );
    assert.match(m.holdReason!, /3 messages this hour held or refused as spam/);
    const notice = await holdNotice(s);
    assert.deepEqual(
      notice.recipients.map((r) => r.address),
      ['postmaster@provider.test'],
    );
    score = 1;
    assert.match(await send(s, 'bob@example.com', 'bob-secret-111'), /^250 /);
    assert.equal((await s.server.store.mailboxes.get('bob@example.com'))!.heldSince, null);
  } finally {
    await s.close();
  }
});

test('a burst of spam from one site puts the site on hold with a notice; its new mail is held; hold release site:NAME sends it on', async () => {
  const s = await server();
  try {
    const { token } = await s.admin.addSite('shop', { customer: 'acme', sendAs: ['orders@example.com'] });
    const { token: other } = await s.admin.addSite('blog', { customer: 'acme', sendAs: ['news@example.com'] });
    const post = (t: string, from: string) => apiPost(s, { auth: { token: t }, body: { from, to: 'x@remote.test', text: 'x' } });
    score = 20;
    for (let i = 0; i < 3; i++) assert.equal((await post(token, 'orders@example.com')).status, 403);
    const site = await until(
      async () => {
        const x = (await s.server.store.sites.get('shop'))!;
        return x.heldSince !== null ? x : null;
      },
      3000,
      'the site on hold',
    );
    assert.match(site.holdReason ?? '', /3 messages this hour held or refused as spam/);
    const notice = await holdNotice(s);
    assert.match((await s.body(notice.id)).toString(), /The site \(website\) shop \(customer acme\) was put on hold/);
    score = 1;
    const held = await post(token, 'orders@example.com');
    assert.equal(held.status, 202);
    assert.equal(held.json.status, 'held', "a held site's new mail waits for the postmaster");
    assert.equal((await post(other, 'news@example.com')).json.status, 'queued', 'another site of the customer keeps sending');
    const holds = await s.admin.listHolds();
    assert.deepEqual(
      holds.sites.map((x) => [x.site.name, x.heldMessages]),
      [['shop', 1]],
    );
    const r = await s.admin.releaseHold('site:shop');
    assert.deepEqual([r.site?.name, r.released], ['shop', 1]);
    assert.equal((await s.server.store.sites.get('shop'))!.heldSince, null);
    assert.equal((await post(token, 'orders@example.com')).json.status, 'queued');
  } finally {
    await s.close();
  }
});
