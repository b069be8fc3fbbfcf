/**
 * Sending limits over real SMTP sessions with an injectable clock: the exact boundary of a
 * fixed window, the three actions, the levels (mailbox, domain, customer, server), recipients
 * as a metric, no quota for refused messages, and no overrun by parallel sessions.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';
import { AdminError } from '../../src/admin/service.ts';

const MINUTE = 60_000;
let t = Math.floor(Date.now() / MINUTE) * MINUTE + 30_000; // half a minute into a minute
const clock = { now: () => t };
const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function server(): Promise<TestServer> {
  const s = await startTestServer({}, { clock });
  servers.push(s);
  await s.addMailbox('alice@example.com', 'alice-secret-1', 'acme');
  await s.addMailbox('anna@example.com', 'anna-secret-11', 'acme');
  await s.addMailbox('bob@other.example', 'bob-secret-111', 'other');
  await s.admin.clearLimit('mailbox', '*'); // the defaults would not trip here, but keep the tests exact
  return s;
}

const PASS: Record<string, string> = {
  'alice@example.com': 'alice-secret-1',
  'anna@example.com': 'anna-secret-11',
  'bob@other.example': 'bob-secret-111',
};

const send = (s: TestServer, user = 'alice@example.com', to: string[] = ['x@remote.test']) => submitAs(s, { user, pass: PASS[user]!, to });

test('a fresh install has default limits that hold a runaway mailbox or site', async () => {
  const s = await startTestServer();
  servers.push(s);
  const rows = await s.admin.showLimits();
  assert.deepEqual(
    rows.map((r) => `${r.level}:${r.target}:${r.window}:${r.metric}:${r.max}:${r.action}`),
    [
      'mailbox:*:hour:recipients:1000:hold',
      'mailbox:*:day:recipients:5000:hold',
      'site:*:hour:recipients:1000:hold',
      'site:*:day:recipients:5000:hold',
    ],
  );
});

test('defer: the message over the limit gets 451 4.7.1 with the time to retry; exact at the window edge; refused ones use no quota', async () => {
  const s = await server();
  await s.admin.setLimit('mailbox', 'alice@example.com', { window: 'minute', messages: 3, action: 'defer' });
  for (let i = 0; i < 3; i++) assert.match(await send(s), /^250 /);
  const before = await s.server.store.queue.count();
  const next = new Date(Math.floor(t / MINUTE) * MINUTE + MINUTE).toISOString().replace('.000', '');
  const refused = await send(s);
  assert.match(
    refused,
    /^451 4\.7\.1 Sending limit reached: 3 messages per minute for mailbox alice@example\.com \(defer\); try again after /,
  );
  assert.ok(refused.includes(next), `${refused} names ${next}`);
  assert.equal(await s.server.store.queue.count(), before, 'nothing queued');
  assert.match(await send(s), /^451 4\.7\.1 /, 'still refused: the refusals used no quota but the window is full');
  const [row] = (await s.admin.showLimits('mailbox', 'alice@example.com')).filter((r) => r.target === 'alice@example.com');
  assert.equal(row!.usage, 3, 'refused messages are not counted');
  t = Math.floor(t / MINUTE) * MINUTE + MINUTE - 1;
  assert.match(await send(s), /^451 /, 'the last millisecond of the window');
  t += 1;
  assert.match(await send(s), /^250 /, 'the first millisecond of the next window');
  assert.match(await send(s, 'anna@example.com'), /^250 /, 'another mailbox is not affected');
});

test('reject gives 550 5.7.1; hold accepts into the hold queue', async () => {
  const s = await server();
  await s.admin.setLimit('mailbox', 'alice@example.com', { window: 'hour', messages: 1, action: 'reject' });
  assert.match(await send(s), /^250 /);
  assert.match(
    await send(s),
    /^550 5\.7\.1 Sending limit reached: 1 messages per hour for mailbox alice@example\.com \(reject\); message refused/,
  );
  await s.admin.setLimit('mailbox', 'anna@example.com', { window: 'hour', messages: 1, action: 'hold' });
  assert.match(await send(s, 'anna@example.com'), /^250 /);
  const held = await send(s, 'anna@example.com');
  assert.match(held, /^250 2\.0\.0 Ok: queued as /);
  const id = /queued as (\S+)/.exec(held)![1]!;
  const m = await s.server.store.queue.get(id);
  assert.equal(m?.state, 'held');
  assert.ok(s.logs.some((l) => l.evt === 'hold' && l.qid === id));
  assert.equal((await s.server.store.queue.list({ state: 'held' })).length, 1);
});

test('levels: a customer limit counts all its mailboxes; another customer keeps sending; recipients count one each', async () => {
  const s = await server();
  await s.admin.setLimit('customer', 'acme', { window: 'day', recipients: 4, action: 'defer' });
  assert.match(await send(s, 'alice@example.com', ['a@r.test', 'b@r.test']), /^250 /);
  assert.match(await send(s, 'anna@example.com', ['c@r.test']), /^250 /);
  assert.match(
    await send(s, 'anna@example.com', ['d@r.test', 'e@r.test']),
    /^451 4\.7\.1 .*4 recipients per day for customer acme/,
    '5 > 4',
  );
  assert.match(await send(s, 'alice@example.com', ['d@r.test']), /^250 /, 'exactly 4');
  assert.match(await send(s, 'bob@other.example'), /^250 /, 'another customer');
  // a limit counts from the moment it is set
  await s.admin.setLimit('server', undefined, { window: 'day', messages: 2, action: 'defer' });
  assert.match(await send(s, 'bob@other.example'), /^250 /);
  assert.match(await send(s, 'alice@example.com', ['f@r.test']), /^451 4\.7\.1 .*4 recipients per day for customer acme/);
  assert.match(await send(s, 'bob@other.example'), /^250 /, 'the refused one used none of the server quota');
  assert.match(await send(s, 'bob@other.example'), /^451 4\.7\.1 .*2 messages per day for the server/);
});

test('parallel sessions of one mailbox cannot overrun a limit', async () => {
  const s = await server();
  await s.admin.setLimit('mailbox', 'alice@example.com', { window: 'hour', messages: 5, action: 'defer' });
  const replies = await Promise.all(Array.from({ length: 12 }, () => send(s)));
  assert.equal(replies.filter((r) => r.startsWith('250 ')).length, 5, replies.join('\n'));
  assert.equal(replies.filter((r) => r.startsWith('451 4.7.1')).length, 7);
});

test('limits are validated', async () => {
  const s = await server();
  const refused = async (p: Promise<unknown>, re: RegExp) =>
    assert.rejects(p, (e: unknown) => e instanceof AdminError && re.test(e.message));
  await refused(
    s.admin.setLimit('mailbox', 'alice@example.com', { window: 'week', messages: 1 }),
    /window must be one of minute, hour, day, month/,
  );
  await refused(s.admin.setLimit('mailbox', 'alice@example.com', { window: 'hour', messages: -1 }), /whole number/);
  await refused(s.admin.setLimit('mailbox', 'alice@example.com', { window: 'hour', messages: '1.5' }), /whole number/);
  await refused(s.admin.setLimit('mailbox', 'alice@example.com', { window: 'hour' }), /--messages N, --recipients N or both/);
  await refused(s.admin.setLimit('mailbox', 'nobody@example.com', { window: 'hour', messages: 1 }), /no mailbox/);
  await refused(s.admin.setLimit('planet', undefined, { window: 'hour', messages: 1 }), /level must be one of/);
  await refused(s.admin.setLimit('server', 'x', { window: 'hour', messages: 1 }), /no target/);
  await refused(
    s.admin.setLimit('mailbox', 'alice@example.com', { window: 'hour', messages: 1, action: 'ignore' }),
    /action must be one of/,
  );
  await refused(s.admin.clearLimit('domain', 'example.com'), /no domain limit for example\.com matches/);
});

test('held mail uses no quota (the server limit stays free for others) and is capped per mailbox (451 4.7.1 beyond)', async () => {
  const s = await startTestServer({ containment: { maxHeldPerMailbox: 2 } }, { clock });
  servers.push(s);
  await s.addMailbox('anna@example.com', 'anna-secret-11', 'acme');
  await s.addMailbox('bob@other.example', 'bob-secret-111', 'other');
  await s.admin.clearLimit('mailbox', '*');
  await s.admin.setLimit('mailbox', 'anna@example.com', { window: 'hour', messages: 0, action: 'hold' });
  await s.admin.setLimit('server', undefined, { window: 'hour', messages: 1, action: 'defer' });
  assert.match(await send(s, 'anna@example.com'), /^250 /, 'held');
  assert.match(await send(s, 'anna@example.com'), /^250 /, 'held');
  assert.match(await send(s, 'anna@example.com'), /^451 4\.7\.1 Too much mail of this mailbox is waiting for the postmaster/);
  assert.equal((await s.server.store.queue.list({ state: 'held' })).length, 2);
  assert.match(await send(s, 'bob@other.example'), /^250 /, 'the held mail did not use the server quota');
  assert.match(await send(s, 'bob@other.example'), /^451 4\.7\.1 .*for the server/);
});
