/** The records `postern domain dns` and the console's domain page list: every one, SPF included, with the reason when it is only advice. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { domainRecords, formatRecords, SPF_UNKNOWN } from './dns.ts';
import type { ClientSettings } from './settings.ts';

const clients = {
  webHost: 'mx.postern.test',
  webPort: 443,
  outgoing: [{ host: 'mx.postern.test', port: 587, security: 'STARTTLS' }],
} as unknown as ClientSettings;
const keys = [
  { selector: 'r20261207', algorithm: 'ed25519-sha256' as const, publicKey: 'MCowBQYDK2VwAyEA' + 'A'.repeat(44), state: 'active' },
];

test('with sending IPs: an SPF record naming them', () => {
  const r = domainRecords({ domain: 'shop.example', clients, keys, sendingIps: ['192.0.2.10'] });
  const spf = r.filter((x) => x.why.startsWith('SPF'));
  assert.deepEqual(
    spf.map((x) => [x.type, x.value]),
    [['TXT', '"v=spf1 ip4:192.0.2.10 ~all"']],
  );
});

test('without sending IPs: SPF is not dropped but listed as advice saying why (the config key to set)', () => {
  const r = domainRecords({ domain: 'shop.example', clients, keys, sendingIps: [] });
  const spf = r.filter((x) => x.why.startsWith('SPF'));
  assert.deepEqual(spf, [{ name: 'shop.example', type: 'NOTE', value: null, why: SPF_UNKNOWN }]);
  assert.match(SPF_UNKNOWN, /delivery\.publicAddresses/);
  assert.match(formatRecords(r), /^; SPF \(advisory\): no record suggested, because no sending IPs are configured/m);
  assert.deepEqual(
    r.map((x) => x.why.split(/[ :]/)[0]).filter((w) => ['SPF', 'DMARC', 'DKIM'].includes(w!)),
    ['DKIM', 'SPF', 'DMARC'],
    'every kind of record, in order',
  );
});
