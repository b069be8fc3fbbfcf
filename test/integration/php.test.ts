/**
 * Real PHP (php-cli) sending with mail() through `postern sendmail` as its sendmail_path, the
 * way a WordPress or shop site on the host does, with no SMTP settings: the message is queued
 * with the right sender and site, and a hacked form cannot send as another customer.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.ts';
import { BIN } from '../helpers/cli.ts';
import { localPaths } from '../../src/config/index.ts';

let s: TestServer;
let dir: string;
let tokenFile: string;

function php(code: string, sendmailArgs = '-t -i'): Promise<{ code: number | null; out: string; err: string }> {
  const script = path.join(dir, `s${Math.random().toString(36).slice(2)}.php`);
  fs.writeFileSync(script, `<?php\n${code}\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, POSTERN_SITE_TOKEN_FILE: tokenFile };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    const child = spawn(
      'php',
      ['-n', '-d', `sendmail_path=${process.execPath} ${BIN} sendmail ${sendmailArgs}`, '-d', 'display_errors=stderr', script],
      { env },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, out, err }));
  });
}

before(async () => {
  // installed by .ci/run (Debian's php-cli); a missing PHP fails here, loudly
  execFileSync('php', ['-v']);
  s = await startTestServer();
  await s.addMailbox('alice@shop.example', 'alice-secret-1');
  await s.addMailbox('bob@other.example', 'bob-secret-11', 'other');
  const { token } = await s.admin.addSite('shop-wp', { customer: 'acme', unixUser: 'shopweb', domain: ['shop.example'] });
  dir = tempDir('postern-php-');
  tokenFile = path.join(dir, 'token');
  const paths = localPaths(s.config);
  fs.writeFileSync(tokenFile, `token=${token}\nsocket=${s.server.local!.socketPath}\ndropDir=${paths.dropDir}\n`, { mode: 0o600 });
});
after(async () => {
  await s?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('PHP mail() with sendmail_path = postern sendmail -t -i: queued with the From sender, traceable to the site', async () => {
  const r = await php(`
$headers = "From: Shop <orders@shop.example>\\r\\nReply-To: support@shop.example\\r\\nMIME-Version: 1.0\\r\\nContent-Type: text/plain; charset=UTF-8";
echo mail('Customer <customer@remote.test>', 'Your order #42', "Thank you for your order.\\nIt ships tomorrow.", $headers) ? 'sent' : 'failed';`);
  assert.equal(r.out, 'sent', r.err);
  const [m] = await s.server.store.queue.list({ site: 'shop-wp' });
  assert.ok(m);
  assert.equal(m.sender, 'orders@shop.example');
  assert.equal(m.customerName, 'acme');
  assert.deepEqual(
    m.recipients.map((x) => x.address),
    ['customer@remote.test'],
  );
  const raw = await s.body(m.id);
  assert.match(raw.toString(), /\(site shop-wp, unix user shopweb\)/);
  const parsed = await simpleParser(raw);
  assert.equal(parsed.subject, 'Your order #42');
  assert.equal(parsed.text?.trim(), 'Thank you for your order.\nIt ships tomorrow.');
});

test('PHP mail() with the envelope sender as 5th argument (-f), as PHPMailer and WordPress do', async () => {
  const r = await php(
    `echo mail('a@remote.test', 'Password reset', 'Click the link.', 'From: WordPress <wordpress@shop.example>', '-fnoreply@shop.example') ? 'sent' : 'failed';`,
  );
  assert.equal(r.out, 'sent', r.err);
  const m = (await s.server.store.queue.list({ site: 'shop-wp' })).at(-1)!;
  assert.equal(m.sender, 'noreply@shop.example');
});

test('a hacked contact form cannot send as another customer: mail() returns false and nothing is queued', async () => {
  const before = await s.server.store.queue.count();
  const forged = await php(
    `echo mail('victim@remote.test', 'Invoice', 'Pay now', 'From: Billing <billing@other.example>') ? 'sent' : 'failed';`,
  );
  assert.equal(forged.out, 'failed');
  const envelope = await php(
    `echo mail('victim@remote.test', 'Invoice', 'Pay now', 'From: orders@shop.example', '-fbob@other.example') ? 'sent' : 'failed';`,
  );
  assert.equal(envelope.out, 'failed');
  assert.equal(await s.server.store.queue.count(), before);
  assert.ok(s.logs.filter((l) => l.evt === 'data' && l.listener === 'sendmail' && l.result === 'reject').length >= 2);
});
