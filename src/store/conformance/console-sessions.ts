/** Conformance cases: the web console's sign-in sessions (add, get, the touch interval, sign-out, ending a subject's sessions, prune). */
import assert from 'node:assert/strict';
import type { Store } from '../types.ts';
import type { ConsoleSession } from '../../core/index.ts';
import { seed, type Case } from './harness.ts';

const MIN = 60_000;

const session = (idHash: string, over: Partial<Omit<ConsoleSession, 'customerName'>> = {}): Omit<ConsoleSession, 'customerName'> => ({
  idHash,
  via: 'mailbox',
  subject: 'alice@example.com',
  customerId: null,
  csrf: `csrf-${idHash}`,
  createdAt: 100_000,
  seenAt: 100_000,
  expiresAt: 100_000 + 12 * 60 * MIN,
  ...over,
});

/** Which of these hashes still have a session. */
const alive = async (store: Store, hashes: string[]) => {
  const found = await Promise.all(hashes.map((h) => store.consoleSessions.get(h)));
  return hashes.filter((_, i) => found[i] !== null);
};

export const consoleSessionCases: Case[] = [
  {
    name: "console sessions: add (operator and customer) and get with the customer's name; an expired one is still returned",
    async run({ store }) {
      const { acme } = await seed(store);
      const op = await store.consoleSessions.add(session('h-op', { via: 'token', subject: 'panel' }));
      assert.deepEqual(op, { ...session('h-op', { via: 'token', subject: 'panel' }), customerName: null });
      const cu = await store.consoleSessions.add(session('h-alice', { customerId: acme.id, expiresAt: 50_000 }));
      assert.deepEqual(cu, { ...session('h-alice', { customerId: acme.id, expiresAt: 50_000 }), customerName: 'acme' });
      assert.deepEqual(await store.consoleSessions.get('h-op'), op);
      assert.deepEqual(await store.consoleSessions.get('h-alice'), cu, 'past expiresAt: returned, the caller decides');
      assert.equal(await store.consoleSessions.get('nope'), null);
      await assert.rejects(store.consoleSessions.add(session('h-op')), 'a hash is one session');
      await assert.rejects(store.consoleSessions.add(session('h-ghost', { customerId: 999_999 })), 'a customer that does not exist');
      assert.equal(await store.consoleSessions.get('h-ghost'), null, 'the refusal stored nothing');
      assert.equal((await store.consoleSessions.get('h-op'))!.via, 'token', 'the first session is unchanged');
    },
  },
  {
    name: 'console sessions: touch stamps seenAt only when it is older than the interval, once when two nodes touch at once',
    async run({ store, open }) {
      await store.consoleSessions.add(session('h1', { seenAt: 100_000 }));
      assert.equal(await store.consoleSessions.touch('h1', 130_000, MIN), false, 'within the interval: not written');
      assert.equal(await store.consoleSessions.touch('h1', 100_000 + MIN, MIN), false, 'exactly the interval: not older, not written');
      assert.equal((await store.consoleSessions.get('h1'))!.seenAt, 100_000);
      assert.equal(await store.consoleSessions.touch('h1', 100_001 + MIN, MIN), true);
      const other = await open();
      assert.equal((await other.consoleSessions.get('h1'))!.seenAt, 100_001 + MIN, 'seen from another node');
      assert.equal(await store.consoleSessions.touch('h1', 50_000, 0), false, 'a clock behind never moves seenAt back');
      const t = 100_001 + 3 * MIN;
      const [a, b] = await Promise.all([store.consoleSessions.touch('h1', t, MIN), other.consoleSessions.touch('h1', t + 500, MIN)]);
      assert.equal(Number(a) + Number(b), 1, 'two nodes at once: one write');
      assert.ok([t, t + 500].includes((await store.consoleSessions.get('h1'))!.seenAt));
      const s = (await store.consoleSessions.get('h1'))!;
      assert.deepEqual([s.createdAt, s.expiresAt], [100_000, 100_000 + 12 * 60 * MIN], 'touch changes seenAt only');
      assert.equal(await store.consoleSessions.touch('nope', 900_000, MIN), false, 'no such session');
    },
  },
  {
    name: "console sessions: remove ends one session; removeSubject ends a subject's sessions (of that kind) except the one kept",
    async run({ store }) {
      const { acme } = await seed(store);
      for (const h of ['m1', 'm2', 'm3']) await store.consoleSessions.add(session(h, { customerId: acme.id }));
      await store.consoleSessions.add(session('t1', { via: 'token', subject: 'alice@example.com' }));
      await store.consoleSessions.add(session('bob', { subject: 'bob@example.com', customerId: acme.id }));
      await store.consoleSessions.add(session('case', { subject: 'Alice@example.com', customerId: acme.id }));
      const all = ['m1', 'm2', 'm3', 't1', 'bob', 'case'];
      assert.equal(await store.consoleSessions.remove('m3'), true);
      assert.equal(await store.consoleSessions.remove('m3'), false, 'already ended');
      assert.equal(await store.consoleSessions.remove('nope'), false);
      await store.consoleSessions.add(session('m3', { customerId: acme.id }));
      assert.equal(
        await store.consoleSessions.removeSubject('mailbox', 'alice@example.com', 'm1'),
        2,
        'the password changed in m1: the others end',
      );
      assert.deepEqual(await alive(store, all), ['m1', 't1', 'bob', 'case'], 'a token of the same name and other subjects stay');
      assert.equal(
        await store.consoleSessions.removeSubject('mailbox', 'alice@example.com', 'not-a-session'),
        1,
        'a keepHash that is no session keeps nothing',
      );
      assert.equal(await store.consoleSessions.removeSubject('mailbox', 'alice@example.com'), 0, 'none left');
      assert.equal(await store.consoleSessions.removeSubject('token', 'alice@example.com'), 1, 'a revoked token: all of its sessions');
      assert.deepEqual(await alive(store, all), ['bob', 'case']);
    },
  },
  {
    name: 'console sessions: prune deletes the expired (expiresAt <= now) and the idle (seenAt < idleBefore), nothing else',
    async run({ store }) {
      const now = 10_000_000;
      const idleBefore = now - 30 * MIN;
      await store.consoleSessions.add(session('expired', { seenAt: now, expiresAt: now }));
      await store.consoleSessions.add(session('last-ms', { seenAt: now, expiresAt: now + 1 }));
      await store.consoleSessions.add(session('idle', { seenAt: idleBefore - 1, expiresAt: now + MIN }));
      await store.consoleSessions.add(session('just-idle', { seenAt: idleBefore, expiresAt: now + MIN }));
      await store.consoleSessions.add(session('both', { seenAt: 0, expiresAt: 1 }));
      assert.equal(await store.consoleSessions.prune(now, idleBefore), 3);
      assert.deepEqual(await alive(store, ['expired', 'last-ms', 'idle', 'just-idle', 'both']), ['last-ms', 'just-idle']);
      assert.equal(await store.consoleSessions.prune(now, idleBefore), 0, 'nothing left to prune');
    },
  },
];
