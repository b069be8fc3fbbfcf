/**
 * Suspending and resuming a customer (`postern customer suspend|resume`), walked over every
 * way in: SMTP AUTH (the suspension is told only once the password is right), a session
 * that logged in before, the send API (site token and mailbox login), `postern sendmail`
 * (exit 77), the admin API with the customer's token; its queued mail is held (neither
 * delivered nor bounced) and delivered after the resume; another customer is untouched.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import { submitAs, tempDir } from '../helpers/server.ts';
import { SmtpClient } from '../helpers/smtp-client.ts';
import { runSendmail } from '../helpers/sendmail.ts';
import { apiPost } from '../helpers/api.ts';
import { createAdminClient } from '../helpers/admin-api.ts';
import { makeWorkspace, ok, refused, serveYaml, type CliResult, type Workspace } from '../helpers/cli.ts';
import { runCli as runInProcess } from '../../src/admin/cli/index.ts';
import { localPaths } from '../../src/config/index.ts';
import type { FakeMx } from '../helpers/fake-mx.ts';
import { assertSigned, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts';

const ZONE = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
  'mx.remote.test': { A: ['127.0.0.2'] },
};

let lab: DeliveryLab;
let mx: FakeMx;
let ws: Workspace;
let siteToken: string;
let panelToken: string;
let tokenFile: string;
let dir: string;
let rx: Receiver;
let hookSecret: string;
/** The remote MX greylists until this is true. */
let open = false;

async function cli(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runInProcess(['node', 'postern', '-c', ws.config, ...args], {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    readStdin: async () => '',
  });
  return { code, signal: null, stdout: out.map((l) => `${l}\n`).join(''), stderr: err.join('\n') };
}

const sendmail = (input: string) => runSendmail(tokenFile, ['-t', '-i'], input);

const ALICE = { user: 'alice@example.com', pass: 'alice-secret-1' };
const BOB = { user: 'bob@other.example', pass: 'bob-secret-11' };
const PHP = 'To: c1@remote.test\nFrom: orders@example.com\nSubject: Order\n\nThanks.\n';

before(async () => {
  lab = await startDeliveryLab(ZONE, {}, { webhooks: { allowInsecure: true, allowNetworks: ['127.0.0.0/8'], pollIntervalMs: 50 } });
  rx = await startReceiver();
  hookSecret = (await lab.s.admin.addWebhook({ customer: 'acme', url: rx.url, events: ['customer.suspended', 'customer.resumed'] })).secret;
  mx = await lab.mx('127.0.0.2', { rcpt: () => (open ? 'accept' : { code: 451, text: '4.7.1 greylisted, try again later' }) });
  await lab.s.addMailbox(BOB.user, BOB.pass, 'other');
  siteToken = (await lab.s.admin.addSite('shop', { customer: 'acme', unixUser: 'shopweb', sendAs: ['orders@example.com'], domain: [] }))
    .token;
  panelToken = (await lab.s.admin.addToken('acme-panel', { customer: 'acme' })).token;
  dir = tempDir('postern-suspend-');
  tokenFile = path.join(dir, 'site-token');
  fs.writeFileSync(
    tokenFile,
    `token=${siteToken}\nsocket=${lab.s.server.local!.socketPath}\ndropDir=${localPaths(lab.s.config).dropDir}\n`,
    { mode: 0o600 },
  );
  ws = makeWorkspace(
    serveYaml([{ role: 'submission', port: 10587 }]).replace('dataDir: ./data', `dataDir: ${JSON.stringify(lab.s.dataDir)}`),
  );
});

