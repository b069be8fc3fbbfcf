import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  checkDomain,
  formatCheckReport,
  reverseName,
  suggestSpf,
  type CheckInput,
  type CheckItem,
  type CheckKey,
  type CheckReport,
} from './check.ts';
import { createDnsLookup, type DnsLookup } from './dns.ts';
import { dkimRecordValue, txtStrings, zoneQuoted } from './records.ts';
import { startFakeDns, type FakeDns, type FakeZone } from '../../test/helpers/fake-dns.ts';

const rsaPublic = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const edPublic = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');

const V4 = '192.0.2.10';
const V6 = '2001:db8::10';
const HELO = 'mail.example.test';
const D = 'example.test';
const PTR4 = '10.2.0.192.in-addr.arpa';
const PTR6 = '0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa';

const KEYS: CheckKey[] = [
  { selector: 'r1', algorithm: 'rsa-sha256', publicKey: rsaPublic, state: 'active' },
  { selector: 'e1', algorithm: 'ed25519-sha256', publicKey: edPublic, state: 'active' },
];

/** Everything right: the RSA record is split into strings of at most 255 characters. */
function goodZone(): FakeZone {
  return {
    [D]: { TXT: [`v=spf1 ip4:${V4} ip6:${V6} -all`, 'other=unrelated'], MX: [{ preference: 10, exchange: 'mx.example.test' }] },
    [`r1._domainkey.${D}`]: { TXT: [txtStrings(dkimRecordValue('rsa-sha256', rsaPublic))] },
    [`e1._domainkey.${D}`]: { TXT: [dkimRecordValue('ed25519-sha256', edPublic)] },
    [`_dmarc.${D}`]: { TXT: [`v=DMARC1; p=reject; rua=mailto:dmarc@${D}`] },
    [HELO]: { A: [V4], AAAA: [V6] },
    [PTR4]: { PTR: [HELO] },
    [PTR6]: { PTR: [HELO] },
  };
}

let dns: FakeDns;
let lookup: DnsLookup;

before(async () => {
  dns = await startFakeDns({});
  lookup = createDnsLookup({ servers: [dns.address], timeoutMs: 2000, tries: 1 }); // a loaded machine answers late; a timeout reads as "could not check" (warn)
});
after(() => dns.close());

async function check(zone: FakeZone, over: Partial<CheckInput> = {}): Promise<CheckReport> {
  dns.setZone(zone);
  return checkDomain({ domain: D, keys: KEYS, sendingIps: [V4, V6], heloName: HELO, lookup, ...over });
}

function item(r: CheckReport, id: string): CheckItem {
  const found = r.items.find((x) => x.id === id);
  assert.ok(found, `no item ${id} in ${r.items.map((x) => x.id).join(', ')}`);
  return found;
}

const statuses = (r: CheckReport) => Object.fromEntries(r.items.map((x) => [x.id, x.status]));

