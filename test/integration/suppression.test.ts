/**
 * The suppression list end to end: a fake MX answers 550 5.1.1 for one recipient, so it is
 * suppressed for the sender's customer; the next submission (nodemailer over 587) gets the
 * suppressed reply at RCPT for it while the other recipient is accepted; another customer still
 * sends to it; the send API and `postern sendmail` refuse it the same way; and
 * `postern suppression list|remove` (the real executable) shows it and lifts it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import { makeWorkspace, runCli, ok, refused, parseJson, BIN, type Workspace } from '../helpers/cli.ts';
import { apiPost } from '../helpers/api.ts';
import { tempDir } from '../helpers/server.ts';
import { localPaths } from '../../src/config/index.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';
import type { FakeMx } from '../helpers/fake-mx.ts';

const ZONE: FakeZone = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx1.remote.test' }] },
  'mx1.remote.test': { A: ['127.0.0.2'] },
  'example.com': { MX: [{ preference: 10, exchange: 'mx.example.com' }] }, // bounces to alice
  'mx.example.com': { A: ['127.0.0.4'] },
  'other.example': { MX: [{ preference: 10, exchange: 'mx.example.com' }] },
};
const GONE = '550 5.1.1 <gone@remote.test>: Recipient address rejected: User unknown in virtual mailbox table';
// nodemailer lower-cases the domain; the local part keeps its case
const SUPPRESSED =
  /^550 5\.1\.1 <Gone@[Rr]emote\.test>: suppressed: this address hard-bounced on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \("550 5\.1\.1 <gone@remote\.test>: Recipient address rejected: User unknown in virtual mailbox table"\); remove it from the suppression list \(postern suppression remove\) if it works again$/;

let lab: DeliveryLab;
let mx: FakeMx;
let ws: Workspace;
let tokenFile: string;
const BOB = { user: 'bob@other.example', pass: 'bob-secret-11' };
const ALICE = { user: 'alice@example.com', pass: 'alice-secret-1' };

before(async () => {
  lab = await startDeliveryLab(ZONE);
  mx = await lab.mx('127.0.0.2', {
    rcpt: (c) => ((c.to ?? '').toLowerCase() === 'gone@remote.test' ? { code: 550, text: GONE.slice(4) } : 'accept'),
  });
  await lab.mx('127.0.0.4', {});
  await lab.s.addMailbox(BOB.user, BOB.pass, 'other');
  // the CLI works on the same data folder (SQLite) as the server under test
  ws = makeWorkspace(`hostname: mx.postern.test\ndataDir: ${lab.s.dataDir}\n`);
  const token = (await lab.s.admin.addSite('shop', { customer: 'acme', sendAs: ['alice@example.com'], domain: [] })).token;
  tokenFile = path.join(tempDir('postern-suppression-'), 'site-token');
  fs.writeFileSync(tokenFile, `token=${token}\nsocket=${lab.s.server.local!.socketPath}\ndropDir=${localPaths(lab.s.config).dropDir}\n`, {
    mode: 0o600,
  });
});
after(async () => {
  await lab.close();
  fs.rmSync(ws.dir, { recursive: true, force: true });
  fs.rmSync(path.dirname(tokenFile), { recursive: true, force: true });
});

function transport(auth: { user: string; pass: string }) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: lab.s.port('submission'),
    requireTLS: true,
    auth,
    tls: { rejectUnauthorized: false },
  });
}

async function send(auth: { user: string; pass: string }, to: string[]) {
  const t = transport(auth);
  try {
    return await t.sendMail({ from: auth.user, to, subject: 'again', text: 'hello' });
  } finally {
    t.close();
  }
}

function sendmail(args: string[], input: string): Promise<{ code: number | null; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, POSTERN_SITE_TOKEN_FILE: tokenFile };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'sendmail', ...args], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

const acmeId = async () => (await lab.s.server.store.customers.get('acme'))!.id;

test("a 550 5.1.1 from the MX suppresses the recipient for the sender's customer only", async () => {
  await lab.submit({ to: ['gone@remote.test', 'bob@remote.test'], subject: 'first' });
  const entry = await until(
    async () => lab.s.server.store.suppressions.find(await acmeId(), 'gone@remote.test', Date.now()),
    10_000,
    'the suppression',
  );
  assert.equal(entry.source, 'bounce');
  assert.equal(entry.reason, GONE);
  assert.ok(Math.abs(entry.until - entry.updatedAt - 30 * 86_400_000) < 1000, 'suppression.days: 30 by default');
  const other = (await lab.s.server.store.customers.get('other'))!;
  assert.equal(await lab.s.server.store.suppressions.find(other.id, 'gone@remote.test', Date.now()), null);
  assert.ok(
    lab.s.logs.some((l) => l.evt === 'suppress' && l.to === 'gone@remote.test'),
    'logged',
  );
});

test('nodemailer: the suppressed recipient is refused at RCPT (any case), the other one is accepted', async () => {
  const before = mx.received.length;
  const info = await send(ALICE, ['Gone@Remote.test', 'carol@remote.test']);
  assert.deepEqual(info.accepted, ['carol@remote.test']);
  assert.deepEqual(info.rejected, ['Gone@remote.test']);
  const reply = (info.rejectedErrors?.[0] as { response?: string } | undefined)?.response ?? '';
  assert.match(reply, SUPPRESSED);
  assert.ok(reply.length < 420, `one short line: ${reply.length}`);
  await until(() => mx.received.length > before, 5000, 'delivery to carol');
  assert.deepEqual(mx.received.at(-1)!.to, ['carol@remote.test']);
  const refusedLog = lab.s.logs.find((l) => l.evt === 'rcpt' && l.reason === 'suppressed');
  assert.equal(refusedLog?.rcpt, 'Gone@remote.test');
});

test('another customer may still send to it (and its own hard bounce suppresses it for that customer too)', async () => {
  const info = await send(BOB, ['gone@remote.test']);
  assert.deepEqual(info.accepted, ['gone@remote.test']);
  const other = (await lab.s.server.store.customers.get('other'))!;
  await until(() => lab.s.server.store.suppressions.find(other.id, 'gone@remote.test', Date.now()), 10_000, "other's own suppression");
});

test('send API: problem JSON with the SMTP reply when every recipient is suppressed; 202 listing the refused one otherwise', async () => {
  const all = await apiPost(lab.s, { auth: ALICE, body: { from: ALICE.user, to: 'Gone@Remote.test', subject: 's', text: 'x' } });
  assert.equal(all.status, 400, JSON.stringify(all.json));
  assert.equal(all.headers['content-type'], 'application/problem+json');
  assert.equal(all.json.type, 'urn:postern:problem:suppressed');
  assert.equal(all.json.reason, 'suppressed');
  assert.match(String(all.json.smtp), SUPPRESSED);
  const some = await apiPost(lab.s, {
    auth: ALICE,
    body: { from: ALICE.user, to: ['Gone@Remote.test', 'dave@remote.test'], subject: 's', text: 'x' },
  });
  assert.equal(some.status, 202, JSON.stringify(some.json));
  assert.deepEqual(some.json.recipients, ['dave@remote.test']);
  assert.deepEqual(
    (some.json.refused as { address: string }[]).map((r) => r.address.toLowerCase()),
    ['gone@remote.test'],
  );
  assert.match((some.json.refused as { smtp: string }[])[0]!.smtp, SUPPRESSED);
});

test('postern sendmail: exit 67 (EX_NOUSER) when every recipient is suppressed; a notice on stderr when some are', async () => {
  const msg = (to: string) => `From: alice@example.com\nTo: ${to}\nSubject: hi\n\nhello\n`;
  const all = await sendmail(['-t', '-i'], msg('Gone@Remote.test'));
  assert.equal(all.code, 67, all.stderr);
  assert.match(all.stderr, /^postern sendmail: <Gone@Remote\.test>: suppressed: this address hard-bounced on .* \(550 5\.1\.1\)\n$/);
  const some = await sendmail(['-t', '-i'], msg('Gone@Remote.test, erin@remote.test'));
  assert.equal(some.code, 0, some.stderr);
  assert.match(some.stderr, /^postern sendmail: <Gone@Remote\.test> not sent: 550 5\.1\.1 <Gone@Remote\.test>: suppressed: /);
});

test('postern suppression list shows it; remove lifts it and the next submission is accepted', async () => {
  const rows = parseJson<{ customer: string; address: string; source: string; reason: string }[]>(
    ok(await runCli(ws, ['suppression', 'list', '--json']), 'suppression list'),
  );
  assert.deepEqual(
    rows.map((r) => [r.customer, r.address, r.source, r.reason]),
    [
      ['other', 'gone@remote.test', 'bounce', GONE],
      ['acme', 'gone@remote.test', 'bounce', GONE],
    ],
  );
  const text = ok(await runCli(ws, ['suppression', 'list', '--customer', 'acme']), 'suppression list --customer').stdout;
  assert.match(text, /^CUSTOMER +ADDRESS +SOURCE +SINCE +UNTIL +REASON\nacme +gone@remote\.test +bounce +\d{4}-/);
  assert.equal(parseJson<unknown[]>(ok(await runCli(ws, ['suppression', 'list', '--customer', 'other', '--json']), 'other')).length, 1);
  refused(
    await runCli(ws, ['suppression', 'remove', 'carol@remote.test', '--customer', 'acme']),
    /^postern: carol@remote\.test is not suppressed for customer acme$/,
    'not suppressed',
  );

  assert.equal(
    ok(await runCli(ws, ['suppression', 'remove', 'GONE@remote.test', '--customer', 'acme']), 'remove').stdout,
    'GONE@remote.test is no longer suppressed for customer acme\n',
  );
  const info = await send(ALICE, ['Gone@Remote.test']);
  assert.deepEqual(info.accepted, ['Gone@remote.test'], 'accepted again at once');
  assert.equal(
    parseJson<unknown[]>(ok(await runCli(ws, ['suppression', 'list', '--customer', 'other', '--json']), 'other')).length,
    1,
    "the other customer's entry stays",
  );
  const audit = parseJson<{ action: string; target: string; actor: string }[]>(
    ok(await runCli(ws, ['audit', '--target', 'suppression:acme:gone@remote.test', '--json']), 'audit'),
  );
  assert.equal(audit[0]?.action, 'removeSuppression');
});

test('postern suppression add: an operator entry refuses at RCPT with what the operator wrote; bad input is one line', async () => {
  ok(
    await runCli(ws, ['suppression', 'add', 'frank@remote.test', '--customer', 'acme', '--days', '2', '--reason', 'customer asked']),
    'add',
  );
  await assert.rejects(send(ALICE, ['frank@remote.test']), (e: { response?: string }) =>
    /^550 5\.1\.1 <frank@remote\.test>: suppressed: listed by the postmaster on .* \("customer asked"\)/.test(e.response ?? ''),
  );
  refused(
    await runCli(ws, ['suppression', 'add', 'not-an-address', '--customer', 'acme']),
    /^postern: not a valid address: not-an-address$/,
    'bad address',
  );
  refused(
    await runCli(ws, ['suppression', 'add', 'x@remote.test', '--customer', 'acme', '--days', 'soon']),
    /^postern: --days must be a number of days: soon$/,
    'bad days',
  );
  refused(
    await runCli(ws, ['suppression', 'add', 'x@remote.test', '--customer', 'nobody']),
    /^postern: no customer named nobody/,
    'unknown customer',
  );
});

test('a store that cannot answer the suppression lookup: 451 4.3.0 at RCPT and a 503 problem, never accepted', async () => {
  const repo = lab.s.server.store.suppressions;
  const find = repo.find;
  repo.find = async () => {
    throw new Error('database is locked');
  };
  try {
    const count = await lab.s.server.store.queue.count();
    await assert.rejects(send(ALICE, ['henry@remote.test']), (e: { response?: string }) => /^451 4\.3\.0 /.test(e.response ?? ''));
    const api = await apiPost(lab.s, { auth: ALICE, body: { from: ALICE.user, to: 'henry@remote.test', subject: 's', text: 'x' } });
    assert.equal(api.status, 503, JSON.stringify(api.json));
    assert.match(String(api.json.smtp), /^451 4\.3\.0 /);
    assert.equal(await lab.s.server.store.queue.count(), count, 'nothing queued');
  } finally {
    repo.find = find;
  }
});
