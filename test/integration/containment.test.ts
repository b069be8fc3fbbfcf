/**
 * Two customers share one server. A stolen password sends a burst to many domains from new
 * networks: the mailbox is put on hold within the configured threshold, its further mail is
 * held, the customer contact and the postmaster get a notice, and the other customer keeps
 * sending. Then release and purge. Injectable clock, no sleeps.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';

const HOUR = 3_600_000;
let t = Math.floor(Date.now() / HOUR) * HOUR + 60_000;
const clock = { now: () => t };
const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function server(containment: Record<string, unknown>): Promise<TestServer> {
  const s = await startTestServer({ containment: { ...containment }, bounce: { postmaster: 'abuse@provider.test' } }, { clock });
  servers.push(s);
  await s.server.store.customers.add('acme', 'owner@acme-home.test');
  await s.addMailbox('alice@example.com', 'alice-secret-1', 'acme');
  await s.addMailbox('bob@other.example', 'bob-secret-111', 'other');
  await s.admin.clearLimit('mailbox', '*');
  return s;
}

const send = (s: TestServer, user: string, pass: string, to: string[], from = '127.0.0.1') =>
  submitAs(s, { user, pass, to, from, text: 'buy now' });

const until = async (check: () => Promise<boolean> | boolean) => {
  const end = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('a burst to many domains puts the mailbox on hold; notices go out; the other customer keeps sending; release and purge', async () => {
  const s = await server({ maxDomainsPerHour: 5, minRecipientsPerHour: 1000, maxNetworksPerHour: 10 });
  // the real user, one normal message
  assert.match(await send(s, 'alice@example.com', 'alice-secret-1', ['friend@gmail.test']), /^250 /);
  // the thief: one recipient domain per message
  for (let i = 0; i < 6; i++)
    assert.match(await send(s, 'alice@example.com', 'alice-secret-1', [`victim${i}@d${i}.test`], '127.0.0.9'), /^250 /);
  await until(async () => (await s.server.store.mailboxes.get('alice@example.com'))!.heldSince !== null);
  const m = (await s.server.store.mailboxes.get('alice@example.com'))!;
  assert.match(m.holdReason!, /6 recipient domains this hour/);
  assert.ok(s.logs.some((l) => l.evt === 'contain' && l.mailbox === 'alice@example.com' && /recipient domains/.test(String(l.reason))));
  // the notice to the customer contact and the postmaster
  await until(() => s.logs.some((l) => l.evt === 'contain' && typeof l.notice === 'string'));
  const noticeId = s.logs.find((l) => l.evt === 'contain' && typeof l.notice === 'string')!.notice as string;
  const notice = await s.server.store.queue.get(noticeId);
  assert.deepEqual(notice!.recipients.map((r) => r.address).sort(), ['abuse@provider.test', 'owner@acme-home.test']);
  assert.equal(notice!.sender, '');
  assert.match((await s.body(noticeId)).toString(), /Subject: Sending from alice@example\.com was stopped \(suspected misuse\)/);
  // further mail of the held mailbox is accepted into the hold queue, not sent
  const heldReply = await send(s, 'alice@example.com', 'alice-secret-1', ['victim9@d9.test'], '127.0.0.9');
  assert.match(heldReply, /^250 /);
  const heldId = /queued as (\S+)/.exec(heldReply)![1]!;
  assert.equal((await s.server.store.queue.get(heldId))!.state, 'held');
  // the other customer is not affected
  assert.match(await send(s, 'bob@other.example', 'bob-secret-111', ['x@y.test']), /^250 /);
  // the 6th domain tripped it (1 own + 5 thief messages): at most the thief's 6th message and
  // the one above were kept back
  const holds = await s.admin.listHolds();
  assert.deepEqual(
    holds.mailboxes.map((h) => h.mailbox.address),
    ['alice@example.com'],
  );
  const kept = holds.mailboxes[0]!.heldMessages;
  assert.ok(kept >= 1 && kept <= 2, `held ${kept}`);
  const mine = await s.server.store.queue.list({ authUser: 'alice@example.com' });
  assert.equal(mine.length, 8, 'everything was accepted (1 own, 6 burst, 1 after the hold)');
  assert.equal(mine.filter((q) => q.state === 'queued').length, 8 - kept, 'what came before the trip is queued, the rest held');
  // purge deletes what it kept back; release ends the hold
  assert.equal(await s.admin.purgeHold('alice@example.com', async () => undefined), kept);
  assert.equal(await s.server.store.queue.get(heldId), null);
  await s.admin.releaseHold('alice@example.com');
  assert.equal((await s.server.store.mailboxes.get('alice@example.com'))!.heldSince, null);
  t += HOUR; // a new hour: the real user sends again
  const after = await send(s, 'alice@example.com', 'alice-secret-1', ['friend@gmail.test']);
  assert.equal((await s.server.store.queue.get(/queued as (\S+)/.exec(after)![1]!))!.state, 'queued');
});

test("recipients far above the mailbox's own baseline, and logins from many networks, also trip; onHold refuse refuses", async () => {
  const s = await server({ minRecipientsPerHour: 5, baselineFactor: 3, maxDomainsPerHour: 1000, maxNetworksPerHour: 3, onHold: 'refuse' });
  assert.match(
    await send(
      s,
      'alice@example.com',
      'alice-secret-1',
      Array.from({ length: 6 }, (_, i) => `r${i}@same.test`),
    ),
    /^250 /,
  );
  await until(async () => (await s.server.store.mailboxes.get('alice@example.com'))!.heldSince !== null);
  assert.match(
    (await s.server.store.mailboxes.get('alice@example.com'))!.holdReason!,
    /6 recipients this hour, against a usual 0\.0 an hour/,
  );
  assert.match(await send(s, 'alice@example.com', 'alice-secret-1', ['x@same.test']), /^550 5\.7\.1 This mailbox is on hold/);
  await s.admin.releaseHold('alice@example.com');
  // logins from 4 networks within the hour
  t += HOUR;
  for (const ip of ['127.0.1.1', '127.0.2.1', '127.0.3.1'])
    assert.match(await send(s, 'bob@other.example', 'bob-secret-111', ['x@y.test'], ip), /^250 /);
  assert.equal((await s.server.store.mailboxes.get('bob@other.example'))!.heldSince, null, 'three networks are fine');
  await send(s, 'bob@other.example', 'bob-secret-111', ['x@y.test'], '127.0.4.1');
  await until(async () => (await s.server.store.mailboxes.get('bob@other.example'))!.heldSince !== null);
  assert.match((await s.server.store.mailboxes.get('bob@other.example'))!.holdReason!, /logins from 4 networks this hour/);
});

test('a high share of deferred and failed deliveries puts the mailbox on hold at its next message', async () => {
  const { startDeliveryLab, until: waitFor } = await import('../helpers/delivery-lab.ts');
  const lab = await startDeliveryLab(
    {
      'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
      'mx.remote.test': { A: ['127.0.0.2'] },
      'example.com': { MX: [{ preference: 10, exchange: 'mx.example.com' }] },
      'mx.example.com': { A: ['127.0.0.4'] },
    },
    {},
    { containment: { minOutcomes: 3, maxFailureRatio: 0.5 } } as never,
  );
  try {
    await lab.mx('127.0.0.2', { rcpt: { code: 550, text: '5.1.1 no such user' } });
    await lab.mx('127.0.0.4', {});
    for (let i = 0; i < 3; i++) {
      const id = await lab.submit({ to: `bought${i}@remote.test` });
      await waitFor(
        async () => (await lab.s.server.store.queue.attempts(id)).length === 1 || (await lab.s.server.store.queue.get(id)) === null,
        5000,
        'the attempt',
      );
    }
    const alice = (await lab.s.server.store.mailboxes.get('alice@example.com'))!;
    await waitFor(
      async () => (await lab.s.server.store.activity.hour(alice.id, Date.now() - (Date.now() % HOUR))).bad >= 3,
      5000,
      'the counts',
    );
    await lab.submit({ to: 'bought9@remote.test' });
    await waitFor(async () => (await lab.s.server.store.mailboxes.get('alice@example.com'))!.heldSince !== null, 5000, 'the hold');
    assert.match(
      (await lab.s.server.store.mailboxes.get('alice@example.com'))!.holdReason!,
      /3 of 3 delivery attempts this hour deferred or failed/,
    );
  } finally {
    await lab.close();
  }
});