after(async () => {
  await lab.close();
  await rx.close();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('suspend: every way in of the customer is refused, its queued mail held; resume: all of it works again and the held mail is delivered', async () => {
  // before: everything sends
  const queued = await lab.submit({ to: 'early@remote.test', subject: 'queued before the suspension' });
  await until(async () => (await lab.s.server.store.queue.attempts(queued)).length >= 1, 10_000, 'a first (deferred) attempt');
  assert.equal((await apiPost(lab.s, { auth: { token: siteToken }, body: PHP })).status, 202);
  assert.equal((await sendmail(PHP)).code, 0);
  const api = createAdminClient(lab.s);
  await api.expect(200, 'get', '/customers/{name}', { token: panelToken, params: { name: 'acme' } });
  const session = await SmtpClient.connect(lab.s.port('submission'));
  await session.login(ALICE.user, ALICE.pass);

  const s = ok(await cli(['customer', 'suspend', 'acme']), 'customer suspend');
  assert.match(
    s.stdout,
    /customer acme suspended: its mailboxes, sites and tokens are refused; \d+ queued messages? held until it is resumed/,
  );
  refused(await cli(['customer', 'suspend', 'acme']), /customer acme is already suspended/, 'a second suspend');
  assert.match(ok(await cli(['customer', 'list']), 'customer list').stdout, /acme\s+suspended/);

  // SMTP AUTH: the right password learns the account is suspended, a wrong one learns nothing
  assert.match(
    await submitAs(lab.s, { user: ALICE.user, pass: ALICE.pass }),
    /^535 5\.7\.8 Authentication refused: this account is suspended; contact your provider/,
  );
  assert.match(await submitAs(lab.s, { user: ALICE.user, pass: 'not-the-password' }), /^535 5\.7\.8 Authentication credentials invalid/);
  // a session that logged in before: its next message is refused
  await session.expect('MAIL FROM:<alice@example.com>', 250);
  await session.expect('RCPT TO:<late@remote.test>', 250);
  await session.expect('DATA', 354);
  await session.expect('Subject: late\r\n\r\nx\r\n.', 550, '5.7.1');
  await session.quit();
  // the send API: a site token and a mailbox login
  const bySite = await apiPost(lab.s, { auth: { token: siteToken }, body: PHP });
  assert.equal(bySite.status, 403);
  assert.equal(bySite.json.reason, 'suspended');
  assert.match(String(bySite.json.detail), /account is suspended/);
  const byLogin = await apiPost(lab.s, { auth: { user: ALICE.user, pass: ALICE.pass }, body: PHP.replace('orders@', 'alice@') });
  assert.equal(byLogin.status, 403);
  assert.match(String(byLogin.json.detail), /account is suspended/);
  // sendmail: EX_NOPERM, one line
  const sm = await sendmail(PHP);
  assert.equal(sm.code, 77, sm.stderr);
  assert.match(sm.stderr, /suspended/);
  // the customer's admin API token
  const denied = await api.expect(403, 'get', '/customers/{name}', { token: panelToken, params: { name: 'acme' } });
  assert.match(denied.json.detail, /suspended/);
  // another customer sends as before
  assert.match(await submitAs(lab.s, { user: BOB.user, pass: BOB.pass, to: ['bob-out@remote.test'] }), /^250 /);

  // its queued mail is held: not delivered, not bounced, even with the MX open
  const held = (await lab.s.server.store.queue.list({ customer: 'acme' })).filter((m) => m.sender !== '');
  assert.ok(held.length >= 3, `three messages of acme queued: ${held.length}`);
  assert.ok(
    held.every((m) => m.state === 'held' && m.holdReason === 'customer'),
    JSON.stringify(held.map((m) => [m.id, m.state, m.holdReason])),
  );
  open = true;
  await until(() => mx.received.some((m) => m.to.includes('bob-out@remote.test')), 10_000, "the other customer's mail");
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(
    !mx.received.some((m) => m.to.includes('early@remote.test') || m.to.includes('c1@remote.test')),
    'nothing of acme delivered while suspended',
  );
  assert.equal((await lab.s.server.store.queue.get(queued))!.state, 'held');

  const r = ok(await cli(['customer', 'resume', 'acme']), 'customer resume');
  assert.match(r.stdout, new RegExp(`customer acme resumed; ${held.length} held messages released`));
  await until(
    async () => !(await lab.s.server.store.queue.list({ customer: 'acme' })).some((m) => m.sender !== ''),
    10_000,
    'the held mail delivered',
  );
  assert.ok(
    mx.received.some((m) => m.to.includes('early@remote.test')),
    'the message queued before the suspension is delivered',
  );
  assert.equal(mx.received.filter((m) => m.to.includes('c1@remote.test')).length, 2, "the site's two messages from before the suspension");
  assert.match(await submitAs(lab.s, { user: ALICE.user, pass: ALICE.pass, to: ['after@remote.test'] }), /^250 /);
  assert.equal((await apiPost(lab.s, { auth: { token: siteToken }, body: PHP })).status, 202);
  assert.equal((await sendmail(PHP)).code, 0);
  await api.expect(200, 'get', '/customers/{name}', { token: panelToken, params: { name: 'acme' } });
  refused(await cli(['customer', 'resume', 'acme']), /customer acme is not suspended/, 'resuming an active customer');

  // the customer's webhook endpoint was told both, signed
  await until(() => rx.received.length >= 2, 10_000, 'the webhooks');
  assert.deepEqual(
    rx.received.map((x) => [x.json.type, x.json.customer]),
    [
      ['customer.suspended', 'acme'],
      ['customer.resumed', 'acme'],
    ],
  );
  assert.equal((rx.received[0]!.json.data as { held: number }).held, held.length);
  for (const x of rx.received) assertSigned(x, hookSecret);

  const trail = (await lab.s.server.store.audit.list({ target: 'customer:acme' })).map((a) => [
    a.action,
    (a.after as { status?: string } | null)?.status,
  ]);
  assert.deepEqual(trail.slice(0, 2), [
    ['resumeCustomer', 'active'],
    ['suspendCustomer', 'suspended'],
  ]);
});

test('suspending an unknown customer is one line and exit 1', async () => {
  refused(await cli(['customer', 'suspend', 'nobody']), /no customer named nobody/, 'unknown customer');
});
