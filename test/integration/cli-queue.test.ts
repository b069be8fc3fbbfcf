/**
 * `postern queue list|show|retry|hold|release|delete` through the real executable. Messages get
 * into the queue without a server: the test opens the workspace's SQLite store directly,
 * enqueues inline bodies (one with a spool file) and records attempts, then closes it before
 * each CLI run. Five messages, oldest first: E (leased to node-a), A (deferred), B (null
 * sender), C (spool file), D (one recipient delivered).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeWorkspace, runCli, serveYaml, ok, refused, parseJson, type Workspace } from '../helpers/cli.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/index.ts';
import { newQueueId, type NewMessage } from '../../src/core/index.ts';

interface MessageRow {
  id: string;
  state: string;
  sender: string;
  customer: string | null;
  recipients: { address: string; state: string; nextAttemptAt: string | null }[];
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.now();
const GREYLIST = '451 4.7.1 greylisted, try again later';

let ws: Workspace;
const ids = {
  E: newQueueId(T0 - 240 * HOUR),
  A: newQueueId(T0 - 2 * HOUR),
  B: newQueueId(T0 - HOUR),
  C: newQueueId(T0 - 30 * MIN),
  D: newQueueId(T0 - 10 * MIN),
};
const cli = (args: string[]) => runCli(ws, args);
const listIds = async (...args: string[]) =>
  parseJson<MessageRow[]>(ok(await cli(['queue', 'list', '--json', ...args]), `queue list ${args.join(' ')}`)).map((m) => m.id);

async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const store = createSqliteStore({ path: path.join(ws.dataDir, 'postern.db') });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function message(id: string, createdAt: number, sender: string, customerId: number | null, to: string[]): NewMessage {
  const body = Buffer.from(`From: ${sender || 'MAILER-DAEMON'}\r\nSubject: test\r\n\r\nhello\r\n`);
  return {
    id,
    customerId,
    mailboxId: null,
    sender,
    size: body.length,
    bodyPath: null,
    body,
    messageIdHeader: `<${id}@postern.test>`,
    clientIp: '192.0.2.7',
    authUser: sender || null,
    listener: 'submission',
    dsnRet: null,
    dsnEnvid: null,
    createdAt,
    recipients: to.map((address) => ({ address })),
  };
}

const update = (messageId: string, idx: number, state: 'deferred' | 'delivered', nextAttemptAt: number, reply: string) => ({
  messageId,
  idx,
  state,
  nextAttemptAt,
  at: T0 - 5 * MIN,
  reply,
  category: state === 'deferred' ? 'greylist' : 'ok',
  remoteHost: 'mx.example.org',
  attempted: true,
});

before(async () => {
  ws = makeWorkspace(serveYaml([{ role: 'submission', port: 10587 }]));
  fs.mkdirSync(path.join(ws.dataDir, 'spool', 'q'), { recursive: true });
  fs.writeFileSync(path.join(ws.dataDir, 'spool', 'q', ids.C), 'a spooled body\r\n');
  await withStore(async (store) => {
    const acme = await store.customers.add('acme');
    const beta = await store.customers.add('beta');
    await store.queue.enqueueBatch([
      message(ids.E, T0 - 240 * HOUR, 'eve@example.com', acme.id, ['far@example.org']),
      message(ids.A, T0 - 2 * HOUR, 'alice@example.com', acme.id, ['bob@example.org', 'carol@example.net']),
      message(ids.B, T0 - HOUR, '', null, ['postmaster@example.org']),
      { ...message(ids.C, T0 - 30 * MIN, 'dave@other.test', beta.id, ['x@example.net']), body: null, bodyPath: `q/${ids.C}` },
      message(ids.D, T0 - 10 * MIN, 'alice@example.com', acme.id, ['y@example.org', 'z@example.org']),
    ]);
    await store.queue.record([
      update(ids.A, 0, 'deferred', T0 + 30 * MIN, GREYLIST),
      update(ids.C, 0, 'deferred', T0 + HOUR, GREYLIST),
      update(ids.D, 0, 'delivered', 0, '250 2.0.0 Ok'),
      update(ids.D, 1, 'deferred', T0 + HOUR, GREYLIST),
    ]);
    // Only E is due this long ago: its recipient is in flight on node-a for a day from now.
    const jobs = await store.queue.claim({ owner: 'node-a', now: T0 - 200 * HOUR, leaseMs: 224 * HOUR, limit: 10 });
    assert.deepEqual(
      jobs.map((j) => j.message.id),
      [ids.E],
    );
  });
});
after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));

test('queue list: a table of every message, oldest first', async () => {
  const r = ok(await cli(['queue', 'list']), 'queue list');
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^ID\s+ARRIVED\s+AGE\s+SENDER\s+SIZE\s+STATE\s+RECIPIENTS$/);
  assert.deepEqual(
    lines.slice(1, 6).map((l) => l.split(/\s+/)[0]),
    [ids.E, ids.A, ids.B, ids.C, ids.D],
  );
  const row = (id: string) => lines.find((l) => l.startsWith(id))!;
  assert.match(row(ids.A), /\s2h(\d+m)?\s+alice@example\.com\s+\d+B\s+1 queued, 1 deferred\s+bob@example\.org \+1$/);
  assert.match(row(ids.A), new RegExp(new Date(T0 - 2 * HOUR).toISOString().slice(0, 19) + 'Z'));
  assert.match(row(ids.B), /\s<>\s/);
  assert.match(row(ids.D), /1 deferred, 1 delivered\s+y@example\.org \+1$/);
  assert.equal(lines.at(-1), '5 message(s)');
});

test('queue list filters: --state, --domain, --sender, --customer, --limit; --json', async () => {
  assert.deepEqual(await listIds(), [ids.E, ids.A, ids.B, ids.C, ids.D]);
  assert.deepEqual(await listIds('--state', 'deferred'), [ids.A, ids.C, ids.D]);
  assert.deepEqual(await listIds('--state', 'delivered'), [ids.D]);
  assert.deepEqual(await listIds('--state', 'queued'), [ids.E, ids.A, ids.B]);
  assert.deepEqual(await listIds('--state', 'failed'), []);
  assert.deepEqual(await listIds('--domain', 'Example.NET'), [ids.A, ids.C]);
  assert.deepEqual(await listIds('--sender', '<>'), [ids.B]);
  assert.deepEqual(await listIds('--sender', 'Alice@example.com'), [ids.A, ids.D]);
  assert.deepEqual(await listIds('--customer', 'beta'), [ids.C]);
  assert.deepEqual(await listIds('--customer', 'acme', '--state', 'deferred'), [ids.A, ids.D]);
  assert.deepEqual(await listIds('--limit', '2'), [ids.E, ids.A]);
  const [a] = parseJson<MessageRow[]>(
    ok(await cli(['queue', 'list', '--json', '--sender', 'alice@example.com', '--limit', '1']), 'list --json'),
  );
  assert.deepEqual([a.id, a.state, a.sender, a.customer], [ids.A, 'queued', 'alice@example.com', 'acme']);
  assert.deepEqual(
    a.recipients.map((r) => [r.address, r.state, r.nextAttemptAt]),
    [
      ['bob@example.org', 'deferred', new Date(T0 + 30 * MIN).toISOString()],
      ['carol@example.net', 'queued', new Date(T0 - 2 * HOUR).toISOString()],
    ],
  );
  assert.equal(ok(await cli(['queue', 'list', '--state', 'failed']), 'no match').stdout, 'no message matches\n');
  refused(
    await cli(['queue', 'list', '--state', 'stuck']),
    /--state must be one of queued, deferred, delivered, failed, held: stuck/,
    'bad state',
  );
  refused(await cli(['queue', 'list', '--customer', 'nobody']), /no customer named nobody/, 'unknown customer');
  refused(await cli(['queue', 'list', '--limit', '0']), /--limit must be a positive whole number/, 'bad limit');
});

test('queue show: a deferred message with its last reply, next attempt and attempts', async () => {
  const out = ok(await cli(['queue', 'show', ids.A]), 'queue show').stdout;
  for (const re of [
    new RegExp(`^message\\s+${ids.A}$`, 'm'),
    /^state\s+queued$/m,
    /^sender\s+alice@example\.com$/m,
    /^customer\s+acme$/m,
    /^auth user\s+alice@example\.com$/m,
    /^client\s+192\.0\.2\.7 on listener submission$/m,
    /^arrived\s+\S+Z \(2h(\d+m)? ago\)$/m,
    new RegExp(`^message-id\\s+<${ids.A}@postern\\.test>$`, 'm'),
    /^recipient bob@example\.org: deferred, 1 attempt$/m,
    /^ {2}last attempt\s+\S+Z \(\d+m ago\) at mx\.example\.org$/m,
    new RegExp(`^  last reply\\s+${GREYLIST}$`, 'm'),
    /^ {2}next attempt\s+\S+Z \(in \d+m\)$/m,
    /^recipient carol@example\.net: queued, 0 attempts\n {2}next attempt\s+due now$/m,
    /^TIME\s+RECIPIENT\s+OUTCOME\s+REMOTE\s+REPLY$/m,
    new RegExp(`^\\S+Z\\s+bob@example\\.org\\s+deferred\\s+mx\\.example\\.org\\s+${GREYLIST}$`, 'm'),
  ])
    assert.match(out, re);
  const json = parseJson<MessageRow & { attempts: { recipientIdx: number; outcome: string; reply: string }[] }>(
    ok(await cli(['queue', 'show', ids.A, '--json']), 'show --json'),
  );
  assert.deepEqual(
    json.attempts.map((a) => [a.recipientIdx, a.outcome, a.reply]),
    [[0, 'deferred', GREYLIST]],
  );
  assert.match(ok(await cli(['queue', 'show', ids.B]), 'show null sender').stdout, /^sender\s+<> \(null sender\)$/m);
  assert.match(ok(await cli(['queue', 'show', ids.E]), 'show in flight').stdout, /^ {2}next attempt\s+in flight on node-a until \S+Z$/m);
  assert.match(
    ok(await cli(['queue', 'show', ids.D]), 'show partly delivered').stdout,
    /^recipient y@example\.org: delivered, 1 attempt\n {2}last attempt.*\n {2}last reply\s+250 2\.0\.0 Ok\nrecipient z/m,
  );
  const missing = await cli(['queue', 'show', 'NOPE']);
  assert.equal(missing.code, 1);
  refused(missing, /^postern: no message NOPE in the queue$/, 'show unknown');
});

test('queue retry ID and --all: how many recipients were made due now', async () => {
  assert.equal(ok(await cli(['queue', 'retry', ids.A]), 'retry A').stdout, '1 recipient due now\n');
  assert.match(ok(await cli(['queue', 'retry', ids.A]), 'retry A again').stdout, /^0 recipients due now/);
  assert.equal(ok(await cli(['queue', 'retry', '--all']), 'retry --all').stdout, '2 recipients due now\n');
  const next = (await withStore((s) => s.queue.get(ids.C)))!.recipients[0].nextAttemptAt;
  assert.ok(next <= Date.now() && next >= T0, 'C is due now');
  refused(await cli(['queue', 'retry', 'NOPE']), /no message NOPE in the queue/, 'retry unknown');
  for (const args of [[], [ids.A, '--all']]) {
    const r = await cli(['queue', 'retry', ...args]);
    assert.equal(r.code, 64, `retry ${args.join(' ')}: usage error`);
    assert.equal(r.stderr, 'postern: queue retry: give either a message ID or --all\n');
  }
});

test('queue hold / release: held messages wait, a second hold or release says why not', async () => {
  assert.match(ok(await cli(['queue', 'hold', ids.A]), 'hold').stdout, new RegExp(`^${ids.A} held: 2 pending recipients wait`));
  assert.deepEqual(await listIds('--state', 'held'), [ids.A]);
  assert.match(ok(await cli(['queue', 'list']), 'list').stdout, new RegExp(`^${ids.A}\\s.*\\sheld\\s+bob@example\\.org \\+1$`, 'm'));
  assert.match(ok(await cli(['queue', 'show', ids.A]), 'show held').stdout, /^state\s+held: .*\n[\s\S]*next attempt\s+held$/m);
  refused(await cli(['queue', 'hold', ids.A]), new RegExp(`message ${ids.A} is already held`), 'hold twice');
  refused(await cli(['queue', 'retry', ids.A]), /is held; release it/, 'retry held');
  refused(await cli(['queue', 'hold', 'NOPE']), /no message NOPE in the queue/, 'hold unknown');
  assert.match(ok(await cli(['queue', 'release', ids.A]), 'release').stdout, new RegExp(`^${ids.A} released: 2 recipients due now`));
  refused(await cli(['queue', 'release', ids.A]), new RegExp(`message ${ids.A} is not held \\(it is queued\\)`), 'release twice');
  assert.deepEqual(await listIds('--state', 'held'), []);
});

test('queue delete: the message and its spool file are gone', async () => {
  const file = path.join(ws.dataDir, 'spool', 'q', ids.C);
  assert.ok(fs.existsSync(file));
  assert.equal(ok(await cli(['queue', 'delete', ids.C]), 'delete C').stdout, `deleted ${ids.C}\n`);
  assert.ok(!fs.existsSync(file), 'spool file removed');
  assert.ok(!(await listIds()).includes(ids.C));
  refused(await cli(['queue', 'delete', ids.C]), new RegExp(`no message ${ids.C} in the queue`), 'delete twice');
  const e = ok(await cli(['queue', 'delete', ids.E]), 'delete in flight').stdout;
  assert.equal(e, `deleted ${ids.E}\nnote: 1 recipient in flight on node-a: that attempt may still deliver\n`);
});

test('queue delete --bounce: cancelled for the running server; the null sender is just deleted', async () => {
  assert.equal(
    ok(await cli(['queue', 'delete', ids.A, '--bounce']), 'delete --bounce').stdout,
    `${ids.A} cancelled: the running server bounces its 2 pending recipient(s) to <alice@example.com>\n`,
  );
  assert.equal((await withStore((s) => s.queue.get(ids.A)))!.state, 'cancelled');
  assert.match(ok(await cli(['queue', 'show', ids.A]), 'show cancelled').stdout, /^state\s+cancelled: /m);
  refused(await cli(['queue', 'delete', ids.A, '--bounce']), /is already cancelled/, 'cancel twice');
  refused(await cli(['queue', 'hold', ids.A]), /is cancelled \(being bounced\) and cannot be held/, 'hold cancelled');
  assert.equal(
    ok(await cli(['queue', 'delete', ids.B, '--bounce']), 'bounce null sender').stdout,
    `${ids.B} has the null sender: no bounce can be sent; deleted ${ids.B}\n`,
  );
  assert.equal(await withStore((s) => s.queue.get(ids.B)), null);
});

test('an empty queue says so and exits 0', async () => {
  ok(await cli(['queue', 'delete', ids.A]), 'delete A');
  ok(await cli(['queue', 'delete', ids.D]), 'delete D');
  assert.equal(ok(await cli(['queue', 'list']), 'empty list').stdout, 'queue is empty\n');
  assert.deepEqual(await listIds(), []);
});
