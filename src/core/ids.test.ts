import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newQueueId, isQueueId } from './ids.ts';

test('queue ids are 20 file-name-safe characters and pass isQueueId', () => {
  for (let i = 0; i < 200; i++) {
    const id = newQueueId();
    assert.equal(id.length, 20);
    assert.match(id, /^[0-9A-Za-z]{20}$/);
    assert.doesNotMatch(id, /[aeiouAEIOU]/, 'no vowels, so no words');
    assert.ok(isQueueId(id));
  }
  assert.equal(isQueueId('short'), false);
  assert.equal(isQueueId('../../../../etc/passwd'), false);
  assert.equal(isQueueId('0123456789012345678/'), false);
  assert.equal(isQueueId('01234567890123456789x'), false);
});

test('queue ids sort by time: string order equals creation-time order', () => {
  const base = Date.UTC(2026, 10, 27, 23, 35, 3);
  const times = [0, 1, 2, 48, 49, 50, 999, 1000, 60_000, 3_600_000, 86_400_000, 365 * 86_400_000].map((d) => base + d);
  const ids = times.map((t) => newQueueId(t));
  const sorted = [...ids].sort();
  assert.deepEqual(sorted, ids);
  // also across a wide range of epochs, including old and far-future times
  const epochs = [0, 1, 1_000_000, 1_700_000_000_000, Date.UTC(2100, 0, 1), Date.UTC(9999, 11, 31)];
  const eIds = epochs.map((t) => newQueueId(t));
  assert.deepEqual([...eIds].sort(), eIds);
  // randomised: many times, shuffled, sorted back
  const ts = Array.from({ length: 500 }, (_, i) => base + i * 7919);
  const byId = new Map(ts.map((t) => [newQueueId(t), t]));
  const order = [...byId.keys()].sort().map((id) => byId.get(id)!);
  assert.deepEqual(order, ts);
});

test('the time prefix is the same for the same millisecond and the ids still differ', () => {
  const t = Date.UTC(2026, 0, 1);
  const ids = new Set<string>();
  for (let i = 0; i < 10_000; i++) ids.add(newQueueId(t));
  assert.equal(ids.size, 10_000, 'unique within one millisecond');
  const prefixes = new Set([...ids].map((id) => id.slice(0, 9)));
  assert.equal(prefixes.size, 1);
});

test('ids made now are unique', () => {
  const ids = new Set<string>();
  for (let i = 0; i < 20_000; i++) ids.add(newQueueId());
  assert.equal(ids.size, 20_000);
});

test('clientKey: IPv4 as is (also mapped), IPv6 by its /64', async () => {
  const { clientKey } = await import('./hostport.ts');
  assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
});
