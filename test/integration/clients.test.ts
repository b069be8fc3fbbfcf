/**
 * Real clients as peers: Python's smtplib, curl, swaks and nodemailer submit through the
 * listeners the way customers' programs do (587 STARTTLS, 465 implicit TLS, 25 with AUTH after
 * STARTTLS). Each case checks the client's own verdict and then the queue row and spool body.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.ts';
import type { QueuedMessage } from '../../src/core/index.ts';

const ALICE = 'alice@example.com';
const ALICE_PW = 'alice-secret-1';

let s: TestServer;
let work: string;
let python = 'python3';
before(async () => {
  // the pyenv shim costs ~0.3 s per start; resolve the real interpreter once
  const py = await run('python3', ['-c', 'import sys; print(sys.executable)']);
  if (py.code === 0 && py.stdout.trim()) python = py.stdout.trim();
  s = await startTestServer();
  await s.addMailbox(ALICE, ALICE_PW);
  work = tempDir('postern-clients-');
});
after(async () => {
  await s.close();
  fs.rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string, timeoutMs = 8000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** The queue id from a client transcript containing the server's "250 2.0.0 Ok: queued as ID". */
function queueIdFrom(transcript: string): string {
  const id = /250[ -]2\.0\.0 Ok: queued as ([A-Za-z0-9._-]+)/.exec(transcript)?.[1];
  assert.ok(id, `no "queued as" in the client transcript:\n${transcript}`);
  return id;
}

async function assertQueued(id: string, sender: string, recipients: string[], listenerRole: string): Promise<QueuedMessage> {
  const m = await s.server.store.queue.get(id);
  assert.ok(m, `message ${id} is not in the queue`);
  assert.equal(m.sender, sender);
  assert.deepEqual(m.recipients.map((r) => r.address).sort(), [...recipients].sort());
  assert.ok(m.recipients.every((r) => r.state === 'queued'));
  assert.equal(m.authUser, ALICE);
  assert.equal(m.customerName, 'acme');
  assert.match(m.listener, new RegExp(`^${listenerRole}:`));
  const body = (await s.body(m.id)).toString('latin1');
  assert.match(body, /^Received: from [^\r\n]+\r\n\tby mx\.postern\.test \(Postern\) with ESMTPSA id /);
  assert.doesNotMatch(body, /\r(?!\n)|(?<!\r)\n/, 'the spooled body must have CRLF line ends only');
  assert.doesNotMatch(body, new RegExp(ALICE_PW));
  return m;
}

// ---------------------------------------------------------------------------------------------
// Python smtplib

const PY = `
import json, smtplib, ssl, sys
mode, port, user, pw, sender, rcpts = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6].split(',')
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode == 'starttls':
    s = smtplib.SMTP('127.0.0.1', port, timeout=8)
    s.set_debuglevel(1)
    s.ehlo('py.client.test')
    before_tls = s.has_extn('auth')
    s.starttls(context=ctx)
    s.ehlo('py.client.test')
else:
    s = smtplib.SMTP_SSL('127.0.0.1', port, context=ctx, timeout=8)
    s.set_debuglevel(1)
    s.ehlo('py.client.test')
    before_tls = None
s.login(user, pw)
msg = 'From: %s\\nTo: %s\\nSubject: smtplib %s\\n\\nhello from python\\n.leading dot line\\n' % (sender, ', '.join(rcpts), mode)
refused = s.sendmail(sender, rcpts, msg)
s.quit()
print(json.dumps({'refused': refused, 'authBeforeTls': before_tls}))
`;

