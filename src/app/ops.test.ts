import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipAllowList } from './ops.ts';

test('the /metrics allow list: addresses and CIDR networks, IPv4-mapped clients match their IPv4 entry', () => {
  const allowed = ipAllowList(['127.0.0.0/8', '::1', '192.0.2.7', '2001:db8::/32']);
  for (const ip of ['127.0.0.1', '127.9.9.9', '::ffff:127.0.0.1', '::1', '192.0.2.7', '::ffff:192.0.2.7', '2001:db8:1::5'])
    assert.ok(allowed(ip), ip);
  for (const ip of ['192.0.2.8', '10.0.0.1', '::2', '2001:db9::1', '', undefined]) assert.ok(!allowed(ip), String(ip));
  assert.ok(!ipAllowList([])('127.0.0.1'), 'an empty list lets nobody in');
});
