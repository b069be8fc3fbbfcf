/**
 * The real `postern` executable (node bin/postern.js) on a temporary dataDir: customers,
 * domains, mailboxes and the queue listing. Errors and config checks: cli-errors.test.ts; a
 * running server that sees the CLI's changes: cli-serve.test.ts. (Each file keeps under the
 * runner's per-file time limit: every CLI run starts a Node process with tsx.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeWorkspace, runCli, serveYaml, ok, parseJson, type Workspace } from '../helpers/cli.ts';

interface MailboxRow {
  address: string;
  customer: string;
  status: string;
  createdAt: string;
  updatedAt: string;
}

let ws: Workspace;
const cli = (args: string[], input?: string) => runCli(ws, args, { input });
const mailboxes = async () => parseJson<MailboxRow[]>(ok(await cli(['mailbox', 'list', '--json']), 'mailbox list --json'));

before(() => {
  ws = makeWorkspace(
    serveYaml([
      { role: 'submission', port: 10587 },
      { role: 'submissions', port: 10465 },
    ]),
  );
});
after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));

test('--help lists the commands and exits 0', async () => {
  const r = ok(await cli(['--help']), '--help');
  for (const word of ['customer', 'domain', 'mailbox', 'queue', 'serve', 'config']) assert.match(r.stdout, new RegExp(`\\b${word}\\b`));
});

test('queue list --json on an empty queue prints [] (and the store lives in the configured dataDir)', async () => {
  const r = ok(await cli(['queue', 'list', '--json']), 'queue list');
  assert.deepEqual(parseJson(r), []);
  assert.ok(fs.existsSync(path.join(ws.dataDir, 'postern.db')), "dataDir ./data is taken from the config file's folder");
});

test('customer add / list --json', async () => {
  assert.equal(ok(await cli(['customer', 'add', 'acme']), 'customer add').stdout, 'customer acme added\n');
  const rows = parseJson<{ name: string; createdAt: string }[]>(ok(await cli(['customer', 'list', '--json']), 'customer list'));
  assert.deepEqual(
    rows.map((c) => c.name),
    ['acme'],
  );
  assert.ok(!Number.isNaN(Date.parse(rows[0].createdAt)), rows[0].createdAt);
});

test('domain add --customer / list --json (names normalised)', async () => {
  assert.equal(
    ok(await cli(['domain', 'add', 'Example.COM', '--customer', 'acme']), 'domain add').stdout,
    'domain example.com added for customer acme\n',
  );
  const all = parseJson<{ name: string; customer: string }[]>(
    ok(await cli(['domain', 'list', '--customer', 'acme', '--json']), 'domain list'),
  );
  assert.deepEqual(
    all.map((d) => [d.name, d.customer]),
    [['example.com', 'acme']],
  );
});

test('mailbox add --password-stdin prints no password', async () => {
  const r = ok(await cli(['mailbox', 'add', 'alice@example.com', '--password-stdin'], 'alice-password-1\n'), 'mailbox add');
  assert.equal(r.stdout, 'mailbox alice@example.com added for customer acme\n');
});

test('mailbox add without a password prints a generated one, once', async () => {
  const r = ok(await cli(['mailbox', 'add', 'Bob@Example.com']), 'mailbox add (generated)');
  assert.match(r.stdout, /^mailbox bob@example\.com added for customer acme\n/);
  const found = [...r.stdout.matchAll(/password: (\S+)/g)].map((m) => m[1]);
  assert.equal(found.length, 1, r.stdout);
  assert.match(found[0], /^[abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789]{24}$/);
  const list = ok(await cli(['mailbox', 'list', '--json']), 'mailbox list');
  assert.ok(!list.stdout.includes(found[0]), 'the password is never shown again');
  assert.doesNotMatch(list.stdout, /argon2|passwordHash/i, 'no hash in the listing');
  assert.deepEqual(
    parseJson<MailboxRow[]>(list).map((m) => [m.address, m.customer, m.status]),
    [
      ['alice@example.com', 'acme', 'active'],
      ['bob@example.com', 'acme', 'active'],
    ],
  );
});

test('mailbox passwd (stdin, generated), suspend, resume, remove; list --json shows each state', async () => {
  const p = ok(await cli(['mailbox', 'passwd', 'alice@example.com', '--password-stdin'], 'alice-password-2\n'), 'passwd');
  assert.match(p.stdout, /^password of alice@example\.com changed/);
  assert.doesNotMatch(p.stdout, /password: /);
  const g = ok(await cli(['mailbox', 'passwd', 'ALICE@example.com']), 'passwd (generated)');
  assert.equal([...g.stdout.matchAll(/password: (\S{24})\n/g)].length, 1, g.stdout);

  assert.equal(ok(await cli(['mailbox', 'suspend', 'alice@example.com']), 'suspend').stdout, 'mailbox alice@example.com suspended\n');
  assert.deepEqual(
    (await mailboxes()).map((m) => [m.address, m.status]),
    [
      ['alice@example.com', 'suspended'],
      ['bob@example.com', 'active'],
    ],
  );
  assert.equal(ok(await cli(['mailbox', 'resume', 'alice@example.com']), 'resume').stdout, 'mailbox alice@example.com resumed\n');
  assert.equal(ok(await cli(['mailbox', 'remove', 'bob@example.com']), 'remove').stdout, 'mailbox bob@example.com removed\n');
  assert.deepEqual(
    (await mailboxes()).map((m) => [m.address, m.status]),
    [['alice@example.com', 'active']],
  );
});
