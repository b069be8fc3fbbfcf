import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { DkimTap, type SigningKey } from './signer.ts';
import { generateDkimKey, newSelector, publicKeyOf } from './keys.ts';
import { dkimRecordValue, dkimRecordName, publishedKey, txtStrings, zoneQuoted } from './records.ts';

const rsa = generateDkimKey('rsa-sha256');
const ed = generateDkimKey('ed25519-sha256');
const keys: SigningKey[] = [
  { domain: 'shop.example', selector: 'r20261128', algorithm: 'rsa-sha256', privateKey: createPrivateKey(rsa.privateKeyPem) },
  { domain: 'shop.example', selector: 'e20261128', algorithm: 'ed25519-sha256', privateKey: createPrivateKey(ed.privateKeyPem) },
];
const records: Record<string, string[][]> = {
  [dkimRecordName('r20261128', 'shop.example')]: [txtStrings(dkimRecordValue('rsa-sha256', rsa.publicKey))],
  [dkimRecordName('e20261128', 'shop.example')]: [txtStrings(dkimRecordValue('ed25519-sha256', ed.publicKey))],
};
const resolver = async (name: string, type: string) => {
  if (type === 'TXT' && records[name]) return records[name];
  throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
};

/** Runs a message through the tap in the given chunks; returns what came out and the signatures. */
async function tap(chunks: string[], keysFor: (d: string) => Promise<SigningKey[]> = async (d) => (d === 'shop.example' ? keys : [])) {
  const t = new DkimTap({ keysFor, now: () => Date.parse('2026-11-28T10:00:00Z') });
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks.map((c) => Buffer.from(c))),
    t,
    new Writable({
      write(c, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  );
  return { passed: Buffer.concat(out).toString(), signatures: await t.signatures(), domain: t.domain };
}

const message =
  'Received: from x\r\n\tby y; Sat, 28 Nov 2026 10:00:00 +0000\r\nFrom: Shop <orders@Shop.Example>\r\nTo: c@remote.test\r\nSubject: Order   42\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@shop.example>\r\n\r\nLine one  \r\n\r\nLine with 8-bit: \u00e9\r\n\r\n\r\n';

test('signs RSA and Ed25519 (relaxed/relaxed, From over-signed), the message passes unchanged, and both verify with mailauth', async () => {
  const r = await tap([message.slice(0, 30), message.slice(30, 200), message.slice(200)]);
  assert.equal(r.passed, message);
  assert.equal(r.domain, 'shop.example');
  const sigs = r.signatures.split(/\r\n(?=DKIM-Signature:)/);
  assert.equal(sigs.length, 2);
  assert.match(r.signatures, /a=rsa-sha256; c=relaxed\/relaxed; d=shop\.example;\r\n h=[^;]+; q=dns\/txt; s=r20261128;/);
  assert.match(r.signatures, /a=ed25519-sha256;/);
  const h = /h=([^;]+);/
    .exec(r.signatures.replace(/\r\n\s+/g, ''))![1]!
    .split(':')
    .map((x) => x.trim().toLowerCase());
  assert.equal(h.filter((x) => x === 'from').length, 2, 'From over-signed');
  assert.ok(!h.includes('received'));
  const v = await dkimVerify(Buffer.from(r.signatures + message), { resolver, curTime: new Date('2026-11-28T10:00:00Z') });
  assert.deepEqual(
    v.results.map((x) => [x.signingDomain, x.status.result]),
    [
      ['shop.example', 'pass'],
      ['shop.example', 'pass'],
    ],
  );
});

test('a second From added after signing breaks the signature (that is what over-signing is for)', async () => {
  const r = await tap([message]);
  const forged = message.replace('To: ', 'From: ceo@bank.example\r\nTo: ');
  const v = await dkimVerify(Buffer.from(r.signatures + forged), { resolver, curTime: new Date('2026-11-28T10:00:00Z') });
  assert.ok(v.results.every((x) => x.status.result !== 'pass'));
});

test('no keys for the From domain, or no From: unsigned, passed through', async () => {
  const other = await tap([message.replace('Shop.Example', 'other.example')]);
  assert.equal(other.signatures, '');
  assert.equal(other.domain, 'other.example');
  const none = await tap(['Subject: x\r\n\r\nbody\r\n']);
  assert.equal(none.signatures, '');
  assert.equal(none.domain, null);
  // intake always ends the header with a blank line, also for a message without a body
  const headerOnly = await tap(['From: a@shop.example\r\nSubject: x\r\n\r\n']);
  const v = await dkimVerify(Buffer.from(headerOnly.signatures + 'From: a@shop.example\r\nSubject: x\r\n\r\n'), {
    resolver,
    curTime: new Date('2026-11-28T10:00:00Z'),
  });
  assert.equal(v.results[0]?.status.result, 'pass', 'a message without a body is signed too');
});

test('key helpers: selectors carry the date; p= values; records split into 255-character strings', () => {
  assert.equal(newSelector('rsa-sha256', Date.parse('2026-11-28T23:00:00Z'), []), 'r20261128');
  assert.equal(newSelector('rsa-sha256', Date.parse('2026-11-28T23:00:00Z'), ['r20261128']), 'r20261128b');
  assert.equal(newSelector('ed25519-sha256', Date.parse('2026-11-28T23:00:00Z'), ['r20261128']), 'e20261128');
  assert.equal(publicKeyOf(rsa.privateKeyPem), rsa.publicKey);
  assert.equal(Buffer.from(ed.publicKey, 'base64').length, 32, 'RFC 8463: the raw key');
  const value = dkimRecordValue('rsa-sha256', rsa.publicKey);
  const strings = txtStrings(value);
  assert.ok(strings.length >= 2 && strings.every((s) => s.length <= 255));
  assert.equal(strings.join(''), value);
  assert.match(zoneQuoted(value), /^"v=DKIM1; k=rsa; p=[^"]{200,}" "[^"]+"$/);
  assert.deepEqual(publishedKey(strings.join('')), { k: 'rsa', p: rsa.publicKey });
});