describe('checkDomain', () => {
  test('a good domain: every check ok (RSA split record + Ed25519, SPF pass, DMARC reject, MX, FCrDNS = HELO)', async () => {
    const r = await check(goodZone());
    assert.deepEqual(statuses(r), {
      'dkim:r1': 'ok',
      'dkim:e1': 'ok',
      spf: 'ok',
      dmarc: 'ok',
      mx: 'ok',
      [`ptr:${V4}`]: 'ok',
      [`ptr:${V6}`]: 'ok',
      helo: 'ok',
    });
    assert.equal(r.ok, true);
    assert.ok(rsaPublic.length > 255);
    assert.match(item(r, 'spf').detail!, /192\.0\.2\.10: pass/);
    assert.match(item(r, 'mx').summary, /10 mx\.example\.test/);
    assert.ok(r.items.every((x) => !x.publish));
  });

  test('missing DKIM record: fail with the record to publish; a pending key only warns', async () => {
    const zone = goodZone();
    delete zone[`r1._domainkey.${D}`];
    const pending: CheckKey = { selector: 'p1', algorithm: 'ed25519-sha256', publicKey: edPublic, state: 'pending' };
    const r = await check(zone, { keys: [...KEYS, pending] });
    const r1 = item(r, 'dkim:r1');
    assert.equal(r1.status, 'fail');
    assert.deepEqual(r1.publish, { name: `r1._domainkey.${D}`, type: 'TXT', value: dkimRecordValue('rsa-sha256', rsaPublic) });
    const p1 = item(r, 'dkim:p1');
    assert.equal(p1.status, 'warn');
    assert.match(p1.summary, /publish it before activating/);
    assert.equal(p1.publish?.value, dkimRecordValue('ed25519-sha256', edPublic));
    assert.equal(r.ok, false);
  });

  test('no DKIM key at all: one dkim item that says how to create one', async () => {
    const r = await check(goodZone(), { keys: [] });
    const dkim = item(r, 'dkim');
    assert.equal(dkim.status, 'fail');
    assert.match(dkim.summary, /postern dkim rotate example\.test/);
  });

  test('wrong key or wrong k=: fail, "does not match"', async () => {
    const zone = goodZone();
    zone[`r1._domainkey.${D}`] = { TXT: [txtStrings(dkimRecordValue('rsa-sha256', otherRsa))] };
    zone[`e1._domainkey.${D}`] = { TXT: [`v=DKIM1; k=rsa; p=${edPublic}`] };
    const r = await check(zone);
    const r1 = item(r, 'dkim:r1');
    assert.equal(r1.status, 'fail');
    assert.match(r1.summary, /does not match/);
    assert.equal(r1.publish?.value, dkimRecordValue('rsa-sha256', rsaPublic));
    const e1 = item(r, 'dkim:e1');
    assert.equal(e1.status, 'fail');
    assert.match(e1.summary, /k=rsa/);
  });

  test('SPF softfail: warn, mailauth result visible, suggestion adds the IPs before ~all', async () => {
    const zone = goodZone();
    zone[D] = { ...zone[D], TXT: ['v=spf1 ip4:192.0.2.99 ~all'] };
    const r = await check(zone);
    const spf = item(r, 'spf');
    assert.equal(spf.status, 'warn');
    assert.match(spf.detail!, /192\.0\.2\.10: softfail/);
    assert.match(spf.detail!, /2001:db8::10: softfail/);
    assert.equal(spf.publish?.value, `v=spf1 ip4:192.0.2.99 ip4:${V4} ip6:${V6} ~all`);
    assert.equal(r.ok, true);
  });

  test('SPF fail, missing and duplicate records', async () => {
    const zone = goodZone();
    zone[D] = { ...zone[D], TXT: ['v=spf1 -all'] };
    const fail = item(await check(zone), 'spf');
    assert.equal(fail.status, 'fail');
    assert.match(fail.detail!, /: fail/);
    zone[D] = { ...zone[D], TXT: [] };
    const none = item(await check(zone), 'spf');
    assert.equal(none.status, 'fail');
    assert.equal(none.publish?.value, `v=spf1 ip4:${V4} ip6:${V6} ~all`);
    zone[D] = { ...zone[D], TXT: ['v=spf1 -all', `v=spf1 ip4:${V4} -all`] };
    const two = item(await check(zone), 'spf');
    assert.equal(two.status, 'fail');
    assert.match(two.summary, /permerror/);
  });

  test('no sending IPs: SPF not evaluated, warn naming delivery.publicAddresses', async () => {
    const r = await check(goodZone(), { sendingIps: [] });
    const spf = item(r, 'spf');
    assert.equal(spf.status, 'warn');
    assert.match(spf.summary, /delivery\.publicAddresses/);
    assert.match(spf.summary, /v=spf1/);
    assert.equal(r.items.filter((x) => x.id.startsWith('ptr:')).length, 0);
  });

  test('no DMARC: fail with the p=none suggestion; p=none warns', async () => {
    const zone = goodZone();
    delete zone[`_dmarc.${D}`];
    const missing = item(await check(zone), 'dmarc');
    assert.equal(missing.status, 'fail');
    assert.deepEqual(missing.publish, { name: `_dmarc.${D}`, type: 'TXT', value: `v=DMARC1; p=none; rua=mailto:postmaster@${D}` });
    assert.match(missing.detail!, /monitoring start/);
    zone[`_dmarc.${D}`] = { TXT: ['v=DMARC1; p=none'] };
    const none = item(await check(zone), 'dmarc');
    assert.equal(none.status, 'warn');
    assert.match(none.summary, /p=none/);
    zone[`_dmarc.${D}`] = { TXT: ['v=DMARC1; rua=mailto:x@example.test'] };
    assert.equal(item(await check(zone), 'dmarc').status, 'fail');
  });

  test('MX missing or null MX: warn', async () => {
    const zone = goodZone();
    zone[D] = { ...zone[D], MX: [] };
    assert.equal(item(await check(zone), 'mx').status, 'warn');
    zone[D] = { ...zone[D], MX: [{ preference: 0, exchange: '.' }] };
    const nullMx = item(await check(zone), 'mx');
    assert.equal(nullMx.status, 'warn');
    assert.match(nullMx.summary, /null MX/);
  });

  test('PTR that resolves back but differs from HELO warns; one that does not resolve back fails', async () => {
    const zone = goodZone();
    zone[PTR4] = { PTR: ['host10.isp.test'] };
    zone['host10.isp.test'] = { A: [V4] };
    zone[PTR6] = { PTR: ['elsewhere.isp.test'] };
    zone['elsewhere.isp.test'] = { AAAA: ['2001:db8::99'] };
    const r = await check(zone);
    const v4 = item(r, `ptr:${V4}`);
    assert.equal(v4.status, 'warn');
    assert.match(v4.summary, /host10\.isp\.test.*differs/);
    const v6 = item(r, `ptr:${V6}`);
    assert.equal(v6.status, 'fail');
    assert.deepEqual(v6.publish, { name: PTR6, type: 'PTR', value: HELO });
    delete zone[PTR4];
    assert.equal(item(await check(zone), `ptr:${V4}`).status, 'fail');
  });

  test('HELO name that does not resolve to a sending IP: fail with an A record to publish', async () => {
    const zone = goodZone();
    zone[HELO] = { A: ['192.0.2.77'] };
    const helo = item(await check(zone), 'helo');
    assert.equal(helo.status, 'fail');
    assert.deepEqual(helo.publish, { name: HELO, type: 'A', value: V4 });
  });

  test('temporary DNS errors give "could not check" warnings, never ok', async () => {
    const zone = goodZone();
    zone[`r1._domainkey.${D}`] = { behavior: 'servfail' };
    zone[`_dmarc.${D}`] = { behavior: 'refused' };
    zone[HELO] = { behavior: 'timeout' };
    const r = await check(zone);
    for (const id of ['dkim:r1', 'dmarc', 'helo']) {
      assert.equal(item(r, id).status, 'warn', id);
      assert.match(item(r, id).summary, /^could not check: /, id);
    }
    assert.match(item(r, 'dkim:r1').summary, /ESERVFAIL/);
  });
});

