/**
 * Message tracking end to end: nodemailer submits on 587 to two recipients at a fake MX that
 * defers one once (then takes it) and refuses the other with 550; the real `postern track`
 * executable then tells the whole story from the server's live SQLite store: accepted, the
 * deferral with its reply, delivered, failed, and the bounce with its own queue id. Searches
 * by Message-ID, recipient, sender and time window find it; another customer's scope does not.
 * The spawned executable is slow to start on a busy machine, so most searches run the same CLI
 * in this process (runCli of admin/cli with captured output).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import { makeWorkspace, runCli, serveYaml, ok, refused, parseJson, type Workspace } from '../helpers/cli.ts';
import { createTrackingService } from '../../src/admin/tracking.ts';
import { runCli as runInProcess } from '../../src/admin/cli/index.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';

const ZONE: FakeZone = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx1.remote.test' }] },
  'mx1.remote.test': { A: ['127.0.0.2'] },
  'example.com': { MX: [{ preference: 10, exchange: 'mx.example.com' }] },
  'mx.example.com': { A: ['127.0.0.4'] },
};
const MESSAGE_ID = '<where-is-my-mail-1@client.example>';
const GREYLIST = '4.7.1 greylisted, come back later';

interface Shown {
  id: string;
  status: string;
  subject: string;
  recipients: string[];
  events: { type: string; recipient: string | null; reply: string | null; dsn: string | null; remoteHost: string | null }[];
}
interface Found {
  messages: { id: string }[];
  next: string | null;
}

let lab: DeliveryLab;
let ws: Workspace;
let id: string;
let sentAt: number;
const cli = (args: string[]) => runCli(ws, args);
/** The same command line through admin/cli in this process. */
async function local(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runInProcess(['node', 'postern', '-c', ws.config, ...args], {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    readStdin: async () => '',
  });
  return { code, signal: null, stdout: out.map((l) => `${l}\n`).join(''), stderr: err.join('\n') };
}
const found = async (...args: string[]) =>
  parseJson<Found>(ok(await local(['track', 'search', '--json', ...args]), `track search ${args.join(' ')}`)).messages.map((m) => m.id);

before(async () => {
  lab = await startDeliveryLab(ZONE);
  let tries = 0;
  await lab.mx('127.0.0.2', {
    rcpt: (c) =>
      c.to === 'nobody@remote.test'
        ? { code: 550, text: '5.1.1 no such user here' }
        : c.to === 'later@remote.test' && tries++ === 0
          ? { code: 451, text: GREYLIST }
          : 'accept',
  });
  const home = await lab.mx('127.0.0.4', {});
  await lab.s.admin.addCustomer('other');
  sentAt = Date.now();
  id = await lab.submit({ to: ['later@remote.test', 'nobody@remote.test'], subject: 'Wo ist meine Post? Grüße', messageId: MESSAGE_ID });
  await until(() => home.received.length === 1, 10_000, "the bounce at the sender's MX");
  await until(async () => (await lab.s.server.store.queue.count()) === 0, 10_000, 'an empty queue');
  const yaml = serveYaml([{ role: 'submission', port: 10587 }]).replace('dataDir: ./data', `dataDir: ${JSON.stringify(lab.s.dataDir)}`);
  ws = makeWorkspace(yaml);
});

after(async () => {
  await lab?.close();
  if (ws) fs.rmSync(ws.dir, { recursive: true, force: true });
});

