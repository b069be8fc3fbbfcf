/**
 * Every misbehaviour of a remote MX, through the whole pipeline (submit on 587, scheduler,
 * delivery, retry decision, store): each case ends in the right recipient state with the
 * remote's reply, within its timeout, and nothing is delivered twice outside the after-the-dot
 * window. The attempt-level details are in src/delivery/attempt.test.ts.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import type { FakeMxOptions, FakeMxScript } from '../helpers/fake-mx.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';

const ZONE: FakeZone = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx1.remote.test' }] },
  'mx1.remote.test': { A: ['127.0.0.2'] },
  'example.com': { MX: [{ preference: 10, exchange: 'mx.example.com' }] },
  'mx.example.com': { A: ['127.0.0.4'] },
  'many.test': { MX: Array.from({ length: 1000 }, (_, i) => ({ preference: i, exchange: `mx${i}.many.test` })) },
  'mx0.many.test': { A: ['127.0.0.2'] },
  'servfail.test': { behavior: 'servfail' },
};

interface Case {
  name: string;
  script: FakeMxScript;
  opts?: FakeMxOptions;
  to?: string;
  state: 'deferred' | 'failed' | 'delivered';
  reply: RegExp;
  /** A DSN must reach the sender. */
  bounce?: boolean;
}

const CASES: Case[] = [
  {
    name: '421 at the greeting',
    script: { greeting: { code: 421, text: '4.3.2 too busy' } },
    state: 'deferred',
    reply: /421 4\.3\.2 too busy/,
  },
  { name: 'no greeting', script: { greeting: 'no-greeting' }, state: 'deferred', reply: /greeting|timeout|timed out/i },
  { name: '4xx at MAIL', script: { mail: { code: 451, text: '4.3.0 try later' } }, state: 'deferred', reply: /451 4\.3\.0 try later/ },
  {
    name: '5xx at MAIL',
    script: { mail: { code: 550, text: '5.7.1 sender blocked' } },
    state: 'failed',
    reply: /550 5\.7\.1 sender blocked/,
    bounce: true,
  },
  {
    name: '4xx at RCPT',
    script: { rcpt: { code: 450, text: '4.2.0 mailbox busy' } },
    state: 'deferred',
    reply: /450 4\.2\.0 mailbox busy/,
  },
  {
    name: '5xx at RCPT',
    script: { rcpt: { code: 550, text: '5.1.1 unknown user' } },
    state: 'failed',
    reply: /550 5\.1\.1 unknown user/,
    bounce: true,
  },
  {
    name: '4xx after DATA',
    script: { data: { code: 452, text: '4.3.1 out of space' } },
    state: 'deferred',
    reply: /452 4\.3\.1 out of space/,
  },
  { name: '5xx after DATA', script: { data: { code: 554, text: '5.7.1 spam' } }, state: 'failed', reply: /554 5\.7\.1 spam/, bounce: true },
  { name: 'connection dropped mid-DATA', script: { data: 'drop' }, state: 'deferred', reply: /closed|ECONNRESET|unexpected/i },
  { name: 'silent after the final dot', script: { data: 'silent-after-dot' }, state: 'deferred', reply: /may be delivered twice/ },
  {
    name: 'hung TLS handshake (plaintext retry accepted)',
    script: { starttls: 'hang-handshake' },
    opts: { tls: true },
    state: 'delivered',
    reply: /^250/,
  },
  { name: 'a 1 MB reply line', script: { rcpt: { hugeLine: 1024 * 1024, code: 550 } }, state: 'deferred', reply: /.{1,700}/ },
  { name: '1,000 MX records: the first usable one takes it', script: {}, to: 'x@many.test', state: 'delivered', reply: /^250/ },
  { name: 'SERVFAIL on the MX lookup', script: {}, to: 'x@servfail.test', state: 'deferred', reply: /451 4\.4\.3 .*temporarily/ },
];

let lab: DeliveryLab | null = null;
afterEach(async () => {
  await lab?.close();
  lab = null;
});

for (const c of CASES) {
  test(`remote fault: ${c.name} → ${c.state}`, async () => {
    // one attempt per case: the first retry is an hour away
    lab = await startDeliveryLab(ZONE, { retryMinutes: [60] });
    const remote = await lab.mx('127.0.0.2', c.script, c.opts);
    const home = await lab.mx('127.0.0.4', {});
    const started = Date.now();
    const id = await lab.submit({ to: c.to ?? 'bob@remote.test' });
    const log = await until(() => lab!.s.logs.find((l) => l.evt === 'delivery' && l.qid === id), 15_000, 'an outcome');
    assert.equal(log.result, c.state, `reply: ${String(log.reply)}`);
    assert.match(String(log.reply), c.reply);
    assert.ok(String(log.reply).length < 2000, 'the reply kept is bounded');
    assert.ok(Date.now() - started < 12_000, 'ended within its timeouts');
    if (c.state === 'deferred') {
      // the log line comes just before the result is committed
      const m = await until(
        async () => {
          const q = await lab!.s.server.store.queue.get(id);
          return q?.recipients[0]?.state === 'deferred' ? q : null;
        },
        5000,
        'the deferral in the store',
      );
      assert.equal(m?.recipients[0]?.state, 'deferred');
      assert.equal(m?.recipients[0]?.attempts, 1);
      assert.ok(m!.recipients[0]!.nextAttemptAt > Date.now() + 30 * 60_000, 'next attempt per the schedule');
      assert.equal((await lab.s.server.store.queue.attempts(id)).length, 1);
    } else {
      await until(async () => (await lab!.s.server.store.queue.get(id)) === null, 5000, 'the message to leave the queue');
    }
    if (c.bounce) await until(() => home.received.length === 1, 5000, 'the DSN');
    else assert.equal(home.received.length, 0, 'no DSN');
    assert.ok(remote.received.length <= 1, 'never delivered twice');
  });
}

test('a pooled connection the server closed while idle is not used: the next message gets a new one', async () => {
  lab = await startDeliveryLab(ZONE, { reuseIdleSeconds: 30 });
  const mx1 = await lab.mx('127.0.0.2', {}, { server: { socketTimeout: 200 } });
  await lab.submit({ to: 'a@remote.test' });
  await until(() => mx1.received.length === 1, 5000, 'first delivery');
  await new Promise((r) => setTimeout(r, 600)); // the server times the idle connection out
  const id = await lab.submit({ to: 'b@remote.test' });
  await until(() => mx1.received.length === 2, 5000, 'second delivery');
  const log = lab.s.logs.find((l) => l.evt === 'delivery' && l.qid === id);
  assert.equal(log?.result, 'delivered');
  assert.equal(log?.attempts, 1);
  assert.equal(mx1.sessions, 2);
});
