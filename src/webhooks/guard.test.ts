import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createEndpointGuard, isPublicAddress, NOT_PUBLIC } from './guard.ts';
import { startFakeDns } from '../../test/helpers/fake-dns.ts';

const dns = await startFakeDns({
  'inside.test': { A: ['10.1.2.3'] },
  'mixed.test': { A: ['127.0.0.1', '192.168.7.7'] },
  'metadata.test': { A: ['169.254.169.254'] },
  'ula.test': { AAAA: ['fd00::5'] },
  'mapped.test': { AAAA: ['::ffff:127.0.0.1'] },
  'loop.test': { A: ['127.0.0.1'] },
  'public.test': { A: ['8.8.8.8'], AAAA: ['2a00:1450:4001::1'] },
});
after(() => dns.close());
const guard = (allowNetworks: string[] = []) =>
  createEndpointGuard({ allowNetworks, dns: { servers: [dns.address], timeoutMs: 500, tries: 1 } });

test('special-purpose addresses are not public; ordinary unicast addresses are', () => {
  for (const ip of [
    '127.0.0.1',
    '10.0.0.1',
    '172.16.5.5',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '192.0.2.1',
    '198.18.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd12::1',
    'ff02::1',
    '::ffff:10.0.0.1',
    '::ffff:127.0.0.1',
    '64:ff9b::a00:1',
    '2001:db8::1',
    '2002:a00:1::1',
  ]) {
    assert.equal(isPublicAddress(ip), false, ip);
  }
  for (const ip of ['8.8.8.8', '1.1.1.1', '2a00:1450:4001::1', '2606:4700::1111', '::ffff:8.8.8.8'])
    assert.equal(isPublicAddress(ip), true, ip);
});

test('a host that is or resolves to an inside address is refused with a customer-safe reason; the detail names it for the operator', async () => {
  const g = guard();
  for (const url of [
    'https://127.0.0.1:8443/api/v1/x',
    'https://[::1]/',
    'https://inside.test/hook',
    'https://metadata.test/',
    'https://ula.test/',
    'https://mapped.test/',
    'https://mixed.test/',
  ]) {
    const r = await g.check(url);
    assert.equal(r.ok, false, url);
    if (!r.ok) {
      assert.equal(r.reason, NOT_PUBLIC, url);
      assert.ok(r.detail.length > 0);
    }
  }
  const pub = await g.check('https://public.test/hook');
  assert.deepEqual(pub, { ok: true, address: '8.8.8.8', family: 4 });
  const none = await g.check('https://nowhere.test/');
  assert.equal(none.ok, false);
  if (!none.ok) assert.match(none.reason, /does not resolve/);
});

test('an allowed network lets its addresses through; every address of a name must pass', async () => {
  const g = guard(['127.0.0.1/32']);
  assert.deepEqual(await g.check('http://loop.test:8080/'), { ok: true, address: '127.0.0.1', family: 4 });
  assert.deepEqual(await g.check('http://127.0.0.1:8080/'), { ok: true, address: '127.0.0.1', family: 4 });
  const mixed = await g.check('https://mixed.test/');
  assert.equal(mixed.ok, false, 'one allowed address does not excuse another');
  if (!mixed.ok) assert.match(mixed.detail, /192\.168\.7\.7/);
});
