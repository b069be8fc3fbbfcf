import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { createRequire } from 'node:module';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import type Tools from 'mailauth/lib/tools.js';
import { DkimSigner, relaxedHeaderField, signatureField, signingFields, SIGNED_FIELDS, type SigningKey } from './signer.ts';
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

const tools = createRequire(import.meta.url)('mailauth/lib/tools.js') as typeof Tools;
const at = () => Date.parse('2026-11-28T10:00:00Z');

/** Signs a message as intake feeds the signer: the header block, then the body in the given chunks. */
async function signed(
  message: string,
  cuts: number[] = [],
  keysFor: (d: string) => Promise<SigningKey[]> = async (d) => (d === 'shop.example' ? keys : []),
) {
  const s = new DkimSigner({ keysFor, now: at });
  const buf = Buffer.from(message);
  const end = buf.indexOf('\r\n\r\n');
  const bodyStart = end === -1 ? buf.length : end + 4;
  s.header(buf.subarray(0, bodyStart));
  let from = bodyStart;
  for (const cut of [...cuts, buf.length]) {
    s.body(buf.subarray(from, Math.max(from, bodyStart + cut)));
    from = Math.max(from, bodyStart + cut);
  }
  return { signatures: await s.signatures(), domain: s.domain, selectors: s.selectors() };
}

const verify = (raw: string) => dkimVerify(Buffer.from(raw), { resolver, curTime: new Date(at()) });

const message =
  'Received: from x\r\n\tby y; Sat, 28 Nov 2026 10:00:00 +0000\r\nFrom: Shop <orders@Shop.Example>\r\nTo: c@remote.test\r\nSubject: Order   42\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@shop.example>\r\n\r\nLine one  \r\n\r\nLine with 8-bit: \u00e9\r\n\r\n\r\n';

test('signs RSA and Ed25519 (relaxed/relaxed, From over-signed), the message passes unchanged, and both verify with mailauth', async () => {
  const r = await signed(message, [3, 10]);
  assert.equal(r.domain, 'shop.example');
  assert.deepEqual(r.selectors, ['shop.example/r20261128', 'shop.example/e20261128']);
  const sigs = r.signatures.split(/\r\n(?=DKIM-Signature:)/);
  assert.equal(sigs.length, 2);
  assert.match(
    r.signatures,
    /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=shop\.example;\r\n h=[^;]+; q=dns\/txt; s=r20261128;/,
  );
  for (const line of r.signatures.split('\r\n')) assert.ok(line.length <= 76, `folded: ${line}`);
  assert.match(r.signatures, /a=ed25519-sha256;/);
  const h = /h=([^;]+);/
    .exec(r.signatures.replace(/\r\n\s+/g, ''))![1]!
    .split(':')
    .map((x) => x.trim().toLowerCase());
  assert.equal(h.filter((x) => x === 'from').length, 2, 'From over-signed');
  assert.ok(!h.includes('received'));
  const v = await verify(r.signatures + message);
  assert.deepEqual(
    v.results.map((x) => [x.signingDomain, x.status.result]),
    [
      ['shop.example', 'pass'],
      ['shop.example', 'pass'],
    ],
  );
});

test('a second From added after signing breaks the signature (that is what over-signing is for)', async () => {
  const r = await signed(message);
  const forged = message.replace('To: ', 'From: ceo@bank.example\r\nTo: ');
  const v = await verify(r.signatures + forged);
  assert.ok(v.results.every((x) => x.status.result !== 'pass'));
});

test('no keys for the From domain, or no From: unsigned, passed through', async () => {
  const other = await signed(message.replace('Shop.Example', 'other.example'));
  assert.equal(other.signatures, '');
  assert.equal(other.domain, 'other.example');
  assert.deepEqual(other.selectors, []);
  const none = await signed('Subject: x\r\n\r\nbody\r\n');
  assert.equal(none.signatures, '');
  assert.equal(none.domain, null);
  // intake always ends the header with a blank line, also for a message without a body
  const headerOnly = await signed('From: a@shop.example\r\nSubject: x\r\n\r\n');
  const v = await verify(headerOnly.signatures + 'From: a@shop.example\r\nSubject: x\r\n\r\n');
  assert.equal(v.results[0]?.status.result, 'pass', 'a message without a body is signed too');
});

test('a From domain without keys: once the lookup says so, the body is no longer hashed', async () => {
  const s = new DkimSigner({ keysFor: async () => [], now: at });
  s.header(Buffer.from('From: a@other.example\r\n\r\n'));
  await new Promise((r) => setImmediate(r)); // the lookup has answered
  (s as unknown as { hasher: { update(): void } }).hasher.update = () => assert.fail('hashed a body nobody signs');
  s.body(Buffer.from('a long body\r\n'));
  assert.equal(await s.signatures(), '');
});

test('a key lookup that fails fails signatures(), not the header or the body', async () => {
  const s = new DkimSigner({ keysFor: async () => Promise.reject(new Error('store down')), now: at });
  s.header(Buffer.from('From: a@shop.example\r\n\r\n'));
  s.body(Buffer.from('x\r\n'));
  await assert.rejects(s.signatures(), /store down/);
});

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
}

/** A random header field: a name from the signed set (or another), values with runs of spaces
 *  and tabs, folds, 8-bit bytes (not 0xA0, \v or \f: see the next test). */
