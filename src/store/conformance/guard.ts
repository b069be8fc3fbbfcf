/** Conformance cases: the auth guard (locks, known networks, bans), limits, audit, activity, routes. */
import assert from 'node:assert/strict';
import type { LimitRule } from '../../limits/index.ts';
import { HOUR, hourOf, jobOf, message, result, seed, sorted, T0, type Case } from './harness.ts';

const DEFAULT_LIMITS: LimitRule[] = [
  { level: 'mailbox', target: '*', window: 'hour', metric: 'recipients', max: 1000, action: 'hold' },
  { level: 'mailbox', target: '*', window: 'day', metric: 'recipients', max: 5000, action: 'hold' },
  { level: 'site', target: '*', window: 'hour', metric: 'recipients', max: 1000, action: 'hold' },
  { level: 'site', target: '*', window: 'day', metric: 'recipients', max: 5000, action: 'hold' },
];

export const guardCases: Case[] = [
  {
    name: 'auth guard: failures lock at the limit and start again; the address window is fixed and exact at its edge',
    async run({ store }) {
      const { alice } = await seed(store);
      const g = store.authGuard;
      assert.deepEqual(await g.loginState(alice.id), { failures: 0, lockedUntil: null });
      for (let i = 1; i < 3; i++) assert.deepEqual(await g.recordFailure(alice.id, 1000, 3, 60_000), { failures: i, lockedUntil: null });
      assert.deepEqual(await g.recordFailure(alice.id, 1000, 3, 60_000), { failures: 0, lockedUntil: 61_000 });
      assert.deepEqual(await g.loginState(alice.id), { failures: 0, lockedUntil: 61_000 });
      assert.deepEqual(
        await g.recordFailure(alice.id, 1500, 3, 60_000),
        { failures: 1, lockedUntil: 61_000 },
        'counting goes on under the lock',
      );
      await g.recordSuccess(alice.id, '192.0.2.1', 2000);
      assert.deepEqual(await g.loginState(alice.id), { failures: 0, lockedUntil: 61_000 }, 'a success resets the count, never the lock');
      assert.equal(await g.isKnownIp(alice.id, '192.0.2.1', 2000, 50), true);
      assert.equal(await g.isKnownIp(alice.id, '192.0.2.1', 2001, 50), false);
      assert.equal(await g.isKnownIp(alice.id, '192.0.2.2', 0, 50), false);
      // window 100 ms, limit 3: failures at 0 and 99 share a window, at 100 a new one starts
      assert.equal(await g.recordIpFailure('198.51.100.1', 0, 100, 3, 5000), false);
      assert.equal(await g.recordIpFailure('198.51.100.1', 99, 100, 3, 5000), false);
      assert.equal(await g.recordIpFailure('198.51.100.1', 100, 100, 3, 5000), false, 'a new window');
      assert.equal(await g.recordIpFailure('198.51.100.1', 150, 100, 3, 5000), false);
      assert.equal(await g.recordIpFailure('198.51.100.1', 199, 100, 3, 5000), true, 'third in the window: banned');
      assert.equal((await g.banOf('198.51.100.1', 5198))?.bannedUntil, 5199);
      assert.equal(await g.banOf('198.51.100.1', 5199), null, 'the ban ends exactly at bannedUntil');
      assert.equal(await g.unban('198.51.100.1'), true);
      assert.equal(await g.unban('198.51.100.1'), false);
      assert.equal(await g.unlock(alice.id), true);
      assert.deepEqual(await g.loginState(alice.id), { failures: 0, lockedUntil: null });
      assert.equal(await g.unlock(alice.id), false, 'nothing left to unlock');
    },
  },
  {
    name: 'auth guard: a known network stays known up to maxFailures failures since its last success',
    async run({ store }) {
      const { acme, ex, alice } = await seed(store);
      const bob = await store.mailboxes.add({ address: 'bob@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'h2' });
      const g = store.authGuard;
      assert.equal(await g.unlock(bob.id), false, 'a mailbox never seen has nothing to unlock');
      await g.recordSuccess(alice.id, '192.0.2.1', T0);
      assert.equal(await g.isKnownIp(alice.id, '192.0.2.1', T0 - 1000, 3), true);
      assert.equal(await g.isKnownIp(bob.id, '192.0.2.1', 0, 3), false, 'known per mailbox');
      await g.recordKnownFailure(alice.id, '192.0.2.1');
      await g.recordKnownFailure(alice.id, '192.0.2.1');
      assert.equal(await g.isKnownIp(alice.id, '192.0.2.1', 0, 3), true, 'two failures, fewer than 3');
      await g.recordKnownFailure(alice.id, '192.0.2.1');
      assert.equal(await g.isKnownIp(alice.id, '192.0.2.1', 0, 3), false, 'three failures');
      assert.equal(await g.isKnownIp(alice.id, '192.0.2.1', 0, 4), true);
      await g.recordSuccess(alice.id, '192.0.2.1', T0 + 1000);
      assert.equal(await g.isKnownIp(alice.id, '192.0.2.1', 0, 3), true, 'a success clears the failures of that network');
      await g.recordKnownFailure(alice.id, '203.0.113.9'); // not known: nothing to count, no error
      assert.equal(await g.isKnownIp(alice.id, '203.0.113.9', 0, 3), false);
      assert.deepEqual(await g.loginState(alice.id), { failures: 0, lockedUntil: null }, 'known-network failures are not mailbox failures');
    },
  },
  {
    name: 'auth guard: bans: banOf, bans (active ones), a ban restarts the count, a new ban replaces the old, unban',
    async run({ store }) {
      const g = store.authGuard;
      assert.deepEqual(await g.bans(T0), []);
      assert.equal(await g.banOf('203.0.113.5', T0), null);
      assert.equal(await g.recordIpFailure('203.0.113.5', T0, 60_000, 2, 1000), false);
      assert.equal(await g.recordIpFailure('203.0.113.5', T0 + 10, 60_000, 2, 1000), true);
      assert.equal(await g.recordIpFailure('203.0.113.6', T0 + 20, 60_000, 1, 5000), true, 'limit 1: the first failure bans');
      const ban = await g.banOf('203.0.113.5', T0 + 10);
      assert.ok(ban);
      assert.equal(typeof ban.reason, 'string');
      assert.ok(ban.reason.length > 0);
      assert.deepEqual(ban, { ip: '203.0.113.5', reason: ban.reason, failures: 2, bannedUntil: T0 + 1010, createdAt: T0 + 10 });
      assert.deepEqual(sorted((await g.bans(T0 + 30)).map((b) => b.ip)), ['203.0.113.5', '203.0.113.6']);
      assert.deepEqual(
        (await g.bans(T0 + 1010)).map((b) => b.ip),
        ['203.0.113.6'],
        'an ended ban is not listed',
      );
      assert.equal(await g.recordIpFailure('203.0.113.5', T0 + 20, 60_000, 2, 1000), false, 'the ban restarted the count');
      assert.equal(await g.recordIpFailure('203.0.113.5', T0 + 2000, 60_000, 2, 3000), true);
      assert.deepEqual(await g.banOf('203.0.113.5', T0 + 2000), {
        ip: '203.0.113.5',
        reason: (await g.banOf('203.0.113.5', T0 + 2000))!.reason,
        failures: 2,
        bannedUntil: T0 + 5000,
        createdAt: T0 + 2000,
      });
      assert.equal((await g.bans(T0 + 2000)).filter((b) => b.ip === '203.0.113.5').length, 1, 'one ban per address');
      assert.equal(await g.unban('203.0.113.6'), true);
      assert.equal(await g.unban('203.0.113.6'), false);
      assert.equal(await g.banOf('203.0.113.6', T0 + 30), null);
      assert.deepEqual(
        (await g.bans(T0 + 30)).map((b) => b.ip),
        ['203.0.113.5'],
      );
    },
  },
  {
    name: 'limits: the defaults of a fresh store; set adds or replaces; list (ordered, filtered); clear; usage of an unused window',
    async run({ store }) {
      assert.deepEqual(await store.limits.list(), DEFAULT_LIMITS);
      const server: LimitRule = { level: 'server', target: '*', window: 'day', metric: 'messages', max: 10_000, action: 'defer' };
      const acmeHour: LimitRule = { level: 'customer', target: 'acme', window: 'hour', metric: 'messages', max: 100, action: 'defer' };
      const eachHour: LimitRule = { level: 'customer', target: '*', window: 'hour', metric: 'messages', max: 50, action: 'hold' };
      const acmeMinute: LimitRule = {
        level: 'customer',
        target: 'acme',
        window: 'minute',
        metric: 'recipients',
        max: 20,
        action: 'reject',
      };
      const alice: LimitRule = {
        level: 'mailbox',
        target: 'alice@example.com',
        window: 'hour',
        metric: 'recipients',
        max: 10,
        action: 'reject',
      };
      const dom: LimitRule = { level: 'domain', target: 'example.com', window: 'month', metric: 'messages', max: 1, action: 'hold' };
      for (const r of [alice, acmeHour, dom, eachHour, server, acmeMinute]) await store.limits.set(r);
      assert.deepEqual(await store.limits.list(), [
        server,
        eachHour,
        acmeMinute,
        acmeHour,
        dom,
        DEFAULT_LIMITS[0],
        DEFAULT_LIMITS[1],
        alice,
        DEFAULT_LIMITS[2],
        DEFAULT_LIMITS[3],
      ]);
      const replaced: LimitRule = { ...acmeHour, max: 200, action: 'reject' };
      await store.limits.set(replaced);
      assert.deepEqual(await store.limits.list({ level: 'customer' }), [eachHour, acmeMinute, replaced]);
      assert.deepEqual(
        await store.limits.list({ level: 'customer', target: 'acme' }),
        [eachHour, acmeMinute, replaced],
        "a target's own rules and the defaults ('*')",
      );
      assert.deepEqual(await store.limits.list({ target: 'alice@example.com' }), [
        server,
        eachHour,
        DEFAULT_LIMITS[0],
        DEFAULT_LIMITS[1],
        alice,
        DEFAULT_LIMITS[2],
        DEFAULT_LIMITS[3],
      ]);
      assert.deepEqual(await store.limits.list({ level: 'domain', target: 'other.example' }), []);

      assert.equal(await store.limits.clear({ level: 'customer', target: 'acme', window: 'hour', metric: 'recipients' }), 0);
      assert.equal(await store.limits.clear({ level: 'customer', target: 'acme', window: 'hour' }), 1);
      assert.equal(await store.limits.clear({ level: 'customer', target: 'acme' }), 1);
      assert.equal(await store.limits.clear({ level: 'customer', target: 'acme' }), 0);
      assert.equal(await store.limits.clear({ level: 'mailbox', target: '*', metric: 'recipients' }), 2);
      assert.equal(await store.limits.clear({ level: 'site', target: '*', window: 'day' }), 1);
      assert.deepEqual(await store.limits.list(), [server, eachHour, dom, alice, DEFAULT_LIMITS[2]]);

      assert.deepEqual(await store.limits.usage('customer', 'acme', 'hour', T0), {
        level: 'customer',
        target: 'acme',
        window: 'hour',
        start: hourOf(T0),
        messages: 0,
        recipients: 0,
      });
      assert.deepEqual(await store.limits.usage('server', '*', 'day', T0), {
        level: 'server',
        target: '*',
        window: 'day',
        start: T0 - (T0 % 86_400_000),
        messages: 0,
        recipients: 0,
      });
    },
  },
  {
    name: 'audit: add, list newest first, by target, with a limit (100 by default); before/after come back as JSON values',
    async run({ store }) {
      assert.deepEqual(await store.audit.list(), []);
      await store.audit.add({
        at: T0 + 1,
        actor: 'cli',
        action: 'mailbox.add',
        target: 'alice@example.com',
        before: null,
        after: { status: 'active', n: 1 },
      });
      await store.audit.add({
        at: T0 + 2,
        actor: 'api:admin',
        action: 'mailbox.suspend',
        target: 'alice@example.com',
        before: { status: 'active' },
        after: { status: 'suspended' },
      });
      await store.audit.add({
        at: T0 + 3,
        actor: 'cli',
        action: 'route.set',
        target: 'example.com',
        before: undefined,
        after: ['a', 1, true, null, { deep: { x: 'é' } }],
      });
      const all = await store.audit.list();
      assert.deepEqual(
        all.map((r) => r.action),
        ['route.set', 'mailbox.suspend', 'mailbox.add'],
      );
      assert.ok(all[0]!.id > all[1]!.id && all[1]!.id > all[2]!.id);
      assert.deepEqual(all[0], {
        id: all[0]!.id,
        at: T0 + 3,
        actor: 'cli',
        action: 'route.set',
        target: 'example.com',
        before: null,
        after: ['a', 1, true, null, { deep: { x: 'é' } }],
      });
      assert.deepEqual(all[1], {
        id: all[1]!.id,
        at: T0 + 2,
        actor: 'api:admin',
        action: 'mailbox.suspend',
        target: 'alice@example.com',
        before: { status: 'active' },
        after: { status: 'suspended' },
      });
      assert.deepEqual(
        (await store.audit.list({ target: 'alice@example.com' })).map((r) => r.action),
        ['mailbox.suspend', 'mailbox.add'],
      );
      assert.deepEqual(
        (await store.audit.list({ limit: 1 })).map((r) => r.action),
        ['route.set'],
      );
      assert.deepEqual(
        (await store.audit.list({ target: 'alice@example.com', limit: 1 })).map((r) => r.action),
        ['mailbox.suspend'],
      );
      assert.deepEqual(await store.audit.list({ target: 'nobody' }), []);
      for (let i = 0; i < 105; i++)
        await store.audit.add({ at: T0 + 10 + i, actor: 'cli', action: 'bulk', target: `t${i}`, before: null, after: i });
      const page = await store.audit.list();
      assert.equal(page.length, 100);
      assert.equal(page[0]!.after, 104);
    },
  },
  {
    name: 'activity: networks per hour (idempotent), spam, recipients and domains from the enqueue, outcomes from record, averageRecipients',
    async run({ store }) {
      const { acme, alice } = await seed(store);
      const H = hourOf(T0);
      const zero = { recipients: 0, domains: 0, networks: 0, delivered: 0, bad: 0, spam: 0 };
      assert.deepEqual(await store.activity.hour(alice.id, H), zero);
      await store.activity.loginFrom(alice.id, '192.0.2.0/24', H);
      await store.activity.loginFrom(alice.id, '192.0.2.0/24', H);
      await store.activity.loginFrom(alice.id, '198.51.100.0/24', H);
      await store.activity.loginFrom(alice.id, '192.0.2.0/24', H + HOUR);
      await store.activity.spam(alice.id, H);
      await store.activity.spam(alice.id, H);
      const mine = (id: string, createdAt: number, rcpts: string[]) =>
        message(id, { customerId: acme.id, mailboxId: alice.id, createdAt, recipients: rcpts.map((address) => ({ address })) });
      await store.queue.enqueueBatch([
        mine('A1', T0, ['bob@remote.test', 'carol@remote.test', 'dave@Third.TEST']),
        mine('A2', T0 + 1, ['x@remote.test']),
      ]);
      await store.queue.enqueueBatch([mine('A3', H + HOUR + 5, ['y@next.test', 'z@next.test'])]);
      assert.deepEqual(await store.activity.hour(alice.id, H), { recipients: 4, domains: 2, networks: 2, delivered: 0, bad: 0, spam: 2 });
      assert.deepEqual(await store.activity.hour(alice.id, H + HOUR), { ...zero, recipients: 2, domains: 1, networks: 1 });

      const jobs = await store.queue.claim({ owner: 'n1', now: T0 + 10, leaseMs: 60_000, limit: 10 });
      const a1 = jobOf(jobs, 'A1', 'remote.test');
      const a1third = jobOf(jobs, 'A1', 'third.test');
      const a2 = jobOf(jobs, 'A2');
      await store.queue.record([
        result(a1, 0, 'delivered', { at: T0 + 20 }),
        result(a1, 1, 'deferred', { at: T0 + 20, nextAttemptAt: T0 + 30 }),
        result(a1third, 2, 'failed', { at: T0 + 20 }),
        result(a2, 0, 'deferred', { at: T0 + 20, nextAttemptAt: T0 + 30 }),
      ]);
      assert.deepEqual(await store.activity.hour(alice.id, H), { recipients: 4, domains: 2, networks: 2, delivered: 1, bad: 3, spam: 2 });
      const again = await store.queue.claim({ owner: 'n1', now: T0 + 30, leaseMs: 60_000, limit: 10 });
      await store.queue.record(
        again.flatMap((j) => j.recipients.map((r) => result(j, r.idx, 'deferred', { at: T0 + 40, nextAttemptAt: T0 + 50 }))),
      );
      assert.equal((await store.activity.hour(alice.id, H)).bad, 3, 'a recipient counts at its first deferral only');

      assert.equal(await store.activity.averageRecipients(alice.id, H, H + 2 * HOUR), 3);
      assert.equal(await store.activity.averageRecipients(alice.id, H, H + HOUR), 4);
      assert.equal(await store.activity.averageRecipients(alice.id, H - HOUR, H), 0);
      assert.deepEqual(await store.activity.hour(999_999, H), zero);
    },
  },
  {
    name: 'routes: set adds or replaces (keeping createdAt), get, list, remove; bad values are refused',
    async run({ store }) {
      assert.deepEqual(await store.routes.list(), []);
      const r = await store.routes.set({ domain: 'example.com', host: 'relay.test', port: 2525, tls: 'required' });
      assert.deepEqual(r, {
        domain: 'example.com',
        host: 'relay.test',
        port: 2525,
        tls: 'required',
        authUser: null,
        authSecret: null,
        createdAt: r.createdAt,
        updatedAt: r.createdAt,
      });
      assert.equal(typeof r.createdAt, 'number');
      assert.deepEqual(await store.routes.get('example.com'), r);
      const withLogin = await store.routes.set({
        domain: 'login.test',
        host: 'relay.test',
        port: 587,
        tls: 'required',
        authUser: 'u',
        authSecret: 'v1:sealed',
      });
      assert.equal(withLogin.authUser, 'u');
      assert.equal(withLogin.authSecret, 'v1:sealed');
      assert.deepEqual(await store.routes.get('login.test'), withLogin);
      assert.equal(
        (await store.routes.set({ domain: 'login.test', host: 'relay.test', port: 587, tls: 'required' })).authUser,
        null,
        'replacing drops the login',
      );
      assert.deepEqual(
        (await store.routes.list()).map((x) => x.domain),
        ['example.com', 'login.test'],
      );
      await store.routes.remove('login.test');
      const r2 = await store.routes.set({ domain: 'example.com', host: '192.0.2.1', port: 25, tls: 'none' });
      assert.equal(r2.createdAt, r.createdAt, 'replacing keeps the creation time');
      assert.ok(r2.updatedAt > r.updatedAt);
      assert.deepEqual(
        (await store.routes.list()).map((x) => x.host),
        ['192.0.2.1'],
      );
      assert.equal((await store.routes.get('example.com'))!.tls, 'none');
      assert.equal(await store.routes.get('other.test'), null);
      await assert.rejects(store.routes.set({ domain: 'x.test', host: 'h', port: 0, tls: 'none' }));
      await assert.rejects(store.routes.set({ domain: 'x.test', host: 'h', port: 65_536, tls: 'none' }));
      await assert.rejects(store.routes.set({ domain: 'x.test', host: 'h', port: 25, tls: 'maybe' as never }));
      assert.equal(await store.routes.get('x.test'), null);
      assert.equal(await store.routes.remove('example.com'), true);
      assert.equal(await store.routes.remove('example.com'), false);
      assert.deepEqual(await store.routes.list(), []);
    },
  },
];
