/** Conformance cases: tokens of the admin HTTP API (add, lookups, revoke, the once-a-minute touch). */
import assert from 'node:assert/strict';
import { conflict, seed, type Case } from './harness.ts';

export const apiTokenCases: Case[] = [
  {
    name: 'api tokens: add (operator and customer), get, byHash, list, name conflict',
    async run({ store }) {
      const { acme } = await seed(store);
      const op = await store.apiTokens.add({ name: 'panel', customerId: null, tokenHash: 'h-panel' });
      assert.deepEqual(op, {
        id: op.id,
        name: 'panel',
        customerId: null,
        customerName: null,
        customerStatus: null,
        createdAt: op.createdAt,
        lastUsedAt: null,
        revokedAt: null,
      });
      assert.equal(typeof op.id, 'number');
      assert.equal(typeof op.createdAt, 'number');
      const cu = await store.apiTokens.add({ name: 'acme-panel', customerId: acme.id, tokenHash: 'h-acme' });
      assert.equal(cu.customerId, acme.id);
      assert.equal(cu.customerName, 'acme');
      assert.deepEqual(await store.apiTokens.get('panel'), op);
      assert.deepEqual(await store.apiTokens.byHash('h-acme'), cu);
      assert.equal(await store.apiTokens.byHash('nope'), null);
      assert.equal(await store.apiTokens.get('nope'), null);
      assert.deepEqual(
        (await store.apiTokens.list()).map((t) => t.name),
        ['acme-panel', 'panel'],
      );
      await conflict(store.apiTokens.add({ name: 'panel', customerId: acme.id, tokenHash: 'h-other' }), /panel/);
      await assert.rejects(store.apiTokens.add({ name: 'panel2', customerId: null, tokenHash: 'h-panel' }), 'a token hash is unique');
      assert.equal((await store.apiTokens.list()).length, 2, 'the refusals stored nothing');
    },
  },
  {
    name: 'api tokens: revoke once (the token stays, found by hash, with revokedAt); the name stays taken',
    async run({ store }) {
      await store.apiTokens.add({ name: 'panel', customerId: null, tokenHash: 'h-panel' });
      assert.equal(await store.apiTokens.revoke('panel', 5_000), true);
      assert.equal(await store.apiTokens.revoke('panel', 6_000), false, 'already revoked');
      assert.equal(await store.apiTokens.revoke('nope', 6_000), false);
      assert.equal((await store.apiTokens.byHash('h-panel'))!.revokedAt, 5_000);
      await conflict(store.apiTokens.add({ name: 'panel', customerId: null, tokenHash: 'h-new' }), /panel/);
    },
  },
  {
    name: 'api tokens: touch writes the last use at most once per interval, seen from every node',
    async run({ store, open }) {
      const t = await store.apiTokens.add({ name: 'panel', customerId: null, tokenHash: 'h-panel' });
      assert.equal(await store.apiTokens.touch(t.id, 100_000, 60_000), true, 'never used: stamped');
      assert.equal(await store.apiTokens.touch(t.id, 130_000, 60_000), false, 'within the minute: not written');
      const other = await open();
      assert.equal((await other.apiTokens.get('panel'))!.lastUsedAt, 100_000);
      const [a, b] = await Promise.all([store.apiTokens.touch(t.id, 161_000, 60_000), other.apiTokens.touch(t.id, 161_500, 60_000)]);
      assert.equal(Number(a) + Number(b), 1, 'two nodes at once: one write');
      assert.ok([161_000, 161_500].includes((await store.apiTokens.get('panel'))!.lastUsedAt!));
      assert.equal(await store.apiTokens.touch(999_999, 500_000, 60_000), false, 'no such token');
    },
  },
];
