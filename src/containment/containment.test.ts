import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createContainment, networkOf, type ContainmentDeps } from './containment.ts';
import type { Store } from '../store/index.ts';

test('networkOf: /24 for IPv4 (also mapped), /48 for IPv6', () => {
  assert.equal(networkOf('192.0.2.77'), '192.0.2.0/24');
  assert.equal(networkOf('::ffff:198.51.100.9'), '198.51.100.0/24');
  assert.equal(networkOf('2001:db8:abcd:12::1'), '2001:db8:abcd::/48');
  assert.equal(networkOf('2001:db8::1'), '2001:db8:0::/48');
  assert.equal(networkOf('::1'), '0:0:0::/48');
});

test('observeMessage with containment off reads nothing from the store (it runs after every message)', async () => {
  let reads = 0;
  const store = {
    mailboxes: {
      get: async () => {
        reads++;
        return null;
      },
    },
  } as unknown as Store;
  const deps = (enabled: boolean): ContainmentDeps => ({
    store,
    clock: { now: () => 0 },
    logger: pino({ level: 'silent' }),
    notify: async () => undefined,
    config: { enabled } as ContainmentDeps['config'],
  });
  await createContainment(deps(false)).observeMessage('alice@example.com');
  assert.equal(reads, 0);
  await createContainment(deps(true)).observeMessage('alice@example.com');
  assert.equal(reads, 1, 'with containment on the mailbox is read');
});
