/**
 * DKIM end to end: keys made with the domain, records published in the tests' own DNS, mail
 * signed at intake and verified with mailauth on the copy a fake MX received through the whole
 * delivery path; a staged rotation in which every message verifies; unsigned mail logged.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import type { FakeMx } from '../helpers/fake-mx.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';
import { createDnsLookup, txtStrings } from '../../src/dkim/index.ts';
import { dkimAdminOptions } from '../../src/admin/dkim.ts';
import { createSecretBox, loadOrCreateKey } from '../../src/credentials/index.ts';
import { secretsKeyFile } from '../../src/config/index.ts';
import { apiPost } from '../helpers/api.ts';

const BASE: FakeZone = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx1.remote.test' }] },
  'mx1.remote.test': { A: ['127.0.0.2'] },
  'example.com': { MX: [{ preference: 10, exchange: 'mx.example.com' }] },
  'mx.example.com': { A: ['127.0.0.4'] },
};

let lab: DeliveryLab;
let mx: FakeMx;
let zone: FakeZone;
let now = Date.now();

/** Publishes the records `dkim show` gives (keeping what is there). */
async function publish(domain: string) {
  for (const k of await lab.s.admin.showDkim(domain)) zone[k.name] = { TXT: [txtStrings(k.value)] };
  lab.dns.setZone(zone);
}

async function verify(raw: Buffer) {
  const resolver = createDnsLookup({ servers: [lab.dns.address], timeoutMs: 500, tries: 1 });
  return dkimVerify(raw, { resolver: resolver as never });
}

before(async () => {
  zone = structuredClone(BASE);
  lab = await startDeliveryLab(
    zone,
    {},
    { dkim: { enabled: true, ed25519: true, autoActivate: false, keyCacheSeconds: 0, retireDays: 7 } },
  );
  mx = await lab.mx('127.0.0.2', {});
});
after(() => lab.close());

test('a new domain gets pending RSA and Ed25519 keys; dkim show gives the records; activate refuses until DNS shows them', async () => {
  const keys = await lab.s.admin.showDkim('example.com');
  assert.deepEqual(keys.map((k) => `${k.algorithm}:${k.state}`).sort(), ['ed25519-sha256:pending', 'rsa-sha256:pending']);
  const rsa = keys.find((k) => k.algorithm === 'rsa-sha256')!;
  assert.match(rsa.selector, /^r\d{8}$/);
  assert.match(rsa.zone, new RegExp(`^${rsa.selector}\\._domainkey\\.example\\.com\\. IN TXT "v=DKIM1; k=rsa; p=[^"]{200,}" "[^"]+"$`));
  await assert.rejects(lab.s.admin.activateDkim('example.com'), /is not published \(yet\)/);
  // pending keys do not sign
  const id = await lab.submit({ to: 'bob@remote.test', subject: 'before' });
  await until(() => mx.received.some((m) => m.data.toString().includes(id)), 5000, 'delivery');
  assert.doesNotMatch(mx.received.at(-1)!.data.toString(), /^DKIM-Signature:/m);
  assert.ok(
    lab.s.logs.some((l) => l.evt === 'queued' && l.qid === id && l.dkim === 'unsigned'),
    'logged as unsigned',
  );
  await publish('example.com');
  const r = await lab.s.admin.activateDkim('example.com');
  assert.equal(r.activated.length, 2);
  assert.equal(r.retiring.length, 0);
});

test('signed at intake; the copy the MX receives verifies (RSA and Ed25519) and aligns with From, through dot-stuffing, 8-bit, long headers and a spooled body', async () => {
  const cases = [
    { subject: 'dots', text: 'line one\r\n.\r\n..two dots\r\n.leading\r\nend' },
    { subject: `Long subject ${'word '.repeat(60)}`, text: 'body', headers: { 'X-Long': 'v'.repeat(500) } },
    {
      subject: '8-bit',
      envelope: { from: 'alice@example.com', to: ['bob@remote.test'] },
      raw: 'From: Alice <alice@example.com>\r\nTo: bob@remote.test\r\nSubject: =?utf-8?Q?Gr=C3=BC=C3=9Fe?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÜnïcödé body with 8-bit bytes: é ß ✓  \r\ntrailing spaces and\ttabs \t\r\n\r\n\r\n',
    },
    { subject: 'big', text: `${'0123456789abcdef'.repeat(20_000)}\r\n` },
  ];
  for (const c of cases) {
    const id = await lab.submit({ to: 'bob@remote.test', ...c });
    const got = await until(
      () => mx.received.find((m) => m.data.toString().includes(`id ${id}`)),
      8000,
      `delivery of ${c.subject.slice(0, 20)}`,
    );
    const raw = got.data;
    assert.match(raw.toString('latin1'), /^DKIM-Signature: v=1; a=rsa-sha256;[\s\S]*\r\nDKIM-Signature: v=1; a=ed25519-sha256;/);
    const v = await verify(raw);
    assert.deepEqual(
      v.results.map((x) => [x.signingDomain, x.status.result, x.status.aligned]),
      [
        ['example.com', 'pass', 'example.com'],
        ['example.com', 'pass', 'example.com'],
      ],
      c.subject.slice(0, 20),
    );
    const log = lab.s.logs.find((l) => l.evt === 'queued' && l.qid === id);
    assert.deepEqual(log?.dkim, [`example.com/${v.results[0]!.selector}`, `example.com/${v.results[1]!.selector}`], JSON.stringify(log));
  }
});

