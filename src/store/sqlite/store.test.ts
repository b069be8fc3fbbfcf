import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from './index.ts';
import { StoreError, type NewMessage, type Store } from '../types.ts';

const dirs: string[] = [];
const stores: Store[] = [];
after(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A store on a fresh database file, with a clock that ticks one millisecond per reading. */
function open(file?: string): { store: Store; file: string } {
  if (!file) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-store-'));
    dirs.push(dir);
    file = path.join(dir, 'postern.db');
  }
  let t = 1_700_000_000_000;
  const store = createSqliteStore({ path: file, now: () => ++t });
  stores.push(store);
  return { store, file };
}

async function conflict(p: Promise<unknown>, what: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.kind, 'conflict');
    assert.match(err.message, what);
    return true;
  });
}

async function seed(store: Store) {
  const acme = await store.customers.add('acme');
  const other = await store.customers.add('other');
  const ex = await store.domains.add('example.com', acme.id);
  const oth = await store.domains.add('other.example', other.id);
  const alice = await store.mailboxes.add({ address: 'alice@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'h1' });
  return { acme, other, ex, oth, alice };
}

function message(id: string, over: Partial<NewMessage> = {}): NewMessage {
  return {
    id, customerId: null, mailboxId: null, sender: 'alice@example.com', size: 123, bodyPath: `q/${id}`, body: null,
    messageIdHeader: `<${id}@mx.test>`, clientIp: '127.0.0.1', authUser: 'alice@example.com', listener: 'submission:587',
    dsnRet: null, dsnEnvid: null, createdAt: 1_700_000_000_000,
    recipients: [{ address: 'bob@remote.test' }, { address: 'carol@remote.test', notify: 'FAILURE,DELAY', orcpt: 'rfc822;carol@remote.test' }],
    ...over,
  };
}

test('customers: add, get, list; add returns what get returns', async () => {
  const { store } = open();
  assert.deepEqual(await store.customers.list(), []);
  assert.equal(await store.customers.get('acme'), null);
  const c = await store.customers.add('acme');
  await store.customers.add('beta');
  assert.equal(c.name, 'acme');
  assert.ok(c.id > 0);
  assert.deepEqual(await store.customers.get('acme'), c);
  assert.deepEqual((await store.customers.list()).map((x) => x.name), ['acme', 'beta']);
});

test('customers: a duplicate name is a StoreError conflict', async () => {
  const { store } = open();
  await store.customers.add('acme');
  await conflict(store.customers.add('acme'), /acme/);
  assert.equal((await store.customers.list()).length, 1);
});

test('domains: add, get, list (all and by customer), duplicate is a conflict', async () => {
  const { store } = open();
  const { acme, other } = await seed(store);
  await store.domains.add('second.example', acme.id);
  const d = await store.domains.get('example.com');
  assert.ok(d);
  assert.equal(d.customerId, acme.id);
  assert.equal(d.customerName, 'acme');
  assert.equal(await store.domains.get('missing.example'), null);
  assert.deepEqual((await store.domains.list()).map((x) => x.name), ['example.com', 'other.example', 'second.example']);
  assert.deepEqual((await store.domains.list('acme')).map((x) => x.name), ['example.com', 'second.example']);
  assert.deepEqual((await store.domains.list('other')).map((x) => x.name), ['other.example']);
  assert.deepEqual(await store.domains.list('nobody'), []);
  await conflict(store.domains.add('example.com', other.id), /example\.com/);
  assert.equal((await store.domains.get('example.com'))!.customerName, 'acme', 'the conflict changed nothing');
});

test('mailboxes: add, get, list with filters, remove', async () => {
  const { store } = open();
  const { acme, other, ex, oth, alice } = await seed(store);
  assert.equal(alice.address, 'alice@example.com');
  assert.equal(alice.customerName, 'acme');
  assert.equal(alice.status, 'active');
  assert.equal(alice.passwordHash, 'h1');
  assert.equal(alice.credentialVersion, 1);
  assert.deepEqual(await store.mailboxes.get('alice@example.com'), alice);
  await store.mailboxes.add({ address: 'bob@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'h2' });
  await store.mailboxes.add({ address: 'zed@other.example', domainId: oth.id, customerId: other.id, passwordHash: 'h3' });
  assert.deepEqual((await store.mailboxes.list()).map((m) => m.address), ['alice@example.com', 'bob@example.com', 'zed@other.example']);
  assert.deepEqual((await store.mailboxes.list({ customerName: 'acme' })).map((m) => m.address), ['alice@example.com', 'bob@example.com']);
  assert.deepEqual((await store.mailboxes.list({ domain: 'other.example' })).map((m) => m.address), ['zed@other.example']);
  assert.deepEqual((await store.mailboxes.list({ customerName: 'acme', domain: 'other.example' })), []);
  assert.equal(await store.mailboxes.remove('bob@example.com'), true);
  assert.equal(await store.mailboxes.remove('bob@example.com'), false);
  assert.equal(await store.mailboxes.get('bob@example.com'), null);
  await conflict(store.mailboxes.add({ address: 'alice@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'x' }), /alice@example\.com/);
  assert.equal((await store.mailboxes.get('alice@example.com'))!.passwordHash, 'h1');
});

test('mailboxes: setPassword and setStatus bump credentialVersion; a no-op status change does not', async () => {
  const { store } = open();
  const { alice } = await seed(store);
  const p = await store.mailboxes.setPassword('alice@example.com', 'h-new');
  assert.ok(p);
  assert.equal(p.passwordHash, 'h-new');
  assert.equal(p.credentialVersion, alice.credentialVersion + 1);
  assert.ok(p.updatedAt > alice.updatedAt);
  const s = await store.mailboxes.setStatus('alice@example.com', 'suspended');
  assert.equal(s!.status, 'suspended');
  assert.equal(s!.credentialVersion, alice.credentialVersion + 2);
  const same = await store.mailboxes.setStatus('alice@example.com', 'suspended');
  assert.equal(same!.credentialVersion, alice.credentialVersion + 2, 'suspending a suspended mailbox changes nothing');
  const r = await store.mailboxes.setStatus('alice@example.com', 'active');
  assert.equal(r!.status, 'active');
  assert.equal(r!.credentialVersion, alice.credentialVersion + 3);
  assert.equal(await store.mailboxes.setPassword('nobody@example.com', 'x'), null);
  assert.equal(await store.mailboxes.setStatus('nobody@example.com', 'suspended'), null);
});

test('queue: enqueueBatch stores messages with their recipients; get, list, count, bodyPaths', async () => {
  const { store } = open();
  const { acme } = await seed(store);
  assert.equal(await store.queue.count(), 0);
  assert.deepEqual(await store.queue.list(), []);
  assert.deepEqual(await store.queue.bodyPaths(), new Set());
  await store.queue.enqueueBatch([message('m1', { customerId: acme.id, createdAt: 1000 }), message('m2', { createdAt: 2000, recipients: [{ address: 'x@y.example' }] })]);
  await store.queue.enqueueBatch([message('m3', { createdAt: 1500 })]);
  assert.equal(await store.queue.count(), 3);
  const m1 = await store.queue.get('m1');
  assert.ok(m1);
  assert.equal(m1.customerName, 'acme');
  assert.equal(m1.state, 'queued');
  assert.equal(m1.bodyPath, 'q/m1');
  assert.equal(m1.size, 123);
  assert.equal(m1.messageIdHeader, '<m1@mx.test>');
  assert.deepEqual(m1.recipients.map((r) => [r.address, r.state, r.attempts, r.nextAttemptAt, r.lastReply]), [
    ['bob@remote.test', 'queued', 0, 1000, null],
    ['carol@remote.test', 'queued', 0, 1000, null],
  ]);
  assert.equal((await store.queue.get('m2'))!.customerName, null);
  assert.equal(await store.queue.get('missing'), null);
  assert.deepEqual((await store.queue.list()).map((m) => m.id), ['m1', 'm3', 'm2'], 'oldest first');
  assert.deepEqual((await store.queue.list({ limit: 2 })).map((m) => m.id), ['m1', 'm3']);
  assert.deepEqual(await store.queue.bodyPaths(), new Set(['q/m1', 'q/m2', 'q/m3']));
});

test('queue: a batch with a duplicate id inserts nothing (atomic)', async () => {
  const { store } = open();
  await store.queue.enqueueBatch([message('dup')]);
  await assert.rejects(store.queue.enqueueBatch([message('new1'), message('new2'), message('dup')]));
  assert.equal(await store.queue.count(), 1);
  assert.equal(await store.queue.get('new1'), null);
  assert.equal(await store.queue.get('new2'), null);
  assert.deepEqual(await store.queue.bodyPaths(), new Set(['q/dup']));
  // a duplicate inside one batch fails the same way
  await assert.rejects(store.queue.enqueueBatch([message('a'), message('a')]));
  assert.equal(await store.queue.get('a'), null);
  // and the store keeps working afterwards
  await store.queue.enqueueBatch([message('after')]);
  assert.equal(await store.queue.count(), 2);
  assert.equal((await store.queue.get('after'))!.recipients.length, 2);
});

test('queue: a batch referring to an unknown customer fails and inserts nothing', async () => {
  const { store } = open();
  await assert.rejects(store.queue.enqueueBatch([message('ok1'), message('bad', { customerId: 9999 })]));
  assert.equal(await store.queue.count(), 0);
});

test('everything survives closing and reopening the database file', async () => {
  const { store, file } = open();
  await seed(store);
  await store.queue.enqueueBatch([message('persist')]);
  await store.close();
  const { store: again } = open(file);
  assert.equal((await again.mailboxes.get('alice@example.com'))!.customerName, 'acme');
  assert.deepEqual((await again.queue.get('persist'))!.recipients.map((r) => r.address), ['bob@remote.test', 'carol@remote.test']);
});

test('an in-memory store (":memory:") sees its own queue writes', async () => {
  const store = createSqliteStore({ path: ':memory:' });
  stores.push(store);
  await store.queue.enqueueBatch([message('mem1')]);
  assert.equal(await store.queue.count(), 1);
  assert.ok(await store.queue.get('mem1'));
});

test('queue: a small body stored inline comes back byte for byte (through the writer worker) and is no spool path', async () => {
  const { store } = open();
  const bytes = Buffer.from('Subject: inline\r\n\r\n\u00e9t\u00e9 \x00 binary-safe\r\n', 'latin1');
  await store.queue.enqueueBatch([message('in1', { bodyPath: null, body: bytes }), message('f1')]);
  assert.deepEqual(await store.queue.inlineBody('in1'), bytes);
  assert.equal(await store.queue.inlineBody('f1'), null, 'a file-backed body has no inline copy');
  assert.equal((await store.queue.get('in1'))!.bodyPath, null);
  assert.deepEqual(await store.queue.bodyPaths(), new Set(['q/f1']));
});

test('queue: a message must have exactly one of body file and inline body', async () => {
  const { store } = open();
  await assert.rejects(store.queue.enqueueBatch([message('none', { bodyPath: null, body: null })]), /CHECK constraint/);
  await assert.rejects(store.queue.enqueueBatch([message('both', { body: Buffer.from('x') })]), /CHECK constraint/);
  assert.equal(await store.queue.count(), 0);
});

test('routes: set adds or replaces, get/list/remove, and the table refuses bad values', async () => {
  const { store } = open();
  const r = await store.routes.set({ domain: 'example.com', host: 'relay.test', port: 2525, tls: 'required' });
  assert.deepEqual({ ...r, createdAt: 0, updatedAt: 0 }, {
    domain: 'example.com', host: 'relay.test', port: 2525, tls: 'required', authUser: null, authSecret: null, createdAt: 0, updatedAt: 0,
  });
  const withLogin = await store.routes.set({ domain: 'login.test', host: 'relay.test', port: 587, tls: 'required', authUser: 'u', authSecret: 'v1:sealed' });
  assert.equal(withLogin.authUser, 'u');
  assert.equal(withLogin.authSecret, 'v1:sealed');
  assert.equal((await store.routes.set({ domain: 'login.test', host: 'relay.test', port: 587, tls: 'required' })).authUser, null, 'replacing drops the login');
  await store.routes.remove('login.test');
  const r2 = await store.routes.set({ domain: 'example.com', host: '192.0.2.1', port: 25, tls: 'none' });
  assert.equal(r2.createdAt, r.createdAt, 'replacing keeps the creation time');
  assert.ok(r2.updatedAt > r.updatedAt);
  assert.deepEqual((await store.routes.list()).map((x) => x.host), ['192.0.2.1']);
  assert.equal((await store.routes.get('example.com'))!.tls, 'none');
  assert.equal(await store.routes.get('other.test'), null);
  await assert.rejects(store.routes.set({ domain: 'x.test', host: 'h', port: 0, tls: 'none' }), /CHECK constraint/);
  await assert.rejects(store.routes.set({ domain: 'x.test', host: 'h', port: 25, tls: 'maybe' as never }), /CHECK constraint/);
  assert.equal(await store.routes.remove('example.com'), true);
  assert.equal(await store.routes.remove('example.com'), false);
});

test('auth guard: failures lock at the limit and start again; the address window is fixed and exact at its edge', async () => {
  const { store } = open();
  const { alice } = await seed(store);
  const g = store.authGuard;
  for (let i = 1; i < 3; i++) assert.deepEqual(await g.recordFailure(alice.id, 1000, 3, 60_000), { failures: i, lockedUntil: null });
  assert.deepEqual(await g.recordFailure(alice.id, 1000, 3, 60_000), { failures: 0, lockedUntil: 61_000 });
  assert.deepEqual(await g.loginState(alice.id), { failures: 0, lockedUntil: 61_000 });
  await g.recordFailure(alice.id, 1500, 3, 60_000);
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
  assert.equal(await g.unlock(alice.id), true);
  assert.equal(await g.unlock(alice.id), false, 'nothing left to unlock');
});

test('a removed mailbox with queued mail: its deliveries are still recorded (activity skipped, no foreign-key error)', async () => {
  const { store } = open();
  const { alice } = await seed(store);
  await store.queue.enqueueBatch([message('RM1', { mailboxId: alice.id, body: Buffer.from('x'), bodyPath: null, recipients: [{ address: 'b@remote.test' }] })]);
  assert.equal(await store.mailboxes.remove('alice@example.com'), true);
  const [job] = await store.queue.claim({ owner: 'n', now: 1_700_000_000_000, leaseMs: 60_000, limit: 10 });
  const r = await store.queue.record([{
    messageId: 'RM1', idx: 0, state: 'delivered', nextAttemptAt: 0, at: 1_700_000_000_001, reply: '250 ok', category: 'ok', remoteHost: null, attempted: true, lease: job!.lease,
  }]);
  assert.deepEqual(r.finished.map((f) => f.id), ['RM1']);
});
