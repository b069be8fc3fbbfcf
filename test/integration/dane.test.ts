/**
 * DANE end to end (RFC 7672): the test's own DNS server answers as a validating resolver on
 * loopback (AD bit on signed names), fake MX hosts present a private CA's chain. Matching
 * DANE-EE and DANE-TA records deliver; a mismatch and a DANE host without STARTTLS defer with a
 * reply that says so (queue show shows it); an unsigned zone falls back to opportunistic TLS;
 * delivery.daneDomains turns DANE off for one domain or requires it.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';
import { makeChain, tlsaData, type TestChain } from '../helpers/certs.ts';

let ee: TestChain;
let ta: TestChain;
let stranger: TestChain;
before(() => {
  ee = makeChain('mx.ee.test');
  ta = makeChain('mx.ta.test');
  stranger = makeChain('mx.ee.test', { caName: 'Stranger CA' });
});
after(() => {
  for (const c of [ee, ta, stranger]) fs.rmSync(c.dir, { recursive: true, force: true });
});

let lab: DeliveryLab | null = null;
afterEach(async () => {
  await lab?.close();
  lab = null;
});

const tlsa = (usage: number, cert: TestChain['leaf']) => ({ usage, selector: 1, matchingType: 1, certificate: tlsaData(cert, 1, 1) });

/** domain -> MX host on 127.0.0.N, signed or not, with TLSA records at the lab's MX port. */
function zone(port: number): FakeZone {
  const z: FakeZone = {};
  const add = (domain: string, ip: string, secure: boolean, records: ReturnType<typeof tlsa>[]) => {
    z[domain] = { MX: [{ preference: 10, exchange: `mx.${domain}` }], secure };
    z[`mx.${domain}`] = { A: [ip], secure };
    z[`_${port}._tcp.mx.${domain}`] = { TLSA: records, secure };
  };
  add('ee.test', '127.0.0.2', true, [tlsa(3, ee.leaf)]);
  add('ta.test', '127.0.0.3', true, [tlsa(2, ta.ca)]);
  add('bad.test', '127.0.0.4', true, [tlsa(3, stranger.leaf)]);
  add('notls.test', '127.0.0.5', true, [tlsa(3, ee.leaf)]);
  add('unsigned.test', '127.0.0.6', false, [tlsa(3, stranger.leaf)]);
  // a signed MX whose host's addresses are not validated: no TLSA lookup for that host
  add('insecurehost.test', '127.0.0.7', true, [tlsa(3, stranger.leaf)]);
  z['mx.insecurehost.test'] = { A: ['127.0.0.7'] };
  return z;
}

async function daneLab(extra: Record<string, unknown> = {}): Promise<DeliveryLab> {
  const l = await startDeliveryLab({}, extra, { dns: { validating: true } });
  l.dns.setZone(zone(l.port));
  return l;
}

const tlsMx = (l: DeliveryLab, host: string, chain: TestChain) =>
  l.mx(host, {}, { tls: true, server: { key: chain.key, cert: chain.chainPem } });

async function deferral(l: DeliveryLab, id: string): Promise<string> {
  const r = await until(
    async () => {
      const m = await l.s.server.store.queue.get(id);
      return m?.recipients[0]?.state === 'deferred' ? m.recipients[0] : null;
    },
    8000,
    'a deferral',
  );
  return String(r.lastReply);
}

test('DANE-EE and DANE-TA records that match deliver over TLS', async () => {
  lab = await daneLab();
  const eeMx = await tlsMx(lab, '127.0.0.2', ee);
  const taMx = await tlsMx(lab, '127.0.0.3', ta);
  await lab.submit({ to: 'x@ee.test' });
  await lab.submit({ to: 'y@ta.test' });
  await until(() => eeMx.received.length === 1 && taMx.received.length === 1, 8000, 'both delivered');
  assert.equal(eeMx.received[0]!.tls, true);
  assert.equal(taMx.received[0]!.tls, true);
  const logs = lab.s.logs.filter((l) => l.evt === 'attempt').map((l) => (l.log as string[]).join(' | '));
  assert.ok(
    logs.some((l) => /DANE: certificate matches DANE-EE 3 1 1/.test(l)),
    logs.join('\n'),
  );
  assert.ok(
    logs.some((l) => /DANE: certificate matches DANE-TA 2 1 1 \(mx\.ta\.test\)/.test(l)),
    logs.join('\n'),
  );
});

test('a certificate that matches no TLSA record defers with a DANE reply, shown by queue show and tracking; nothing is sent', async () => {
  lab = await daneLab();
  const mx = await tlsMx(lab, '127.0.0.4', ee);
  const id = await lab.submit({ to: 'x@bad.test' });
  const reply = await deferral(lab, id);
  assert.match(
    reply,
    /^451 4\.7\.5 DANE: mx\.bad\.test publishes DANE TLSA records, but no TLSA record of mx\.bad\.test matches the certificate chain \(3 1 1 /,
  );
  assert.equal(mx.received.length, 0);
  const shown = await lab.s.admin.showMessage(id);
  assert.match(JSON.stringify(shown), /DANE: mx\.bad\.test publishes DANE TLSA records/);
  const tracked = await lab.s.server.store.tracking.get(id);
  const ev = tracked?.events.find((e) => e.type === 'attempt-deferred');
  assert.match(
    String(ev?.reply),
    /^451 4\.7\.5 DANE: mx\.bad\.test publishes DANE TLSA records/,
    'message tracking shows the DANE deferral',
  );
  assert.equal(ev?.category, 'tls');
});

test('a DANE MX host without STARTTLS defers (never plaintext)', async () => {
  lab = await daneLab();
  const mx = await lab.mx('127.0.0.5', {});
  const id = await lab.submit({ to: 'x@notls.test' });
  assert.match(await deferral(lab, id), /^451 4\.7\.5 DANE: mx\.notls\.test publishes DANE TLSA records, but TLS failed: /);
  assert.equal(mx.received.length, 0);
});

test('an unsigned zone falls back to the usual policy: its (mismatching) TLSA records are not used', async () => {
  lab = await daneLab();
  const mx = await tlsMx(lab, '127.0.0.6', ee);
  await lab.submit({ to: 'x@unsigned.test' });
  await until(() => mx.received.length === 1, 8000, 'delivered');
});

test('a signed MX whose host has unvalidated addresses: the (mismatching) TLSA records are not used', async () => {
  lab = await daneLab();
  const mx = await tlsMx(lab, '127.0.0.7', ee);
  await lab.submit({ to: 'x@insecurehost.test' });
  await until(() => mx.received.length === 1, 8000, 'delivered');
  assert.ok(!lab.dns.queries.some((q) => q.name === `_${lab!.port}._tcp.mx.insecurehost.test`), 'no TLSA lookup for that host');
});

test('delivery.daneDomains: off delivers despite a mismatch; required defers a domain without TLSA records', async () => {
  lab = await daneLab({ daneDomains: { 'bad.test': 'off', 'unsigned.test': 'required' } });
  const bad = await tlsMx(lab, '127.0.0.4', ee);
  const unsigned = await tlsMx(lab, '127.0.0.6', ee);
  await lab.submit({ to: 'x@bad.test' });
  await until(() => bad.received.length === 1, 8000, 'delivered with DANE off');
  const id = await lab.submit({ to: 'x@unsigned.test' });
  assert.match(
    await deferral(lab, id),
    /^451 4\.7\.5 DANE is required for unsigned\.test \(delivery\.daneDomains\) but its MX records are not DNSSEC-validated/,
  );
  assert.equal(unsigned.received.length, 0);
});