test('sites sign too (the send API), with the From domain', async () => {
  const { token } = await lab.s.admin.addSite('shop', { customer: 'acme', domain: ['example.com'] });
  const r = await apiPost(lab.s, {
    auth: { token },
    body: { from: 'orders@example.com', to: 'carol@remote.test', subject: 'order', text: 'thanks' },
  });
  assert.equal(r.status, 202);
  const got = await until(() => mx.received.find((m) => m.data.toString().includes(`id ${r.json.id as string}`)), 8000, 'delivery');
  assert.ok((await verify(got.data)).results.every((x) => x.status.result === 'pass'));
});

test('rotation: pending, active, retiring, retired; mail signed with the old key and with the new one both verify while both records are published', async () => {
  const rotated = await lab.s.admin.rotateDkim('example.com');
  assert.equal(rotated.length, 2);
  await assert.rejects(lab.s.admin.rotateDkim('example.com'), /already has a pending/);
  const oldId = await lab.submit({ to: 'bob@remote.test', subject: 'old key' });
  await publish('example.com'); // old records stay, new ones join
  const act = await lab.s.admin.activateDkim('example.com');
  assert.deepEqual(act.activated.map((k) => k.selector).sort(), rotated.map((k) => k.selector).sort());
  assert.equal(act.retiring.length, 2);
  const newId = await lab.submit({ to: 'bob@remote.test', subject: 'new key' });
  const oldMsg = await until(() => mx.received.find((m) => m.data.toString().includes(`id ${oldId}`)), 8000, 'old');
  const newMsg = await until(() => mx.received.find((m) => m.data.toString().includes(`id ${newId}`)), 8000, 'new');
  const selectors = (raw: Buffer) => [...raw.toString().matchAll(/ s=([^;]+);/g)].map((m) => m[1]);
  assert.deepEqual(selectors(newMsg.data).sort(), rotated.map((k) => k.selector).sort(), 'the new message is signed with the new keys');
  assert.notDeepEqual(selectors(oldMsg.data).sort(), selectors(newMsg.data).sort());
  for (const m of [oldMsg, newMsg]) assert.ok((await verify(m.data)).results.every((x) => x.status.result === 'pass'));

  // the timed step: after retireDays the retiring keys are retired, and dkim show drops them
  const secrets = () => createSecretBox(loadOrCreateKey(secretsKeyFile(lab.s.config)));
  const tickAt = (t: number) => dkimAdminOptions(lab.s.config, lab.s.server.store, secrets, () => t).service.tick();
  assert.deepEqual((await tickAt(Date.now() + 6 * 86_400_000)).retired, []);
  now = Date.now() + 7 * 86_400_000 + 1000;
  assert.equal((await tickAt(now)).retired.length, 2);
  const shown = await lab.s.admin.showDkim('example.com');
  assert.deepEqual(
    shown.map((k) => k.state),
    ['active', 'active'],
  );
  const audit = await lab.s.server.store.audit.list({ target: 'dkim:example.com' });
  assert.equal(audit.length, 0, 'the test admin has no actor: nothing audited (the CLI audits)');
});

test('automatic steps: a published pending key is activated, and an old active key starts a rotation', async () => {
  const secrets = () => createSecretBox(loadOrCreateKey(secretsKeyFile(lab.s.config)));
  const opts = (t: number, autoActivate: boolean, rotateDays: number) => {
    const o = dkimAdminOptions(
      { ...lab.s.config, dkim: { ...lab.s.config.dkim, autoActivate, rotateDays } },
      lab.s.server.store,
      secrets,
      () => t,
    );
    return o.service;
  };
  const later = Date.now() + 40 * 86_400_000;
  const r = await opts(later, false, 30).tick();
  assert.equal(r.rotated.length, 2, 'both algorithms are 30 days old: new pending keys');
  assert.deepEqual((await opts(later, true, 30).tick()).activated, [], 'not published: not activated');
  await publish('example.com');
  assert.equal((await opts(later, true, 30).tick()).activated.length, 2);
  assert.deepEqual((await lab.s.admin.showDkim('example.com')).map((k) => k.state).sort(), ['active', 'active', 'retiring', 'retiring']);
});
