import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkOf } from './containment.ts';

test('networkOf: /24 for IPv4 (also mapped), /48 for IPv6', () => {
  assert.equal(networkOf('192.0.2.77'), '192.0.2.0/24');
  assert.equal(networkOf('::ffff:198.51.100.9'), '198.51.100.0/24');
  assert.equal(networkOf('2001:db8:abcd:12::1'), '2001:db8:abcd::/48');
  assert.equal(networkOf('2001:db8::1'), '2001:db8:0::/48');
  assert.equal(networkOf('::1'), '0:0:0::/48');
});
