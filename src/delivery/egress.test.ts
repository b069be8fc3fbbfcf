import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEgressPool, hashSlot } from './egress.ts';

const pool = (select: 'hash' | 'round-robin', concurrency?: number) =>
  createEgressPool('a', { addresses: ['192.0.2.1', '192.0.2.2', '192.0.2.3', '2001:db8::1'], helo: 'a.example.net', select, concurrency });

test('hash: one destination domain always gets the same address of the target family; domains spread', () => {
  const p = pool('hash');
  const first = p.sourceFor('198.51.100.7', 'Example.COM');
  for (let i = 0; i < 5; i++) assert.equal(p.sourceFor('198.51.100.8', 'example.com'), first);
  assert.equal(first, ['192.0.2.1', '192.0.2.2', '192.0.2.3'][hashSlot('example.com', 3)]);
  const seen = new Set(Array.from({ length: 60 }, (_, i) => p.sourceFor('198.51.100.7', `d${i}.test`)));
  assert.equal(seen.size, 3, 'sixty domains use all three IPv4 addresses');
  assert.equal(p.sourceFor('2001:db8:1::25', 'example.com'), '2001:db8::1', 'an IPv6 target gets the IPv6 address');
});

test('round robin takes the addresses in turn, per family; a family the pool lacks gives null', () => {
  const p = pool('round-robin');
  assert.deepEqual(
    [1, 2, 3, 4].map(() => p.sourceFor('198.51.100.7', 'example.com')),
    ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.1'],
  );
  const v4only = createEgressPool('b', { addresses: ['192.0.2.9'], helo: 'b.example.net', select: 'round-robin' });
  assert.equal(v4only.sourceFor('2001:db8::25', 'example.com'), null);
  assert.equal(v4only.sourceFor('::ffff:198.51.100.7', 'example.com'), '192.0.2.9', 'an IPv4-mapped target is IPv4');
});

test('concurrency: the third attempt waits for a place; a deadline or an abort ends the wait with null', async () => {
  const p = pool('hash', 2);
  const a = await p.enter();
  const b = await p.enter();
  assert.ok(a && b);
  let third: (() => void) | null = null;
  const waiting = p.enter().then((r) => {
    third = r;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(third, null);
  assert.deepEqual(p.load(), { running: 2, waiting: 1 });
  a();
  a(); // a second release changes nothing
  await waiting;
  assert.ok(third);
  assert.deepEqual(p.load(), { running: 2, waiting: 0 });
  assert.equal(await p.enter({ deadline: Date.now() + 30 }), null, 'the deadline passed while waiting');
  const ac = new AbortController();
  const aborted = p.enter({ signal: ac.signal });
  ac.abort();
  assert.equal(await aborted, null);
  assert.deepEqual(p.load(), { running: 2, waiting: 0 }, 'given-up waiters leave the line');
  b();
  (third as unknown as () => void)();
  assert.deepEqual(p.load(), { running: 0, waiting: 0 });
});
