import test from 'node:test';
import assert from 'node:assert/strict';
import { createCounter, createKnownNetworks } from './connections.ts';

test('per address and per network (/24, /64) caps; a known network is not held to the network cap', () => {
  const c = createCounter(2, 3);
  assert.equal(c.tryAcquire('192.0.2.1'), 'ok');
  assert.equal(c.tryAcquire('192.0.2.1'), 'ok');
  assert.equal(c.tryAcquire('192.0.2.1'), 'per-ip');
  assert.equal(c.tryAcquire('192.0.2.2'), 'ok');
  assert.equal(c.tryAcquire('192.0.2.3'), 'per-network', 'the /24 holds 3');
  assert.equal(c.tryAcquire('192.0.2.3', true), 'ok', 'reserved slot');
  assert.equal(c.tryAcquire('198.51.100.1'), 'ok', 'another network');
  c.release('192.0.2.1');
  assert.equal(c.tryAcquire('192.0.2.4'), 'per-network', 'still 3 in the /24 (one was a reserved one)');
  c.release('192.0.2.3');
  assert.equal(c.tryAcquire('192.0.2.4'), 'ok');
  assert.equal(c.tryAcquire('2001:db8:1:2::a'), 'ok');
  assert.equal(c.tryAcquire('2001:db8:1:2::b'), 'ok');
  assert.equal(c.tryAcquire('2001:db8:1:2::c'), 'ok');
  assert.equal(c.tryAcquire('2001:db8:1:2::d'), 'per-network', 'the /64 holds 3');
  c.release('203.0.113.9'); // never acquired: no effect
  assert.equal(c.count('203.0.113.9'), 0);
});

test('known networks: remembered by /24 for keepMs, oldest dropped beyond max', () => {
  const k = createKnownNetworks({ keepMs: 1000, max: 2 });
  k.remember('192.0.2.7', 0);
  assert.equal(k.isKnown('192.0.2.200', 500), true);
  assert.equal(k.isKnown('192.0.2.200', 1500), false);
  k.remember('198.51.100.1', 0);
  k.remember('203.0.113.1', 0);
  assert.equal(k.isKnown('192.0.2.7', 10), false, 'the oldest went');
  assert.equal(k.isKnown('203.0.113.1', 10), true);
});