for (const [mode, role] of [
  ['starttls', 'submission'],
  ['implicit', 'submissions'],
] as const) {
  test(`python smtplib: ${mode} on ${role}`, async () => {
    const rcpts = [`py-${mode}-1@remote.test`, `py-${mode}-2@remote.test`];
    const r = await run(python, ['-c', PY, mode, String(s.port(role)), ALICE, ALICE_PW, ALICE, rcpts.join(',')]);
    assert.equal(r.code, 0, `python exited ${r.code}:\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { refused: Record<string, unknown>; authBeforeTls: boolean | null };
    assert.deepEqual(out.refused, {});
    if (mode === 'starttls') assert.equal(out.authBeforeTls, false, 'AUTH must not be advertised before STARTTLS');
    // smtplib's debug transcript (stderr) holds the DATA reply
    const m = await assertQueued(queueIdFrom(r.stderr.replace(/\\r\\n'/g, '\n')), ALICE, rcpts, role);
    const body = (await s.body(m.id)).toString('latin1');
    assert.match(body, /\r\n\r\nhello from python\r\n\.leading dot line\r\n$/, 'dot-stuffing must be undone');
    assert.match(body, /^Message-ID: </im);
    assert.match(body, /^Date: /im);
  });
}

test('python smtplib: a wrong password raises SMTPAuthenticationError (535)', async () => {
  const r = await run(python, ['-c', PY, 'implicit', String(s.port('submissions')), ALICE, 'wrong-password', ALICE, 'x@remote.test']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /SMTPAuthenticationError: \(535, b'5\.7\.8 /);
});

// ---------------------------------------------------------------------------------------------
// curl

async function curl(url: string, rcpt: string, user = `${ALICE}:${ALICE_PW}`): Promise<Run> {
  const file = path.join(work, `curl-${rcpt}.eml`);
  fs.writeFileSync(file, `From: <${ALICE}>\r\nTo: <${rcpt}>\r\nSubject: curl\r\n\r\nhello from curl\r\n`);
  return run('curl', [
    '-sS',
    '-v',
    '--ssl-reqd',
    '-k',
    '--max-time',
    '8',
    url,
    '--mail-from',
    ALICE,
    '--mail-rcpt',
    rcpt,
    '--user',
    user,
    '--upload-file',
    file,
  ]);
}

test('curl: STARTTLS on submission (smtp:// --ssl-reqd)', async () => {
  const rcpt = 'curl-starttls@remote.test';
  const r = await curl(`smtp://127.0.0.1:${s.port('submission')}/curl.client.test`, rcpt);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /> STARTTLS/);
  const m = await assertQueued(queueIdFrom(r.stderr), ALICE, [rcpt], 'submission');
  const body = (await s.body(m.id)).toString('latin1');
  assert.match(body, /\r\n\r\nhello from curl\r\n$/);
});

test('curl: implicit TLS on submissions (smtps://)', async () => {
  const rcpt = 'curl-smtps@remote.test';
  const r = await curl(`smtps://127.0.0.1:${s.port('submissions')}/curl.client.test`, rcpt);
  assert.equal(r.code, 0, r.stderr);
  await assertQueued(queueIdFrom(r.stderr), ALICE, [rcpt], 'submissions');
});

test('curl: a wrong password fails (exit 67, 535) and nothing is queued', async () => {
  const n = await s.server.store.queue.count();
  const r = await curl(`smtps://127.0.0.1:${s.port('submissions')}/curl.client.test`, 'curl-denied@remote.test', `${ALICE}:wrong-password`);
  assert.equal(r.code, 67, r.stderr);
  assert.match(r.stderr, /< 535 5\.7\.8 /);
  assert.equal(await s.server.store.queue.count(), n);
});

// ---------------------------------------------------------------------------------------------
// swaks

test('swaks: STARTTLS + AUTH PLAIN on submission', async () => {
  const rcpt = 'swaks@remote.test';
  const r = await run('swaks', [
    '--server',
    '127.0.0.1',
    '--port',
    String(s.port('submission')),
    '--tls',
    '--auth',
    'PLAIN',
    '--auth-user',
    ALICE,
    '--auth-password',
    ALICE_PW,
    '--from',
    ALICE,
    '--to',
    rcpt,
    '--helo',
    'swaks.client.test',
    '--body',
    'hello from swaks',
    '--timeout',
    '8',
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await assertQueued(queueIdFrom(r.stdout), ALICE, [rcpt], 'submission');
});

// ---------------------------------------------------------------------------------------------
// nodemailer on the mx port (legacy clients on 25)

test('nodemailer on mx: AUTH after STARTTLS relays to a remote domain', async () => {
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port: s.port('mx'),
    secure: false,
    requireTLS: true,
    auth: { user: ALICE, pass: ALICE_PW },
    tls: { rejectUnauthorized: false },
  });
  try {
    const info = await t.sendMail({ from: ALICE, to: 'legacy@remote.test', subject: 'via port 25', text: 'hello' });
    assert.match(info.response, /^250 2\.0\.0 /);
    await assertQueued(queueIdFrom(info.response), ALICE, ['legacy@remote.test'], 'mx');
  } finally {
    t.close();
  }
});

test('nodemailer on mx without AUTH: relay to a remote domain is refused with 554 5.7.1', async () => {
  const n = await s.server.store.queue.count();
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port: s.port('mx'),
    secure: false,
    tls: { rejectUnauthorized: false },
  });
  try {
    await assert.rejects(
      t.sendMail({ from: 'stranger@remote.test', to: 'victim@elsewhere.test', subject: 'relay?', text: 'x' }),
      (err: Error & { response?: string; responseCode?: number }) => {
        assert.equal(err.responseCode, 554, err.message);
        assert.match(err.response ?? '', /^554 5\.7\.1 /);
        return true;
      },
    );
  } finally {
    t.close();
  }
  assert.equal(await s.server.store.queue.count(), n);
});