describe('formatCheckReport', () => {
  test('shows each item and the exact record to publish, long TXT split into quoted strings', async () => {
    const zone = goodZone();
    delete zone[`r1._domainkey.${D}`];
    delete zone[PTR4];
    const text = formatCheckReport(await check(zone));
    const value = dkimRecordValue('rsa-sha256', rsaPublic);
    assert.ok(zoneQuoted(value).includes('" "'), 'the RSA value is split');
    assert.ok(text.includes(`r1._domainkey.${D}. IN TXT ${zoneQuoted(value)}`));
    assert.ok(text.includes(`${PTR4}. IN PTR ${HELO}.`));
    assert.match(text, /NOT ready/);
    assert.match(text, /\[FAIL\] dkim:r1: /);
    assert.match(text, /\[ok  \] dkim:e1: /);
  });
});

describe('helpers', () => {
  test('reverseName for IPv4 and IPv6', () => {
    assert.equal(reverseName(V4), PTR4);
    assert.equal(reverseName(V6), PTR6);
    assert.equal(reverseName('::ffff:192.0.2.1'), `1.0.2.0.0.0.0.c.f.f.f.f.${'0.'.repeat(20)}ip6.arpa`);
  });

  test('suggestSpf builds or extends a record', () => {
    assert.equal(suggestSpf(undefined, [V4, V6]), `v=spf1 ip4:${V4} ip6:${V6} ~all`);
    assert.equal(suggestSpf(`v=spf1 include:x.test ip4:${V4} -all`, [V4, V6]), `v=spf1 include:x.test ip4:${V4} ip6:${V6} -all`);
    assert.equal(suggestSpf('v=spf1 redirect=x.test', [V4]), `v=spf1 redirect=x.test ip4:${V4}`);
  });
});