test("track show: accepted, the deferral with its reply, delivered, failed, bounced with the DSN's queue id", async () => {
  const m = parseJson<Shown>(ok(await cli(['track', 'show', id, '--json']), 'track show --json'));
  assert.equal(m.status, 'partial', 'one delivered, one failed');
  assert.equal(m.subject, 'Wo ist meine Post? Grüße', 'decoded from its encoded words');
  assert.deepEqual(m.recipients, ['later@remote.test', 'nobody@remote.test']);
  const kinds = m.events.map((e) => `${e.type} ${e.recipient ?? ''}`.trim());
  assert.equal(kinds[0], 'accepted');
  assert.equal(kinds.at(-1), 'delivered later@remote.test');
  const deferred = m.events.find((e) => e.type === 'attempt-deferred')!;
  assert.deepEqual([deferred.recipient, deferred.reply], ['later@remote.test', `451 ${GREYLIST}`]);
  assert.match(deferred.remoteHost ?? '', /mx1\.remote\.test\[127\.0\.0\.2\]/);
  const failed = m.events.findIndex((e) => e.type === 'failed');
  const bounced = m.events.findIndex((e) => e.type === 'bounced');
  assert.ok(failed > 0 && bounced === failed + 1, `failed, then bounced: ${kinds.join(', ')}`);
  assert.equal(m.events[failed]!.reply, '550 5.1.1 no such user here');
  const dsn = m.events[bounced]!.dsn!;
  assert.match(dsn, /^[0-9A-Za-z]{20}$/);
  assert.equal(m.events.length, 5, kinds.join(', '));

  // the bounce is tracked too: the null sender, delivered to the sender's MX
  const notice = parseJson<Shown>(ok(await local(['track', 'show', dsn, '--json']), 'the bounce'));
  assert.deepEqual([notice.status, notice.recipients], ['delivered', ['alice@example.com']]);

  const text = ok(await cli(['track', 'show', id]), 'track show').stdout;
  assert.match(text, /^status\s+partial$/m);
  assert.match(text, /attempt-deferred\s+later@remote\.test\s+mx1\.remote\.test\[127\.0\.0\.2\]:\d+\s+451 4\.7\.1 greylisted/);
  assert.match(text, new RegExp(`bounced\\s+nobody@remote\\.test\\s+bounce \\(DSN\\) queued as ${dsn}`));
});

test('track search finds it by Message-ID, recipient, sender and time window; not outside the window, not for another customer', async () => {
  assert.deepEqual(await found('--message-id', MESSAGE_ID), [id]);
  assert.deepEqual(await found('--message-id', MESSAGE_ID.slice(1, -1)), [id], 'brackets optional');
  assert.deepEqual(await found('--recipient', 'NOBODY@remote.test'), [id]);
  assert.deepEqual(await found('--sender', 'alice@example.com', '--status', 'partial'), [id]);
  const since = new Date(sentAt - 1000).toISOString();
  const until = new Date(Date.now() + 1000).toISOString();
  assert.ok((await found('--since', since, '--until', until)).includes(id));
  assert.deepEqual(await found('--until', since), [], 'before it arrived');
  assert.deepEqual(await found('--message-id', MESSAGE_ID, '--customer', 'other'), []);
  assert.deepEqual(await found('--message-id', MESSAGE_ID, '--customer', 'acme'), [id]);
  assert.match(
    ok(await local(['track', 'search', '--recipient', 'later@remote.test']), 'table').stdout,
    new RegExp(`${id}\\s+partial\\s+acme\\s+alice@example\\.com\\s+later@remote\\.test \\+1\\s+Wo ist meine Post`),
  );
  refused(await cli(['track', 'search', '--since', 'last tuesday']), /--since must be an ISO 8601 date or time/, 'a bad time');
  refused(await local(['track', 'show', 'NOSUCHMESSAGE0000000']), /no tracked message NOSUCHMESSAGE0000000/, 'unknown id');

  // the customer-scoped view (what the HTTP API gives a customer) never shows it to another customer
  const other = createTrackingService(lab.s.server.store, { customer: 'other' });
  assert.deepEqual((await other.searchTracking({ messageId: MESSAGE_ID })).messages, []);
  await assert.rejects(other.showTracking(id), /no tracked message/);
  const acme = createTrackingService(lab.s.server.store, { customer: 'acme' });
  assert.deepEqual(
    (await acme.searchTracking({ messageId: MESSAGE_ID })).messages.map((m) => m.queueId),
    [id],
  );
});
