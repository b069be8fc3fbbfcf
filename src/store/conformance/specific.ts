/**
 * What only one adapter does: SQLite keeps large bodies in spool files and announces only DKIM
 * changes of other processes (polled); PostgreSQL keeps every body in its row and announces
 * every kind of change (watch).
 */
import assert from 'node:assert/strict';
import { createSqliteStore } from '../sqlite/index.ts';
import type { ChangeTopic, Store } from '../types.ts';
import { bodyOf, message, seed, storeError, T0, type Case } from './harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every topic a store's watchers were told, in order. */
function watcher(s: Store) {
  const seen: ChangeTopic[] = [];
  const stop = s.watch((t) => seen.push(t));
  return {
    seen,
    stop,
    /** Resolves with the milliseconds it took until `topic` was seen; fails after `ms`. */
    async until(topic: ChangeTopic, ms: number): Promise<number> {
      const start = Date.now();
      while (!seen.includes(topic)) {
        if (Date.now() - start > ms) throw new Error(`'${topic}' was not seen within ${ms} ms (seen: ${seen.join(', ') || 'nothing'})`);
        await sleep(5);
      }
      return Date.now() - start;
    },
  };
}

/** Makes changes of `topic` through `s` until `w` hears one: its listener is live. */
async function listening(s: Store, w: ReturnType<typeof watcher>): Promise<void> {
  const end = Date.now() + 10_000;
  for (let i = 0; !w.seen.includes('routes'); i++) {
    if (Date.now() > end) throw new Error('the watcher never started hearing changes');
    await s.routes.set({ domain: `probe${i}.test`, host: 'h', port: 25, tls: 'none' });
    await sleep(50);
  }
  w.seen.length = 0;
}

