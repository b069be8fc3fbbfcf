import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createDane, usable, verifyDane, type TlsaRecord } from './dane.ts';
import { createSecureDns } from './secure-dns.ts';
import { makeChain, tlsaData } from '../../test/helpers/certs.ts';
import { startFakeDns } from '../../test/helpers/fake-dns.ts';

const good = makeChain('mx.dane.test');
const other = makeChain('mx.dane.test', { caName: 'Another CA' });
after(() => {
  for (const c of [good, other]) fs.rmSync(c.dir, { recursive: true, force: true });
});

const rec = (usage: number, selector: 0 | 1, matchingType: 0 | 1 | 2, cert = good.leaf): TlsaRecord => ({
  usage,
  selector,
  matchingType,
  data: tlsaData(cert, selector, matchingType),
});
const target = (records: TlsaRecord[], names = ['mx.dane.test']) => ({ host: 'mx.dane.test', records, names });
const chain = [good.leaf, good.ca];

test('DANE-EE: every selector and matching type of the leaf matches; another key does not; names and dates do not matter', () => {
  for (const s of [0, 1] as const)
    for (const m of [0, 1, 2] as const) {
      const r = verifyDane(target([rec(3, s, m)], ['not-the-name.test']), chain);
      assert.deepEqual(r, { ok: true, matched: `DANE-EE 3 ${s} ${m}` });
    }
  const r = verifyDane(target([rec(3, 1, 1, other.leaf)]), chain);
  assert.equal(r.ok, false);
  assert.match((r as { why: string }).why, /no TLSA record of mx\.dane\.test matches the certificate chain \(3 1 1 [0-9a-f]{16}\.\.\.\)/);
  assert.equal(verifyDane(target([rec(3, 1, 1)]), chain, Date.parse('2100-01-01')).ok, true, 'an expired leaf still matches DANE-EE');
});

test('DANE-TA: the CA in the chain matches, the chain is checked, and the leaf must name the MX host', () => {
  assert.deepEqual(verifyDane(target([rec(2, 1, 1, good.ca)]), chain), { ok: true, matched: 'DANE-TA 2 1 1 (mx.dane.test)' });
  assert.deepEqual(verifyDane(target([rec(2, 0, 2, good.ca)]), chain), { ok: true, matched: 'DANE-TA 2 0 2 (mx.dane.test)' });
  const wrongName = verifyDane(target([rec(2, 1, 1, good.ca)], ['mx.elsewhere.test']), chain);
  assert.deepEqual(wrongName, { ok: false, why: 'the certificate names none of mx.elsewhere.test (DANE-TA)' });
  const forged = verifyDane(target([rec(2, 1, 1, good.ca)]), [other.leaf, good.ca]);
  assert.deepEqual(forged, { ok: false, why: 'certificate 0 is not signed by the next one in the chain (DANE-TA)' });
  const expired = verifyDane(target([rec(2, 1, 1, good.ca)]), chain, Date.parse('2100-01-01'));
  assert.deepEqual(expired, { ok: false, why: 'certificate 0 is outside its validity dates (DANE-TA)' });
  assert.equal(verifyDane(target([rec(2, 1, 1, good.leaf)]), chain).ok, false, 'a DANE-TA record of the leaf itself is no trust anchor');
  assert.equal(verifyDane(target([rec(2, 1, 1, good.ca)]), []).ok, false);
});

test('usable records: DANE-TA and DANE-EE with known selector and matching type; PKIX usages are ignored', () => {
  assert.deepEqual(
    [0, 1, 2, 3].map((u) => usable({ usage: u, selector: 1, matchingType: 1, data: Buffer.alloc(32) })),
    [false, false, true, true],
  );
  assert.equal(usable({ usage: 3, selector: 2, matchingType: 1, data: Buffer.alloc(32) }), false);
  assert.equal(usable({ usage: 3, selector: 1, matchingType: 3, data: Buffer.alloc(32) }), false);
});

test('TLSA lookups through a validating resolver: signed records are DANE, unsigned are none, only-PKIX is encrypt, SERVFAIL defers', async () => {
  const ee = { usage: 3, selector: 1, matchingType: 1, certificate: tlsaData(good.leaf, 1, 1) };
  const dns = await startFakeDns({
    '_25._tcp.signed.test': { TLSA: [ee, { usage: 1, selector: 1, matchingType: 1, certificate: Buffer.alloc(32) }], secure: true },
    '_25._tcp.unsigned.test': { TLSA: [ee] },
    '_25._tcp.pkix.test': { TLSA: [{ usage: 1, selector: 1, matchingType: 1, certificate: Buffer.alloc(32) }], secure: true },
    '_25._tcp.broken.test': { behavior: 'servfail' },
    'signed.test': { MX: [{ preference: 10, exchange: 'mx.signed.test' }], secure: true },
    'unsigned.test': { MX: [{ preference: 10, exchange: 'mx.unsigned.test' }] },
  });
  try {
    const dane = createDane(createSecureDns({ servers: [dns.address], timeoutMs: 300, tries: 1 }));
    const signed = await dane.tlsa('signed.test', 25);
    assert.equal(signed.kind, 'dane');
    assert.deepEqual(
      (signed as { records: TlsaRecord[] }).records.map((r) => [r.usage, r.data.equals(ee.certificate)]),
      [[3, true]],
      'the PKIX record is left out',
    );
    assert.deepEqual(await dane.tlsa('unsigned.test', 25), { kind: 'none', why: '_25._tcp.unsigned.test is not DNSSEC-signed' });
    assert.equal((await dane.tlsa('pkix.test', 25)).kind, 'encrypt');
    assert.deepEqual(await dane.tlsa('broken.test', 25), {
      kind: 'defer',
      why: 'the TLSA lookup of _25._tcp.broken.test failed (SERVFAIL)',
    });
    assert.equal((await dane.tlsa('nothing.test', 25)).kind, 'none');
    assert.deepEqual(await dane.secure('signed.test', 'MX'), { secure: true, failed: false });
    assert.deepEqual(await dane.secure('unsigned.test', 'MX'), { secure: false, failed: false });
  } finally {
    await dns.close();
  }
});
