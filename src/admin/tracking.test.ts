import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSqliteStore } from '../store/sqlite/index.ts';
import type { Store } from '../store/index.ts';
import type { NewMessage } from '../core/index.ts';
import { createTrackingService } from './tracking.ts';
import { AdminError } from './errors.ts';

const T0 = Date.parse('2025-03-01T12:00:00Z');
const HOUR = 3_600_000;
let store: Store;

function msg(id: string, customerId: number, createdAt: number, sender = 'alice@example.com'): NewMessage {
  return {
    id,
    customerId,
    mailboxId: null,
    sender,
    size: 10,
    bodyPath: null,
    body: Buffer.from('x'),
    messageIdHeader: `<${id}@example.com>`,
    clientIp: '192.0.2.1',
    authUser: sender,
    listener: 'submission',
    dsnRet: null,
    dsnEnvid: null,
    createdAt,
    recipients: [{ address: 'bob@remote.test' }],
    track: true,
    subject: `s ${id}`,
  };
}

before(async () => {
  store = createSqliteStore({ path: ':memory:' });
  const acme = await store.customers.add('acme');
  const beta = await store.customers.add('beta');
  await store.queue.enqueueBatch([
    msg('A1', acme.id, T0),
    msg('A2', acme.id, T0 + HOUR),
    msg('A3', acme.id, T0 + 2 * HOUR, ''),
    msg('B1', beta.id, T0 + HOUR, 'eve@beta.test'),
  ]);
});
after(() => store.close());

const ids = (r: { messages: { queueId: string }[] }) => r.messages.map((m) => m.queueId);
const refused = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: unknown) => e instanceof AdminError && re.test(e.message));

test('search: every filter as typed (Message-ID with or without brackets, <> sender, ISO times), pages with a cursor', async () => {
  const svc = createTrackingService(store);
  assert.deepEqual(ids(await svc.searchTracking()), ['A3', 'B1', 'A2', 'A1']);
  assert.deepEqual(ids(await svc.searchTracking({ messageId: 'A2@example.com' })), ['A2']);
  assert.deepEqual(ids(await svc.searchTracking({ messageId: ' <A2@example.com> ' })), ['A2']);
  assert.deepEqual(ids(await svc.searchTracking({ sender: '<>' })), ['A3']);
  assert.deepEqual(ids(await svc.searchTracking({ recipient: '<BOB@remote.test>', customer: 'beta' })), ['B1']);
  assert.deepEqual(ids(await svc.searchTracking({ since: '2025-03-01T13:00:00Z', until: '2025-03-01T14:00:00Z' })), ['B1', 'A2']);
  assert.deepEqual(ids(await svc.searchTracking({ since: '2025-03-02' })), []);
  const first = await svc.searchTracking({ limit: 3 });
  assert.deepEqual(ids(first), ['A3', 'B1', 'A2']);
  assert.equal(first.next, `${T0 + HOUR}.A2`);
  const second = await svc.searchTracking({ limit: 3, before: first.next! });
  assert.deepEqual([ids(second), second.next], [['A1'], null], 'the last page has no cursor');
});

test('search: bad input is refused with one precise line', async () => {
  const svc = createTrackingService(store);
  await refused(svc.searchTracking({ since: 'yesterday' }), /--since must be an ISO 8601 date or time/);
  await refused(svc.searchTracking({ since: '2025-03-02', until: '2025-03-01' }), /--since must be before --until/);
  await refused(svc.searchTracking({ status: 'lost' }), /--status must be one of queued, held, deferred/);
  await refused(svc.searchTracking({ limit: 0 }), /--limit must be a whole number from 1 to 1000/);
  await refused(svc.searchTracking({ limit: Number('x') }), /--limit/);
  await refused(svc.searchTracking({ customer: 'nobody' }), /no customer named nobody/);
  await refused(svc.searchTracking({ messageId: 'a b' }), /not a Message-ID/);
  await refused(svc.searchTracking({ before: 'garbage' }), /not a cursor/);
  await refused(svc.showTracking('NOPE'), /no tracked message NOPE/);
});

test('a customer scope sees only its own messages: search, show, and a filter on another customer is refused', async () => {
  const beta = createTrackingService(store, { customer: 'beta' });
  assert.deepEqual(ids(await beta.searchTracking()), ['B1']);
  assert.deepEqual(ids(await beta.searchTracking({ sender: 'alice@example.com' })), []);
  assert.equal((await beta.showTracking('B1')).queueId, 'B1');
  await refused(beta.showTracking('A1'), /no tracked message A1/);
  await refused(beta.searchTracking({ customer: 'acme' }), /only the messages of your own customer account/);
  assert.deepEqual(ids(await beta.searchTracking({ customer: 'beta' })), ['B1']);
  await refused(createTrackingService(store, { customer: 'ghost' }).searchTracking(), /no customer named ghost/);
});

test('trackingSummary: events by type and top senders since a time; a tenant sees its own only; bad bounds refused', async () => {
  const svc = createTrackingService(store);
  const all = await svc.trackingSummary(T0 + HOUR, 10);
  assert.equal(all.events.accepted, 3, 'A2, B1 and A3 arrived at or after the hour');
  const betaScope = { customerId: (await store.customers.get('beta'))!.id, customerName: 'beta' };
  const beta = await svc.trackingSummary(T0, 10, betaScope);
  assert.equal(beta.events.accepted, 1);
  assert.deepEqual(
    beta.topSenders.map((t) => [t.sender, t.customerName, t.messages, t.recipients]),
    [['eve@beta.test', 'beta', 1, 1]],
  );
  assert.deepEqual(
    await createTrackingService(store, { customer: 'beta' }).trackingSummary(T0, 10),
    beta,
    'a scoped service is the same wall',
  );
  assert.equal((await svc.trackingSummary(T0 + 3 * HOUR, 10)).events.accepted, undefined, 'nothing since: no count');
  await refused(svc.trackingSummary(Number.NaN, 10), /must be a time/);
  await refused(svc.trackingSummary(T0, -1), /whole number from 0/);
});
