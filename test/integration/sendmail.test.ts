/**
 * `postern sendmail` as websites call it: the real executable, a token file, the local socket
 * of a running server; every flag, every exit code, LF-only input; and the drop folder when
 * the server cannot be reached (written durably, taken in by the server under the same policy).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.ts';
import { runSendmail } from '../helpers/sendmail.ts';
import { writeDrop } from '../../src/inject/index.ts';
import { localPaths } from '../../src/config/index.ts';

let s: TestServer;
let dir: string;
let tokenFile: string;
let token: string;

const sendmail = (args: string[], input: string | Buffer, env: NodeJS.ProcessEnv = {}) => runSendmail(tokenFile, args, input, env);

/** The newest queued message of site shop. */
async function last() {
  const list = await s.server.store.queue.list({ site: 'shop' });
  return list[list.length - 1]!;
}

const php = (from: string, extra = '') =>
  `To: Customer <c1@remote.test>\nCc: c2@remote.test\nBcc: hidden@remote.test\nSubject: Order 42\n${from ? `From: ${from}\n` : ''}${extra}\nThank you.\n`;

before(async () => {
  s = await startTestServer();
  await s.addMailbox('alice@shop.example', 'alice-secret-1');
  await s.addMailbox('bob@other.example', 'bob-secret-11', 'other');
  await s.admin.setContact('acme', 'admin@shop.example');
  token = (await s.admin.addSite('shop', { customer: 'acme', unixUser: 'shopweb', sendAs: ['orders@shop.example'], domain: [] })).token;
  dir = tempDir('postern-sendmail-');
  tokenFile = path.join(dir, 'site-token');
  fs.writeFileSync(tokenFile, `token=${token}\nsocket=${s.server.local!.socketPath}\ndropDir=${localPaths(s.config).dropDir}\n`, {
    mode: 0o600,
  });
});
after(async () => {
  await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('-t -i: recipients from To, Cc and Bcc, sender from From, Bcc removed, LF line ends turned into CRLF, Received names the site', async () => {
  const r = await sendmail(['-t', '-i'], php('Shop <orders@shop.example>'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const m = await last();
  assert.equal(m.sender, 'orders@shop.example');
  assert.deepEqual(
    m.recipients.map((x) => x.address),
    ['c1@remote.test', 'c2@remote.test', 'hidden@remote.test'],
  );
  assert.equal(m.listener, 'sendmail');
  const body = (await s.body(m.id)).toString();
  assert.doesNotMatch(body, /^Bcc:/im);
  assert.doesNotMatch(body, /[^\r]\n/, 'CRLF everywhere');
  assert.match(body, /with LOCAL id \S+\r\n\t\(site shop, unix user shopweb\)/);
});

test('explicit recipients without -t: the header recipients are not used; with -t they are added', async () => {
  assert.equal((await sendmail(['x@remote.test'], php('orders@shop.example'))).code, 0);
  assert.deepEqual(
    (await last()).recipients.map((x) => x.address),
    ['x@remote.test'],
  );
  assert.equal((await sendmail(['-t', '--', 'x@remote.test'], php('orders@shop.example'))).code, 0);
  assert.deepEqual(
    (await last()).recipients.map((x) => x.address),
    ['x@remote.test', 'c1@remote.test', 'c2@remote.test', 'hidden@remote.test'],
  );
});

test('-f sets the envelope sender, -F the name of a From added when the message has none (also -fADDR and -r)', async () => {
  assert.equal((await sendmail(['-t', '-f', 'orders@shop.example', '-F', 'Shop Orders'], php(''))).code, 0);
  const m = await last();
  assert.equal(m.sender, 'orders@shop.example');
  const parsed = await simpleParser(await s.body(m.id));
  assert.deepEqual(
    parsed.from?.value.map((a) => [a.name, a.address]),
    [['Shop Orders', 'orders@shop.example']],
  );
  assert.match((await s.body(m.id)).toString(), /^From: Shop Orders <orders@shop\.example>\r$/m);
  assert.equal((await sendmail(['-forders@shop.example', 'x@remote.test'], php(''))).code, 0);
  assert.equal((await last()).sender, 'orders@shop.example');
  assert.equal((await sendmail(['-r', 'orders@shop.example', 'x@remote.test'], php(''))).code, 0);
  assert.equal((await sendmail(['-t', '-F', 'Ünïcode "Shop"'], php(''))).code, 0, "no From, no -f: the site's own address");
  const u = await simpleParser(await s.body((await last()).id));
  assert.equal(u.from?.value[0]?.name, 'Ünïcode "Shop"');
  assert.equal(u.from?.value[0]?.address, 'orders@shop.example');
});

test('without -i a line with a single dot ends the message; -i and -oi keep it', async () => {
  const text = php('orders@shop.example').replace('Thank you.\n', 'one\n.\ntwo\n');
  assert.equal((await sendmail(['-t'], text)).code, 0);
  assert.match((await s.body((await last()).id)).toString(), /one\r\n$/);
  for (const flag of ['-i', '-oi']) {
    assert.equal((await sendmail(['-t', flag], text)).code, 0);
    assert.match((await s.body((await last()).id)).toString(), /one\r\n\.\r\ntwo\r\n$/, flag);
  }
});

test('the usual no-op flags are accepted (-bm -odi -oem -v -N -R -V -X -U -G); -v says what happened', async () => {
  const r = await sendmail(
    ['-bm', '-odi', '-oem', '-v', '-N', 'never', '-R', 'hdrs', '-V', 'envid', '-X', '/dev/null', '-U', '-G', '-t'],
    php('orders@shop.example'),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^postern sendmail: queued as \S+\n$/);
});

test('exit codes: 64 usage, 65 data, 75 limit deferral, 77 refused sender or token, 78 no token file; one line on stderr', async () => {
  const cases: [string, string[], string | Buffer, NodeJS.ProcessEnv, number, RegExp][] = [
    ['no recipients', [], php('orders@shop.example'), {}, 64, /no recipients/],
    ['-bp', ['-bp'], '', {}, 64, /mode -bp/],
    ['unknown option', ['-Z', 'x@remote.test'], '', {}, 64, /unknown option -Z/],
    ['-f without a value', ['-t', '-f'], '', {}, 64, /-f needs a value/],
    [
      "another customer's sender",
      ['-t', '-f', 'bob@other.example'],
      php('bob@other.example'),
      {},
      77,
      /Sender address <bob@other\.example> is not allowed for site shop \(553 5\.7\.1\)/,
    ],
    [
      'forged From, honest envelope',
      ['-t', '-f', 'orders@shop.example'],
      php('ceo@other.example'),
      {},
      77,
      /From: <ceo@other\.example> is not an address site shop may send as \(550 5\.7\.1\)/,
    ],
    ['a message that is not one', ['-t'], `From someone Sat Nov 28 2026\n${php('orders@shop.example')}`, {}, 65, /550 5\.6\.0/],
    ['an empty message', ['x@remote.test'], '', {}, 65, /empty/],
    [
      'no token file',
      ['-t'],
      php('orders@shop.example'),
      { POSTERN_SITE_TOKEN_FILE: path.join(dir, 'missing') },
      78,
      /no site token: cannot read .*missing \(ENOENT\)/,
    ],
  ];
  const before = await s.server.store.queue.count();
  for (const [what, args, input, env, code, line] of cases) {
    const r = await sendmail(args, input, env);
    assert.equal(r.code, code, `${what}: ${r.stderr}`);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, `${what}: one line: ${r.stderr}`);
    assert.match(r.stderr, /^postern sendmail: /, what);
    assert.match(r.stderr, line, what);
    assert.equal(r.stdout, '', what);
  }
  const badToken = path.join(dir, 'bad-token');
  fs.writeFileSync(
    badToken,
    `token=pst_${'B'.repeat(43)}\nsocket=${s.server.local!.socketPath}\ndropDir=${localPaths(s.config).dropDir}\n`,
  );
  const r = await sendmail(['-t'], php('orders@shop.example'), { POSTERN_SITE_TOKEN_FILE: badToken });
  assert.equal(r.code, 77, r.stderr);
  assert.match(r.stderr, /site token is not valid/);
  assert.equal(await s.server.store.queue.count(), before, 'nothing queued');

  await s.admin.setLimit('site', 'shop', { window: 'month', messages: 0, action: 'defer' });
  try {
    const d = await sendmail(['-t'], php('orders@shop.example'));
    assert.equal(d.code, 75, d.stderr);
    assert.match(
      d.stderr,
      /^postern sendmail: Sending limit reached: 0 messages per month for site shop \(defer\); try again after \S+ \(451 4\.7\.1\)\n$/,
    );
  } finally {
    await s.admin.clearLimit('site', 'shop', { window: 'month' });
  }
});

test('server not reachable: the message is written durably into the drop folder (exit 0) and taken in by the server under the same policy', async () => {
  const dropDir = localPaths(s.config).dropDir;
  assert.equal(fs.statSync(dropDir).mode & 0o7777, 0o1733, 'anyone may write, nobody may list');
  const noServer = { POSTERN_SOCKET: path.join(dir, 'no-such.sock') };
  const r = await sendmail(['-t', '-v'], php('orders@shop.example'), noServer);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /server not reachable \(ENOENT\); kept in the drop folder as (\S+)/);
  const files = fs.readdirSync(dropDir);
  assert.equal(files.length, 1);
  assert.equal(fs.statSync(path.join(dropDir, files[0]!)).mode & 0o777, 0o640, 'not readable by other site users');
  const refused = await sendmail(['-t', '-f', 'bob@other.example'], php('bob@other.example'), noServer);
  assert.equal(refused.code, 0, 'the policy is applied when the server takes it in');

  assert.equal(await s.server.pickup!.scan(), 1);
  assert.deepEqual(fs.readdirSync(dropDir), [], 'both files are gone: one queued, one bounced');
  const queued = (await s.server.store.queue.list({ site: 'shop' })).at(-1)!;
  assert.equal(queued.listener, 'maildrop');
  assert.equal(queued.sender, 'orders@shop.example');
  assert.match((await s.body(queued.id)).toString(), /\(site shop, unix user shopweb, written by unix user root\)/);
  // the refused one is bounced to the customer's contact, never to the forged sender
  const bounce = (await s.server.store.queue.list({ sender: '' })).at(-1)!;
  assert.deepEqual(
    bounce.recipients.map((x) => x.address),
    ['admin@shop.example'],
  );
  const report = (await s.body(bounce.id)).toString();
  assert.match(report, /Diagnostic-Code: smtp; 553 5\.7\.1 Sender address <bob@other\.example> is not\r\n allowed for site shop/);
  assert.match(report, /What to do: This mail system did not accept the message from the website/);
  assert.ok(s.logs.some((l) => l.evt === 'maildrop' && l.result === 'refused'));
});

test('drop folder: a deferral stays until the limit allows or the retry time ends (then a bounce); an unknown token is moved aside, never lost', async () => {
  const dropDir = localPaths(s.config).dropDir;
  const env = (over: object = {}) => ({
    token,
    from: 'orders@shop.example',
    to: ['x@remote.test'],
    extract: false,
    fullName: null,
    at: Date.now(),
    ...over,
  });
  const msg = Buffer.from('From: orders@shop.example\nTo: x@remote.test\nSubject: s\n\nbody\n');
  await s.admin.setLimit('site', 'shop', { window: 'month', messages: 0, action: 'defer' });
  try {
    writeDrop(dropDir, env(), msg);
    assert.equal(await s.server.pickup!.scan(), 0);
    assert.equal(fs.readdirSync(dropDir).length, 1, 'deferred: kept for the next scan');
    const old = writeDrop(dropDir, env({ at: Date.now() - 121 * 3_600_000 }), msg);
    await s.server.pickup!.scan();
    assert.equal(fs.existsSync(path.join(dropDir, old)), false, 'past dropRetryHours: bounced and removed');
    const bounce = (await s.server.store.queue.list({ sender: '' })).at(-1)!;
    assert.deepEqual(
      bounce.recipients.map((x) => x.address),
      ['orders@shop.example'],
      'to the sender: the site may use it',
    );
  } finally {
    await s.admin.clearLimit('site', 'shop', { window: 'month' });
  }
  assert.equal(await s.server.pickup!.scan(), 1, 'the kept one goes once the limit allows');
  const unknown = writeDrop(dropDir, env({ token: `pst_${'C'.repeat(43)}` }), msg);
  fs.writeFileSync(path.join(dropDir, 'garbage'), 'not a drop file');
  await s.server.pickup!.scan();
  assert.deepEqual(fs.readdirSync(dropDir), []);
  assert.deepEqual(fs.readdirSync(`${dropDir}.rejected`).sort(), [unknown, 'garbage'].sort());
  assert.equal(fs.statSync(`${dropDir}.rejected`).mode & 0o777, 0o700);
});

test('-bs: SMTP on standard input and output (Symfony Mailer, Laravel): each message gets the reply of the server', async () => {
  const dialogue = [
    'EHLO app.local',
    'MAIL FROM:<orders@shop.example>',
    'RCPT TO:<a@remote.test>',
    'RCPT TO:<b@remote.test>',
    'DATA',
    'From: Shop <orders@shop.example>',
    'To: a@remote.test',
    'Subject: via -bs',
    '',
    '..leading dot',
    'body',
    '.',
    'MAIL FROM:<bob@other.example>',
    'RCPT TO:<a@remote.test>',
    'DATA',
    'From: bob@other.example',
    '',
    'x',
    '.',
    'RCPT TO:<c@remote.test>',
    'NOOP',
    'QUIT',
    '',
  ].join('\r\n');
  const r = await sendmail(['-bs', '-i'], dialogue);
  assert.equal(r.code, 0, r.stderr);
  const replies = r.stdout.split('\r\n').filter(Boolean);
  assert.match(replies[0]!, /^220 \S+ ESMTP Postern sendmail$/);
  assert.deepEqual(replies.slice(1, 5), [replies[1], '250-PIPELINING', '250-8BITMIME', '250 ENHANCEDSTATUSCODES']);
  const codes = replies.slice(5).map((l) => l.slice(0, 3));
  assert.deepEqual(codes, ['250', '250', '250', '354', '250', '250', '250', '354', '553', '503', '250', '221']);
  const queuedAs = /^250 2\.0\.0 Ok: queued as (\S+)$/.exec(replies[9]!)![1]!;
  assert.match(replies[13]!, /^553 5\.7\.1 Sender address <bob@other\.example> is not allowed for site shop$/);
  const m = (await s.server.store.queue.get(queuedAs))!;
  assert.equal(m.siteName, 'shop');
  assert.deepEqual(
    m.recipients.map((x) => x.address),
    ['a@remote.test', 'b@remote.test'],
  );
  assert.match((await s.body(m.id)).toString(), /\r\n\r\n\.leading dot\r\nbody\r\n$/, 'dot-unstuffed');
});

test('drop folder: nothing in it is trusted: links, FIFOs, oversized and cut-short files are moved aside unread; a complete file whose rename was lost is taken in', async () => {
  const dropDir = localPaths(s.config).dropDir;
  const rejected = `${dropDir}.rejected`;
  const before = new Set(fs.readdirSync(rejected));
  const secret = path.join(dir, 'secret');
  fs.writeFileSync(secret, 'POSTERN-DROP 1\n{}\n');
  fs.symlinkSync(secret, path.join(dropDir, 'link'));
  execFileSync('mkfifo', [path.join(dropDir, 'fifo')]);
  fs.writeFileSync(path.join(dropDir, 'huge'), Buffer.alloc(0));
  fs.truncateSync(path.join(dropDir, 'huge'), s.config.smtp.maxMessageSize + 2 * 1024 * 1024);
  const msg = Buffer.from('From: orders@shop.example\nTo: x@remote.test\nSubject: lost rename\n\nbody\n');
  const env = { token, from: 'orders@shop.example', to: ['x@remote.test'], extract: false, fullName: null, at: Date.now() };
  const name = writeDrop(dropDir, env, msg);
  const full = fs.readFileSync(path.join(dropDir, name));
  fs.renameSync(path.join(dropDir, name), path.join(dropDir, `.tmp-${name}`));
  const old = new Date(Date.now() - 11 * 60_000);
  fs.utimesSync(path.join(dropDir, `.tmp-${name}`), old, old);
  fs.writeFileSync(path.join(dropDir, 'short'), full.subarray(0, full.length - 3));
  const queued = await s.server.store.queue.count();
  assert.equal(await s.server.pickup!.scan(), 1, 'only the complete orphan is taken in');
  assert.equal(await s.server.store.queue.count(), queued + 1);
  assert.deepEqual(fs.readdirSync(dropDir), []);
  const moved = fs
    .readdirSync(rejected)
    .filter((n) => !before.has(n))
    .sort();
  assert.deepEqual(moved, ['fifo', 'huge', 'link', 'short']);
  assert.equal(fs.readFileSync(secret, 'utf8'), 'POSTERN-DROP 1\n{}\n', 'the link target is untouched');
});
