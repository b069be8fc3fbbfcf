/**
 * Renaming and removing customers, removing and moving domains, through the real CLI against a
 * running server that delivers to a fake MX: who can send before and after (SMTP, send API),
 * what happens to queued mail (drained: delivered first, with a bounded wait; bounced), the
 * dry run that changes nothing, and that nothing of a removed tenant remains but its tracked
 * messages (marked) and the audit trail.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import { submitAs } from '../helpers/server.ts';
import { SmtpClient } from '../helpers/smtp-client.ts';
import { runSendmail } from '../helpers/sendmail.ts';
import { localPaths } from '../../src/config/index.ts';
import path from 'node:path';
import { apiPost } from '../helpers/api.ts';
import { makeWorkspace, ok, refused, serveYaml, parseJson, type CliResult, type Workspace } from '../helpers/cli.ts';
import { runCli as runInProcess } from '../../src/admin/cli/index.ts';
import type { FakeMx } from '../helpers/fake-mx.ts';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.ts';

const ZONE = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
  'mx.remote.test': { A: ['127.0.0.2'] },
  'closed.test': { MX: [{ preference: 10, exchange: 'mx.closed.test' }] },
  'mx.closed.test': { A: ['127.0.0.3'] },
};

let lab: DeliveryLab;
let mx: FakeMx;
let ws: Workspace;
let open = false;
let rx: Receiver;

async function cli(...args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runInProcess(['node', 'postern', '-c', ws.config, ...args], {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    readStdin: async () => '',
  });
  return { code, signal: null, stdout: out.map((l) => `${l}\n`).join(''), stderr: err.join('\n') };
}
const store = () => lab.s.server.store;
const PW = 'a-long-password-1';

before(async () => {
  lab = await startDeliveryLab(ZONE, {}, { webhooks: { allowInsecure: true, allowNetworks: ['127.0.0.0/8'], pollIntervalMs: 50 } });
  rx = await startReceiver();
  mx = await lab.mx('127.0.0.2', { rcpt: () => (open ? 'accept' : { code: 451, text: '4.7.1 greylisted, try again later' }) });
  await lab.mx('127.0.0.3', { rcpt: { code: 451, text: '4.7.1 not now' } });
  ws = makeWorkspace(
    serveYaml([{ role: 'submission', port: 10587 }]).replace('dataDir: ./data', `dataDir: ${JSON.stringify(lab.s.dataDir)}`),
  );
});

after(async () => {
  await lab.close();
  await rx.close();
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('customer rename: logins, mail and history follow; a taken or bad name is refused', async () => {
  await lab.s.addMailbox('erin@rename.example', PW, 'renamed-old');
  await lab.s.admin.addCustomer('taken');
  assert.match(
    ok(await cli('customer', 'rename', 'renamed-old', 'renamed-new'), 'rename').stdout,
    /customer renamed-old renamed to renamed-new/,
  );
  refused(await cli('customer', 'rename', 'renamed-new', 'taken'), /customer taken already exists/, 'a taken name');
  refused(await cli('customer', 'rename', 'renamed-new', 'bad name!'), /invalid customer name/, 'a bad name');
  refused(await cli('customer', 'rename', 'renamed-old', 'x'), /no customer named renamed-old/, 'the old name is gone');
  assert.equal((await store().mailboxes.get('erin@rename.example'))!.customerName, 'renamed-new');
  const id = /queued as (\S+)/.exec(await submitAs(lab.s, { user: 'erin@rename.example', pass: PW, to: ['closed@closed.test'] }))![1]!;
  assert.equal((await store().queue.get(id))!.customerName, 'renamed-new');
  const trail = await store().audit.list({ target: 'customer:renamed-old' });
  assert.equal(trail[0]!.action, 'renameCustomer');
  assert.deepEqual(
    [(trail[0]!.before as { name: string }).name, (trail[0]!.after as { name: string }).name],
    ['renamed-old', 'renamed-new'],
  );
  await store().queue.remove(id);
});

test('customer remove: needs --dry-run or --yes; the dry run lists everything and changes nothing; --drain waits (bounded), then removes all but marked tracking', async () => {
  await lab.s.addMailbox('g@gone.example', PW, 'gone');
  const gone = (await store().customers.get('gone'))!;
  const domain = (await store().domains.get('gone.example'))!;
  await store().dkim.add({
    domainId: domain.id,
    selector: 'pst1',
    algorithm: 'ed25519-sha256',
    privateKey: 'sealed-private',
    publicKey: 'PUBLICKEYBASE64',
    state: 'active',
  });
  const { token } = await lab.s.admin.addSite('gsite', { customer: 'gone', sendAs: ['news@gone.example'] });
  await lab.s.admin.addToken('gone-panel', { customer: 'gone' });
  await lab.s.admin.addWebhook({ customer: 'gone', url: rx.url, events: ['customer.removed'] });
  await lab.s.admin.addSuppression('x@remote.test', { customer: 'gone' });
  assert.equal((await store().suppressions.list({ customerId: gone.id })).length, 1);
  const queued = /queued as (\S+)/.exec(await submitAs(lab.s, { user: 'g@gone.example', pass: PW, to: ['last@remote.test'] }))![1]!;
  const tokenFile = path.join(ws.dir, 'gsite-token');
  fs.writeFileSync(tokenFile, `token=${token}\nsocket=${lab.s.server.local!.socketPath}\ndropDir=${localPaths(lab.s.config).dropDir}\n`, {
    mode: 0o600,
  });
  const php = 'To: php@remote.test\nFrom: news@gone.example\nSubject: x\n\nx\n';
  const before = await runSendmail(tokenFile, ['-t', '-i'], php);
  assert.equal(before.code, 0, before.stderr);
  // the site's message is not what this test follows: out of the queue, so the plan below lists one
  for (const m of await store().queue.list({ customer: 'gone' })) if (m.id !== queued) await store().queue.remove(m.id);

  const usage = await cli('customer', 'remove', 'gone');
  assert.equal(usage.code, 64);
  assert.match(usage.stderr, /look first with --dry-run, then confirm with --yes/);
  const dry = ok(await cli('customer', 'remove', 'gone', '--dry-run'), 'dry run').stdout;
  assert.match(dry, /customer gone \(dry run: nothing changed\)/);
  assert.match(dry, /domains would be removed: gone\.example/);
  assert.match(dry, /mailboxes would be removed: g@gone\.example/);
  assert.match(dry, /sites would be removed: gsite/);
  assert.match(dry, /sender grants would be removed: site:gsite address:news@gone\.example/);
  assert.match(
    dry,
    /1 private key to be destroyed; these records can then be removed from DNS:\n\s+pst1\._domainkey\.gone\.example\. IN TXT "v=DKIM1; k=ed25519; p=PUBLICKEYBASE64"/,
  );
  assert.match(dry, /suppressions would be removed: 1/);
  assert.match(dry, /API tokens would be removed: gone-panel/);
  assert.match(dry, /webhook endpoints would be removed: wh_\S+ http:\/\/127\.0\.0\.1/);
  assert.match(
    dry,
    new RegExp(`queued messages \\(1\\): ${queued} queued from g@gone\\.example -> delivered first \\(waiting at most 120 s\\)`),
  );
  assert.match(dry, /kept: the audit trail; message tracking until its retention time, marked customer:gone/);
  const json = parseJson<{ domains: string[]; dkim: { record: string }[]; done: boolean }>(
    ok(await cli('customer', 'remove', 'gone', '--dry-run', '--json'), 'dry run json'),
  );
  assert.deepEqual([json.domains, json.dkim.map((k) => k.record), json.done], [['gone.example'], ['pst1._domainkey.gone.example'], false]);
  assert.equal((await store().customers.get('gone'))!.status, 'active', 'the dry run changed nothing');
  assert.match(await submitAs(lab.s, { user: 'g@gone.example', pass: PW }), /^ok$/);

  // the MX greylists: the drain runs out of time, nothing is removed, the customer is refused meanwhile
  refused(
    await cli('customer', 'remove', 'gone', '--yes', '--wait', '1'),
    new RegExp(`customer gone is not removed: 1 queued message\\(s\\) still there after 1 s \\(${queued} queued\\); nothing was removed`),
    'a drain that runs out of time',
  );
  assert.equal((await store().customers.get('gone'))!.status, 'removing');
  const unfinished = (await store().audit.list({ target: 'customer:gone' }))[0]!;
  assert.deepEqual(
    [unfinished.action, (unfinished.before as { status: string }).status, (unfinished.after as { status: string }).status],
    ['removeCustomer:unfinished', 'active', 'removing'],
  );
  assert.ok(await store().domains.get('gone.example'));
  assert.match(await submitAs(lab.s, { user: 'g@gone.example', pass: PW }), /^535 5\.7\.8 .*this account is suspended/);
  assert.equal((await apiPost(lab.s, { auth: { token }, body: 'To: a@remote.test\nFrom: news@gone.example\n\nx\n' })).status, 403);
  assert.equal((await runSendmail(tokenFile, ['-t', '-i'], php)).code, 77, 'sendmail: EX_NOPERM while it is being removed');

  open = true;
  const done = ok(await cli('customer', 'remove', 'gone', '--yes', '--wait', '30'), 'remove --yes').stdout;
  assert.match(done, /customer gone removed/);
  assert.match(done, /webhook customer\.removed: delivered/);
  const told = rx.received.find((x) => x.json.type === 'customer.removed');
  assert.ok(told, 'its endpoint was told before it went');
  assert.deepEqual([told.json.customer, (told.json.data as { domains: string[] }).domains], ['gone', ['gone.example']]);
  assert.deepEqual(await lab.s.server.store.webhooks.endpoints({ customerId: gone.id }), []);
  assert.match(done, /1 private key destroyed; these records can then be removed from DNS:\n\s+pst1\._domainkey\.gone\.example\. IN TXT/);
  assert.ok(
    mx.received.some((m) => m.to.includes('last@remote.test')),
    'its queued mail was delivered first',
  );
  // nothing remains but tracking (marked, detached) and the audit trail
  assert.equal(await store().customers.get('gone'), null);
  assert.equal(await store().domains.get('gone.example'), null);
  assert.equal(await store().mailboxes.get('g@gone.example'), null);
  assert.equal(await store().sites.get('gsite'), null);
  assert.equal(await store().apiTokens.get('gone-panel'), null);
  assert.deepEqual(await store().dkim.list('gone.example'), []);
  assert.deepEqual(await store().suppressions.list({ customerId: gone.id }), []);
  assert.deepEqual(
    (await store().queue.list({ limit: 1000 })).filter((m) => m.customerId === gone.id),
    [],
  );
  const t = (await store().tracking.get(queued))!;
  assert.deepEqual([t.customerId, t.removedTenant, t.status], [null, 'customer:gone', 'delivered']);
  assert.match(ok(await cli('track', 'show', queued), 'track show').stdout, /customer\s+\(removed: customer:gone\)/);
  assert.match(await submitAs(lab.s, { user: 'g@gone.example', pass: PW }), /^535 5\.7\.8 Authentication credentials invalid/);
  assert.equal((await apiPost(lab.s, { auth: { token }, body: 'To: a@remote.test\nFrom: news@gone.example\n\nx\n' })).status, 401);
  const afterRun = await runSendmail(tokenFile, ['-t', '-i'], php);
  assert.equal(afterRun.code, 77, 'sendmail: EX_NOPERM, its token is unknown now');
  assert.match(afterRun.stderr, /site token is not valid/);
  assert.equal((await store().audit.list({ target: 'customer:gone' }))[0]!.action, 'removeCustomer');
  refused(await cli('customer', 'remove', 'gone', '--yes'), /no customer named gone/, 'removed twice');
});

test('customer remove --bounce: its queued mail is failed back to the sender instead of waiting for delivery', async () => {
  await lab.s.addMailbox('b@bye.example', PW, 'bye');
  const id = /queued as (\S+)/.exec(await submitAs(lab.s, { user: 'b@bye.example', pass: PW, to: ['never@closed.test'] }))![1]!;
  refused(await cli('customer', 'remove', 'bye', '--yes', '--drain', '--bounce'), /either --drain or --bounce/, 'both');
  const out = ok(await cli('customer', 'remove', 'bye', '--yes', '--bounce', '--wait', '30'), 'remove --bounce').stdout;
  assert.match(out, new RegExp(`queued messages \\(1\\): ${id} queued from b@bye\\.example -> bounced to their senders`));
  assert.equal(await store().customers.get('bye'), null);
  assert.equal(await store().queue.get(id), null);
  const t = (await store().tracking.get(id))!;
  assert.deepEqual([t.status, t.removedTenant], ['failed', 'customer:bye'], 'its recipient failed back to the sender');
  const notice = t.events.find((e) => e.ref !== null && (e.type === 'bounced' || e.type === 'notified'));
  assert.ok(notice, `a bounce was sent to the sender: ${JSON.stringify(t.events.map((e) => e.type))}`);
  // the bounce (null sender), if still queued, is detached from the removed customer
  assert.ok((await store().queue.list({ limit: 1000 })).every((m) => m.customerId === null || m.customerName !== null));
});

test('domain remove: its mailboxes and the grants on it go, the customer and its other mailboxes stay', async () => {
  await lab.s.addMailbox('carol@shop.example', PW);
  await lab.s.admin.grant('alice@example.com', { domain: 'shop.example' });
  assert.match(await submitAs(lab.s, { user: 'carol@shop.example', pass: PW, to: ['c@remote.test'] }), /^250 /);
  await until(async () => !(await store().queue.list({ customer: 'acme' })).length, 10_000, "carol's mail delivered");
  const dry = ok(await cli('domain', 'remove', 'shop.example', '--dry-run'), 'domain dry run').stdout;
  assert.match(dry, /domain shop\.example \(customer acme\) \(dry run: nothing changed\)/);
  assert.match(dry, /mailboxes would be removed: carol@shop\.example/);
  assert.match(dry, /sender grants would be removed: alice@example\.com domain:shop\.example/);
  const session = await SmtpClient.connect(lab.s.port('submission'));
  await session.login('carol@shop.example', PW);
  ok(await cli('domain', 'remove', 'shop.example', '--yes'), 'domain remove');
  // a session that logged in before the removal: its next message is refused, not queued
  await session.expect('MAIL FROM:<carol@shop.example>', 250);
  await session.expect('RCPT TO:<late@remote.test>', 250);
  await session.expect('DATA', 354);
  const late = await session.expect('Subject: late\r\n\r\nx\r\n.', 550, '5.7.1');
  assert.match(late.text, /This mailbox is suspended or was removed/);
  await session.quit();
  assert.equal(await store().domains.get('shop.example'), null);
  assert.match(await submitAs(lab.s, { user: 'carol@shop.example', pass: PW }), /^535 5\.7\.8 Authentication credentials invalid/);
  assert.deepEqual(await store().grants.list((await store().mailboxes.get('alice@example.com'))!.id), []);
  assert.match(await submitAs(lab.s, { user: 'alice@example.com', pass: 'alice-secret-1', to: ['a@remote.test'] }), /^250 /);
  assert.equal((await store().customers.get('acme'))!.status, 'active');
});

test('domain move: grants that would cross customers refuse it unless dropped; the mailboxes send for the new customer', async () => {
  await lab.s.addMailbox('dave@move.example', PW);
  await lab.s.admin.addCustomer('buyer');
  await lab.s.admin.grant('dave@move.example', { sendAs: 'alice@example.com' });
  await lab.s.admin.grant('dave@move.example', { sendAs: 'sales@move.example' });
  await lab.s.admin.addSite('acmeweb', { customer: 'acme', sendAs: ['news@move.example'] });
  const dry = ok(await cli('domain', 'move', 'move.example', '--customer', 'buyer', '--dry-run'), 'move dry run').stdout;
  assert.match(dry, /domain move\.example: from customer acme to buyer \(dry run: nothing changed\)/);
  assert.match(dry, /grants kept \(within buyer\): dave@move\.example address:sales@move\.example/);
  assert.match(dry, /site grants on move\.example to remove \(the sites stay with acme\): site:acmeweb address:news@move\.example/);
  assert.match(
    dry,
    /grants that would cross customers \(refused unless --drop-crossing-grants\): dave@move\.example address:alice@example\.com/,
  );
  refused(
    await cli('domain', 'move', 'move.example', '--customer', 'buyer', '--yes'),
    /is not moved: 1 grant\(s\) would cross customers \(dave@move\.example address:alice@example\.com\)/,
    'crossing grants',
  );
  assert.equal((await store().domains.get('move.example'))!.customerName, 'acme', 'nothing moved');
  refused(
    await cli('domain', 'move', 'move.example', '--customer', 'acme', '--yes'),
    /already belongs to customer acme/,
    'the same customer',
  );
  ok(await cli('domain', 'move', 'move.example', '--customer', 'buyer', '--yes', '--drop-crossing-grants'), 'move');
  assert.equal((await store().domains.get('move.example'))!.customerName, 'buyer');
  const r = await submitAs(lab.s, { user: 'dave@move.example', pass: PW, to: ['d@closed.test'] });
  const id = /queued as (\S+)/.exec(r)?.[1];
  assert.ok(id, r);
  assert.equal((await store().queue.get(id))!.customerName, 'buyer');
  assert.deepEqual(
    (await store().grants.list((await store().mailboxes.get('dave@move.example'))!.id)).map((g) => g.value),
    ['sales@move.example'],
  );
  assert.deepEqual(await store().sites.grants((await store().sites.get('acmeweb'))!.id), []);
  assert.equal((await store().audit.list({ target: 'domain:move.example' }))[0]!.action, 'moveDomain');
  await store().queue.remove(id);
});