function randomField(r: () => number): string {
  const names = [...SIGNED_FIELDS, 'Received', 'X-Mailer', 'from', 'SUBJECT', 'Content-type'];
  const name = names[Math.floor(r() * names.length)]!;
  const alphabet = [
    'a',
    'Z',
    '0',
    ' ',
    '  ',
    '\t',
    ' \t ',
    ';',
    ':',
    '=',
    '<x@y.example>',
    '\u00e9',
    '\u00fc',
    '\u00ff',
    '"q"',
    '\r\n ',
    '\r\n\t',
  ];
  let value = '';
  for (let n = Math.floor(r() * 12); n > 0; n--) value += alphabet[Math.floor(r() * alphabet.length)];
  const pre = ['', ' ', '\t', '  '][Math.floor(r() * 4)];
  const post = ['', ' ', '\t '][Math.floor(r() * 3)];
  return `${name}${r() < 0.2 ? ' ' : ''}:${pre}${value.replace(/^\r\n[ \t]/, 'v')}${post}`;
}

test('relaxed header canonicalisation and the fields chosen agree with mailauth over random header blocks', () => {
  const r = rng(7);
  for (let i = 0; i < 400; i++) {
    const fields = Array.from({ length: 1 + Math.floor(r() * 10) }, () => randomField(r));
    for (const f of fields)
      assert.equal(relaxedHeaderField(f), tools.formatRelaxedLine(Buffer.from(f, 'latin1')).toString('latin1'), JSON.stringify(f));
    const block = Buffer.from(`${fields.join('\r\n')}\r\n\r\n`, 'latin1');
    const ours = signingFields(block).fields;
    const theirs = tools.getSigningHeaderLines(tools.parseHeaders(block).parsed, tools.defaultDKIMFieldNames);
    assert.deepEqual(
      ours.map((f) => f.name),
      theirs.keys ? theirs.keys.split(': ') : [],
    );
    assert.deepEqual(
      ours.map((f) => f.canonical),
      theirs.headers.map((h) => tools.formatRelaxedLine(h.line).toString('latin1')),
    );
  }
});

test('RFC 6376 section 3.4.2: only space and tab are whitespace (a UTF-8 byte 0xA0 stays), the example canonicalises as the RFC has it', () => {
  assert.equal(relaxedHeaderField('SUBJect: AbC'), 'subject:AbC');
  assert.equal(relaxedHeaderField('A: X\r\n'.replace('\r\n', '')), 'a:X');
  assert.equal(relaxedHeaderField('B : Y\t\r\n\tZ  '), 'b:Y Z');
  const utf8 = Buffer.from('Subject: voil\u00e0', 'utf8').toString('latin1'); // "à" is C3 A0
  assert.equal(relaxedHeaderField(utf8), Buffer.from('subject:voil\u00e0', 'utf8').toString('latin1'));
});

test('the signature field folds within 76 characters at allowed places; unfolded, it is the same field', () => {
  const tags = {
    before: [
      ['v', '1'],
      ['a', 'rsa-sha256'],
      ['c', 'relaxed/relaxed'],
      ['d', 'a-rather-long-subdomain.of-a-long-domain-name.example'],
    ] as [string, string][],
    after: [
      ['q', 'dns/txt'],
      ['s', 'r20261128'],
      ['t', '1796659868'],
    ] as [string, string][],
    names: [...SIGNED_FIELDS, 'From'],
    bh: 'x'.repeat(44),
  };
  const b = 'S'.repeat(344);
  const field = signatureField(tags, b);
  for (const line of field.split('\r\n')) assert.ok(line.length <= 76, line);
  // unfolded: a fold at a space between tags leaves that space; one inside h= or b= leaves folding whitespace, which both allow
  const flat = field.replace(/\r\n/g, '').replace(/(h=[^;]*|b=.*)/g, (m) => m.replace(/ /g, ''));
  assert.match(
    flat,
    /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=a-rather[^;]+; h=From:Sender:[^;]+:BIMI-Selector:From; q=dns\/txt; s=r20261128; t=1796659868; bh=x{44}; b=S{344}$/,
  );
  // what gets signed: the field with b= empty, as a verifier computes it from the field sent
  const verifierForm = relaxedHeaderField(field.replace(/([;:\s]+b=)[^;]+/, '$1'));
  assert.equal(relaxedHeaderField(signatureField(tags, '')), verifierForm);
});

test('an internationalised signing domain is written as its A-label; 8-bit header fields verify', async () => {
  const idn: SigningKey[] = [{ ...keys[0]!, domain: 'b\u00fccher.example' }];
  const s = new DkimSigner({ keysFor: async () => idn, now: at });
  s.header(Buffer.from('From: a@b\u00fccher.example\r\nSubject: voil\u00e0 \u00e9t\u00e9\r\n\r\n', 'utf8'));
  const sig = await s.signatures();
  assert.match(sig, /d=xn--bcher-kva\.example;/);
  assert.equal(s.domain, 'b\u00fccher.example');
  const raw = 'From: a@shop.example\r\nSubject: caf\u00e9 na\u00efve \u00fcber\r\nTo:  x@y.example \r\n\r\nbody\r\n';
  const one = new DkimSigner({ keysFor: async () => keys, now: at });
  const buf = Buffer.from(raw, 'utf8');
  const end = buf.indexOf('\r\n\r\n') + 4;
  one.header(buf.subarray(0, end));
  one.body(buf.subarray(end));
  const v = await dkimVerify(Buffer.concat([Buffer.from(await one.signatures()), buf]), { resolver, curTime: new Date(at()) });
  assert.deepEqual(
    v.results.map((x) => x.status.result),
    ['pass', 'pass'],
  );
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