export const specificCases: Case[] = [
  {
    name: 'a spool-file body (bodyPath): kept, listed by bodyPaths(), no inline copy, handed to delivery and back when finished',
    only: 'sqlite',
    async run({ store }) {
      assert.deepEqual(await store.queue.bodyPaths(), new Set());
      await store.queue.enqueueBatch([
        message('f1', { bodyPath: 'q/f1', body: null }),
        message('in1'),
        message('f2', { bodyPath: 'q/f2', body: null, createdAt: T0 + 1 }),
      ]);
      assert.deepEqual(await store.queue.bodyPaths(), new Set(['q/f1', 'q/f2']));
      assert.equal((await store.queue.get('f1'))!.bodyPath, 'q/f1');
      assert.equal(await store.queue.inlineBody('f1'), null, 'a file-backed body has no inline copy');
      assert.deepEqual(await store.queue.inlineBody('in1'), bodyOf('in1'));
      const jobs = await store.queue.claim({ owner: 'n', now: T0 + 10, leaseMs: 60_000, limit: 100 });
      const f1 = jobs.find((j) => j.message.id === 'f1')!;
      assert.equal(f1.message.bodyPath, 'q/f1');
      const r = await store.queue.record(
        f1.recipients.map((x) => ({
          messageId: 'f1',
          idx: x.idx,
          state: 'delivered' as const,
          nextAttemptAt: 0,
          at: T0 + 20,
          reply: '250 ok',
          category: 'ok',
          remoteHost: null,
          attempted: true,
          lease: f1.lease,
        })),
      );
      assert.deepEqual(r, { finished: [{ id: 'f1', bodyPath: 'q/f1' }] }, 'the caller removes the spool file');
      assert.deepEqual(await store.queue.bodyPaths(), new Set(['q/f2']));
      assert.equal((await store.queue.remove('f2'))!.bodyPath, 'q/f2');
      assert.deepEqual(await store.queue.bodyPaths(), new Set());
    },
  },
  {
    name: 'a message must have exactly one of body file and inline body',
    only: 'sqlite',
    async run({ store }) {
      await assert.rejects(store.queue.enqueueBatch([message('none', { bodyPath: null, body: null })]), /CHECK constraint/);
      await assert.rejects(store.queue.enqueueBatch([message('both', { bodyPath: 'q/both' })]), /CHECK constraint/);
      assert.equal(await store.queue.count(), 0);
    },
  },
  {
    name: 'an in-memory store (":memory:") sees its own queue writes',
    only: 'sqlite',
    async run() {
      const mem = createSqliteStore({ path: ':memory:' });
      try {
        await mem.queue.enqueueBatch([message('mem1')]);
        assert.equal(await mem.queue.count(), 1);
        assert.deepEqual(await mem.queue.inlineBody('mem1'), bodyOf('mem1'));
        assert.equal((await mem.queue.claim({ owner: 'n', now: T0, leaseMs: 1000, limit: 10 })).length, 1);
      } finally {
        await mem.close();
      }
    },
  },
  {
    name: 'watch: a DKIM key change through another store (the CLI) reaches the watcher within a second; other topics are not announced; it returns an unsubscribe',
    only: 'sqlite',
    async run({ store, open }) {
      const w = watcher(store);
      const other = await open();
      const { ex } = await seed(other);
      await other.mailboxes.setPassword('alice@example.com', 'h2');
      await store.mailboxes.setPassword('alice@example.com', 'h3');
      await other.routes.set({ domain: 'example.com', host: 'h', port: 25, tls: 'none' });
      await sleep(600);
      assert.deepEqual(w.seen, [], 'no trigger counts these topics: callers keep their time-bounded caches');
      const key = await other.dkim.add({
        domainId: ex.id,
        selector: 's1',
        algorithm: 'ed25519-sha256',
        privateKey: 'sealed',
        publicKey: 'pub',
        state: 'pending',
      });
      assert.ok((await w.until('dkim', 1000)) <= 1000);
      w.seen.length = 0;
      await other.dkim.promote(key.id, T0);
      await w.until('dkim', 1000);
      w.seen.length = 0;
      await store.dkim.setState(key.id, 'retiring', ['active'], T0 + 1);
      await w.until('dkim', 1000);
      assert.equal(typeof w.stop, 'function');
      w.stop();
      w.seen.length = 0;
      await other.dkim.setState(key.id, 'retired', ['retiring'], T0 + 2);
      await sleep(600);
      assert.deepEqual(w.seen, [], 'unsubscribed: nothing more');
    },
  },
  {
    name: 'a message with a spool-file body is refused (StoreError invalid); nothing of its batch is stored',
    only: 'postgres',
    async run({ store }) {
      await storeError(store.queue.enqueueBatch([message('ok1'), message('file', { bodyPath: 'q/file', body: null })]), 'invalid');
      await storeError(store.queue.enqueueBatch([message('both', { bodyPath: 'q/both' })]), 'invalid');
      assert.equal(await store.queue.count(), 0);
      assert.equal(await store.queue.get('ok1'), null);
      assert.deepEqual(await store.queue.bodyPaths(), new Set());
      await store.queue.enqueueBatch([message('ok2')]);
      assert.deepEqual(await store.queue.inlineBody('ok2'), bodyOf('ok2'), 'the store keeps working');
    },
  },
  {
    name: "watch: a password change through one store reaches another store's watcher within a second; another schema hears nothing",
    only: 'postgres',
    async run({ store: a, open, elsewhere }) {
      const b = await open();
      const c = await elsewhere();
      await seed(a);
      const wb = watcher(b);
      const wc = watcher(c);
      await listening(a, wb);
      await listening(c, wc);
      await a.mailboxes.setPassword('alice@example.com', 'h2');
      const ms = await wb.until('mailboxes', 1000);
      assert.ok(ms <= 1000, `seen after ${ms} ms`);
      await sleep(200);
      assert.deepEqual(wc.seen, [], 'a store of another schema is not told');
      // an unsubscribed watcher hears nothing more; another on the same store still does
      wb.stop();
      wb.seen.length = 0;
      const wb2 = watcher(b);
      await listening(a, wb2);
      await a.mailboxes.setPassword('alice@example.com', 'h3');
      await wb2.until('mailboxes', 1000);
      assert.deepEqual(wb.seen, [], 'unsubscribed');
    },
  },
  {
    name: 'watch: each kind of administrative change is announced under its topic',
    only: 'postgres',
    async run({ store: a, open }) {
      const b = await open();
      const { ex, alice } = await seed(a);
      const shop = await a.sites.add({ name: 'shop', customerId: alice.customerId, unixUser: null, tokenHash: 'h-shop' });
      const key = await a.dkim.add({
        domainId: ex.id,
        selector: 's1',
        algorithm: 'ed25519-sha256',
        privateKey: 'sealed',
        publicKey: 'pub',
        state: 'pending',
      });
      const w = watcher(b);
      await listening(a, w);
      const changes: [ChangeTopic, string, () => Promise<unknown>][] = [
        ['mailboxes', 'mailboxes.setStatus', () => a.mailboxes.setStatus('alice@example.com', 'suspended')],
        ['mailboxes', 'mailboxes.hold', () => a.mailboxes.hold(alice.id, 'suspected', T0)],
        ['mailboxes', 'mailboxes.unhold', () => a.mailboxes.unhold(alice.id, T0 + 1)],
        ['dkim', 'dkim.promote', () => a.dkim.promote(key.id, T0)],
        ['dkim', 'dkim.setState', () => a.dkim.setState(key.id, 'retiring', ['active'], T0 + 1)],
        ['sites', 'sites.hold', () => a.sites.hold(shop.id, 'spam', T0)],
        ['sites', 'sites.setTokenHash', () => a.sites.setTokenHash('shop', 'h-new')],
        ['routes', 'routes.remove', () => a.routes.remove('probe0.test')],
        [
          'limits',
          'limits.set',
          () => a.limits.set({ level: 'customer', target: 'acme', window: 'hour', metric: 'messages', max: 5, action: 'defer' }),
        ],
        ['bans', 'authGuard.recordIpFailure (a ban)', () => a.authGuard.recordIpFailure('203.0.113.1', T0, 60_000, 1, 60_000)],
        ['bans', 'authGuard.unban', () => a.authGuard.unban('203.0.113.1')],
      ];
      const missed: string[] = [];
      for (const [topic, what, change] of changes) {
        w.seen.length = 0;
        await change();
        await w.until(topic, 1000).catch(() => missed.push(`${what} -> ${topic}`));
      }
      assert.deepEqual(missed, [], 'changes whose topic was not announced within a second');
    },
  },
];
