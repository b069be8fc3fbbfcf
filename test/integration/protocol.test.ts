/**
 * Bad input and protocol rules on real listeners, spoken byte for byte with the raw client:
 * TLS before AUTH, AUTH before MAIL, command order, garbage and over-long lines, sender
 * identity, size limits, relay refusal on mx, one enhanced status code per reply line,
 * suspension / password change taking effect at once, and the per-IP connection gate.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { SmtpClient, enhancedCodeViolations, type Reply } from '../helpers/smtp-client.ts';

const ALICE = 'alice@example.com';
const ALICE_PW = 'alice-secret-1';
const MAX_SIZE = 10_000;

let s: TestServer;
before(async () => {
  s = await startTestServer({ smtp: { maxMessageSize: MAX_SIZE } });
  await s.addMailbox(ALICE, ALICE_PW);
});
after(() => s.close());

const b64 = (x: string) => Buffer.from(x, 'utf8').toString('base64');

/** Runs fn with a fresh client on the given role and always closes it. */
async function withClient<T>(role: 'submission' | 'submissions' | 'mx', fn: (c: SmtpClient) => Promise<T>, srv = s): Promise<T> {
  const c = await SmtpClient.connect(srv.port(role), { tls: role === 'submissions' });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

async function queueCount(srv = s): Promise<number> {
  return srv.server.store.queue.count();
}

function spoolFiles(srv = s): string[] {
  return fs.readdirSync(path.join(srv.dataDir, 'spool', 'q'));
}

/** Polls a condition (no fixed sleeps): resolves as soon as it holds, fails after timeoutMs. */
async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function assertReply(r: Reply, code: number, enhanced: string, text?: RegExp): void {
  assert.equal(r.code, code, r.text);
  assert.ok(r.lines[0].startsWith(`${enhanced} `), `expected ${code} ${enhanced}, got: ${r.text}`);
  if (text) assert.match(r.text, text);
}

// ---------------------------------------------------------------------------------------------
// TLS and AUTH ordering

test('submission: MAIL before AUTH is refused with 530 5.7.0', async () => {
  await withClient('submission', async (c) => {
    await c.ehlo();
    assertReply(await c.send(`MAIL FROM:<${ALICE}>`), 530, '5.7.0');
    await c.starttls();
    await c.ehlo();
    assertReply(await c.send(`MAIL FROM:<${ALICE}>`), 530, '5.7.0');
    assertReply(await c.send('RCPT TO:<bob@remote.test>'), 530, '5.7.0');
  });
  assert.equal(await queueCount(), 0);
});

test('submission: AUTH before STARTTLS is refused and not advertised; advertised after STARTTLS', async () => {
  await withClient('submission', async (c) => {
    const plain = await c.ehlo();
    const kw = SmtpClient.keywords(plain);
    assert.ok(kw.includes('STARTTLS'), plain.text);
    assert.ok(!kw.includes('AUTH'), `AUTH must not be advertised in cleartext:\n${plain.text}`);
    const r = await c.authPlain(ALICE, ALICE_PW);
    assert.ok(r.code === 538 || r.code === 530, r.text);
    assert.ok(r.lines[0].startsWith('5.7.0 '), r.text);
    await c.starttls();
    const secure = await c.ehlo();
    const auth = secure.lines.find((l) => l.toUpperCase().startsWith('AUTH '));
    assert.ok(auth, `AUTH must be advertised after STARTTLS:\n${secure.text}`);
    assert.match(auth, /\bPLAIN\b/);
    assert.match(auth, /\bLOGIN\b/);
    assert.ok(!SmtpClient.keywords(secure).includes('STARTTLS'), 'STARTTLS must not be offered twice');
    assertReply(await c.authPlain(ALICE, ALICE_PW), 235, '2.7.0');
  });
});

test('mx: AUTH is advertised only after STARTTLS, and refused before it', async () => {
  await withClient('mx', async (c) => {
    const plain = await c.ehlo();
    assert.ok(!SmtpClient.keywords(plain).includes('AUTH'), plain.text);
    const r = await c.authPlain(ALICE, ALICE_PW);
    assert.ok(r.code === 538 || r.code === 530, r.text);
    await c.starttls();
    assert.ok(SmtpClient.keywords(await c.ehlo()).includes('AUTH'));
  });
});

test('submissions (implicit TLS) advertises AUTH and not STARTTLS', async () => {
  await withClient('submissions', async (c) => {
    const r = await c.ehlo();
    const kw = SmtpClient.keywords(r);
    assert.ok(kw.includes('AUTH'), r.text);
    assert.ok(!kw.includes('STARTTLS'), r.text);
  });
});

test('commands pipelined behind STARTTLS in the same write are discarded', async () => {
  for (const role of ['submission', 'mx'] as const) {
    await withClient(role, async (c) => {
      await c.ehlo();
      await c.write(`STARTTLS\r\nMAIL FROM:<${ALICE}>\r\nRCPT TO:<bob@remote.test>\r\n`);
      const ready = await c.read();
      assert.equal(ready.code, 220, ready.text);
      assert.deepEqual(c.pending(), [], `${role}: no reply may follow the 220 in cleartext`);
      assert.equal(c.unparsed(), '', `${role}: no cleartext bytes may follow the 220`);
      await c.upgrade();
      // the first reply in TLS must be the one to our EHLO, not one to the injected MAIL/RCPT
      const ehlo = await c.send('EHLO client.test');
      assert.equal(ehlo.code, 250, ehlo.text);
      assert.match(ehlo.lines[0], /^mx\.postern\.test\b/, `${role}: first TLS reply is not the EHLO reply: ${ehlo.text}`);
      const noop = await c.send('NOOP');
      assert.equal(noop.code, 250, noop.text);
      assert.deepEqual(c.pending(), [], `${role}: unexpected extra replies`);
      // the injected MAIL did not open a transaction
      const rcpt = await c.send('RCPT TO:<bob@remote.test>');
      assert.ok(rcpt.code === 503 || rcpt.code === 530, `${role}: ${rcpt.text}`);
    });
  }
  assert.equal(await queueCount(), 0);
});

// ---------------------------------------------------------------------------------------------
// Garbage, NUL bytes and over-long lines

test('garbage command gets 500 5.5.2 and the session survives', async () => {
  await withClient('submission', async (c) => {
    await c.ehlo();
    assertReply(await c.send('XYZZY plugh'), 500, '5.5.2');
    assertReply(await c.send('\x01\x02\x7f\xff\xfe'), 500, '5.5.2');
    assertReply(await c.send('NOOP'), 250, '2.0.0');
    await c.quit();
  });
});

test('NUL bytes in commands are refused and the session survives', async () => {
  await withClient('submission', async (c) => {
    await c.login(ALICE, ALICE_PW);
    const nulVerb = await c.send(Buffer.from('NO\0OP'));
    assert.ok(nulVerb.code >= 500 && nulVerb.code < 600, nulVerb.text);
    const nulSender = await c.send(Buffer.from(`MAIL FROM:<alice\0@example.com>`));
    assert.ok(nulSender.code >= 500 && nulSender.code < 600, nulSender.text);
    const nulAfter = await c.send(Buffer.from(`MAIL FROM:<${ALICE}>\0`));
    assert.ok(nulAfter.code >= 500 && nulAfter.code < 600, `trailing NUL after MAIL FROM accepted: ${nulAfter.text}`);
    await c.expect(`MAIL FROM:<${ALICE}>`, 250);
    const nulRcpt = await c.send(Buffer.from('RCPT TO:<bob\0@remote.test>'));
    assert.ok(nulRcpt.code >= 500 && nulRcpt.code < 600, nulRcpt.text);
    const nulRcpt2 = await c.send(Buffer.from('RCPT TO:<bob@remote.test>\0'));
    assert.ok(nulRcpt2.code >= 500 && nulRcpt2.code < 600, `trailing NUL after RCPT TO accepted: ${nulRcpt2.text}`);
    assertReply(await c.send('DATA'), 503, '5.5.1');
    assertReply(await c.send('NOOP'), 250, '2.0.0');
  });
  assert.equal(await queueCount(), 0);
});

test('an over-long (10 kB) command line gets an error and nothing is queued', async () => {
  const long = 'x'.repeat(10_000);
  await withClient('submission', async (c) => {
    await c.login(ALICE, ALICE_PW);
    await c.expect(`MAIL FROM:<${ALICE}>`, 250);
    // a syntactically valid RCPT with a 10 kB DSN parameter: RFC 5321 4.5.3.1.4 caps a
    // command line at 512 octets (RFC 3461 caps ORCPT at 500 characters)
    const rcpt = await c.send(`RCPT TO:<bob@remote.test> ORCPT=rfc822;${long}@remote.test`);
    assert.ok(rcpt.code >= 400, `10 kB RCPT line accepted: ${rcpt.text.slice(0, 200)}`);
    if (!c.isClosed && rcpt.code !== 421) {
      const data = await c.send('DATA');
      if (data.code === 354) {
        await c.write('Subject: long\r\n\r\nbody\r\n.\r\n');
        await c.read();
      }
    }
  });
  await withClient('submission', async (c) => {
    await c.ehlo();
    const noop = await c.send(`NOOP ${long}`);
    assert.ok(noop.code >= 400, `10 kB NOOP line accepted: ${noop.text}`);
  });
  await withClient('submission', async (c) => {
    await c.ehlo();
    // beyond smtp-server's own 16 kB parser limit: an error reply, then the close
    const r = await c.send(`NOOP ${'y'.repeat(20_000)}`);
    assert.ok(r.code >= 400, r.text);
    assert.equal(await c.waitClosed(), true);
  });
  assert.equal(await queueCount(), 0);
});

// ---------------------------------------------------------------------------------------------
// AUTH mechanisms

test('AUTH PLAIN with broken base64 or the wrong number of fields gets 501', async () => {
  await withClient('submission', async (c) => {
    await c.ehlo();
    await c.starttls();
    await c.ehlo();
    assertReply(await c.send('AUTH PLAIN !!!not-base64!!!'), 501, '5.5.4');
    assertReply(await c.send(`AUTH PLAIN ${b64(`${ALICE}\0${ALICE_PW}`)}`), 501, '5.5.4');
    assertReply(await c.send(`AUTH PLAIN ${b64(`\0${ALICE}\0${ALICE_PW}\0extra`)}`), 501, '5.5.4');
    // still not authenticated
    assertReply(await c.send(`MAIL FROM:<${ALICE}>`), 530, '5.7.0');
  });
});

test('AUTH PLAIN with an authzid different from the authcid gets 535 5.7.8', async () => {
  await withClient('submission', async (c) => {
    await c.ehlo();
    await c.starttls();
    await c.ehlo();
    assertReply(await c.authPlain(ALICE, ALICE_PW, 'bob@example.com'), 535, '5.7.8');
    // authzid equal to the login is fine
    assertReply(await c.authPlain(ALICE, ALICE_PW, ALICE), 235, '2.7.0');
  });
});

test('AUTH LOGIN works, with and without an initial response', async () => {
  await withClient('submission', async (c) => {
    await c.ehlo();
    await c.starttls();
    await c.ehlo();
    const u = await c.expect('AUTH LOGIN', 334);
    assert.equal(Buffer.from(u.lines[0], 'base64').toString(), 'Username:');
    const p = await c.expect(b64(ALICE), 334);
    assert.equal(Buffer.from(p.lines[0], 'base64').toString(), 'Password:');
    assertReply(await c.send(b64(ALICE_PW)), 235, '2.7.0');
    await c.expect(`MAIL FROM:<${ALICE}>`, 250, '2.1.0');
  });
  await withClient('submissions', async (c) => {
    await c.ehlo();
    await c.expect(`AUTH LOGIN ${b64(ALICE)}`, 334);
    assertReply(await c.send(b64('wrong-password')), 535, '5.7.8');
  });
});

// ---------------------------------------------------------------------------------------------
// Command order and sender identity

test('RCPT before MAIL and DATA before RCPT get 503', async () => {
  await withClient('submission', async (c) => {
    await c.login(ALICE, ALICE_PW);
    assertReply(await c.send('RCPT TO:<bob@remote.test>'), 503, '5.5.1');
    assertReply(await c.send('DATA'), 503, '5.5.1');
    await c.expect(`MAIL FROM:<${ALICE}>`, 250);
    assertReply(await c.send('DATA'), 503, '5.5.1');
  });
  assert.equal(await queueCount(), 0);
});

test('MAIL FROM another address than the login, or the null sender, gets 553 5.7.1', async () => {
  await withClient('submission', async (c) => {
    await c.login(ALICE, ALICE_PW);
    assertReply(await c.send('MAIL FROM:<bob@example.com>'), 553, '5.7.1');
    assertReply(await c.send('MAIL FROM:<alice@other.test>'), 553, '5.7.1');
    assertReply(await c.send('MAIL FROM:<>'), 553, '5.7.1');
    // the mailbox's own address, in another case, is fine
    await c.expect('MAIL FROM:<Alice@Example.COM>', 250);
  });
});

// ---------------------------------------------------------------------------------------------
// Size limits

test('MAIL FROM with SIZE over the maximum gets 552 5.3.4', async () => {
  await withClient('submission', async (c) => {
    await c.login(ALICE, ALICE_PW);
    const ehlo = await c.ehlo();
    assert.ok(ehlo.lines.includes(`SIZE ${MAX_SIZE}`), ehlo.text);
    assertReply(await c.send(`MAIL FROM:<${ALICE}> SIZE=${MAX_SIZE + 1}`), 552, '5.3.4');
    await c.expect(`MAIL FROM:<${ALICE}> SIZE=${MAX_SIZE - 1000}`, 250);
  });
});

test('a message body over the maximum gets 552 5.3.4, nothing is queued and no spool file is left', async () => {
  const before = spoolFiles();
  const queuedBefore = new Set((await s.server.store.queue.list()).map((m) => m.id));
  await withClient('submission', async (c) => {
    await c.login(ALICE, ALICE_PW);
    await c.expect(`MAIL FROM:<${ALICE}>`, 250);
    await c.expect('RCPT TO:<bob@remote.test>', 250);
    await c.expect('DATA', 354);
    const line = 'y'.repeat(76) + '\r\n';
    await c.write(`From: ${ALICE}\r\nSubject: big\r\n\r\n${line.repeat(Math.ceil((MAX_SIZE * 3) / line.length))}.\r\n`);
    assertReply(await c.read(), 552, '5.3.4');
    assertReply(await c.send('NOOP'), 250, '2.0.0');
    // and a small message on the same connection still goes through
    await c.expect(`MAIL FROM:<${ALICE}>`, 250);
    await c.expect('RCPT TO:<bob@remote.test>', 250);
    await c.expect('DATA', 354);
    await c.write(`From: ${ALICE}\r\nSubject: small\r\n\r\nsmall\r\n.\r\n`);
    assertReply(await c.read(), 250, '2.0.0');
  });
  const queued = (await s.server.store.queue.list()).filter((m) => !queuedBefore.has(m.id));
  assert.equal(queued.length, 1, 'only the small message is queued');
  assert.ok(queued[0].size < MAX_SIZE);
  // the small one is stored in its queue row; the big one left no file behind
  assert.equal(queued[0].bodyPath, null);
  assert.deepEqual(
    spoolFiles().filter((f) => !before.includes(f)),
    [],
  );
});

test('an oversized message is not written to the spool past the limit while it streams in', async () => {
  // The server runs in this process, so a setImmediate loop interleaves with its I/O and sees
  // the spool file grow. A message of 4 MiB against a 10 kB limit must never occupy more than
  // the limit plus a generous buffer on disk, or one client can fill the disk per connection.
  const dir = path.join(s.dataDir, 'spool', 'q');
  const existing = new Set(spoolFiles());
  let largest = 0;
  let watching = true;
  const watch = (): void => {
    for (const f of fs.readdirSync(dir)) {
      if (existing.has(f)) continue;
      try {
        largest = Math.max(largest, fs.statSync(path.join(dir, f)).size);
      } catch {
        // removed between readdir and stat
      }
    }
    if (watching) setImmediate(watch);
  };
  await withClient('submission', async (c) => {
    await c.login(ALICE, ALICE_PW);
    await c.expect(`MAIL FROM:<${ALICE}>`, 250);
    await c.expect('RCPT TO:<bob@remote.test>', 250);
    await c.expect('DATA', 354);
    watch();
    const line = 'w'.repeat(998) + '\r\n';
    const chunk = `From: ${ALICE}\r\nSubject: huge\r\n\r\n${line.repeat(256)}`; // ~256 kB
    for (let i = 0; i < 16; i++) await c.write(i === 0 ? chunk : line.repeat(256));
    await c.write('.\r\n');
    const r = await c.read(15_000);
    watching = false;
    assertReply(r, 552, '5.3.4');
  });
  const limit = MAX_SIZE + 256 * 1024;
  assert.ok(largest <= limit, `the spool file of a refused oversized message grew to ${largest} bytes (limit ${MAX_SIZE})`);
  assert.deepEqual(
    spoolFiles().filter((f) => !existing.has(f)),
    [],
  );
});

test('a listener maxMessageSize above smtp.maxMessageSize is honoured end to end', async () => {
  // the listener advertises SIZE 200000; a 100 kB message is within what it promised
  const g = await startTestServer({
    smtp: { maxMessageSize: MAX_SIZE },
    listeners: [{ role: 'submission', port: 0, host: '127.0.0.1', maxMessageSize: 200_000 }],
  });
  try {
    await g.addMailbox(ALICE, ALICE_PW);
    await withClient(
      'submission',
      async (c) => {
        await c.login(ALICE, ALICE_PW);
        const ehlo = await c.ehlo();
        assert.ok(ehlo.lines.includes('SIZE 200000'), ehlo.text);
        await c.expect(`MAIL FROM:<${ALICE}> SIZE=100000`, 250);
        await c.expect('RCPT TO:<bob@remote.test>', 250);
        await c.expect('DATA', 354);
        const line = 'v'.repeat(98) + '\r\n';
        await c.write(`From: ${ALICE}\r\nSubject: 100k\r\n\r\n${line.repeat(1000)}.\r\n`);
        const r = await c.read();
        assert.equal(r.code, 250, `a message within the advertised SIZE was refused: ${r.text}`);
      },
      g,
    );
    assert.equal(await queueCount(g), 1);
  } finally {
    await g.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Relay on mx

test('mx without AUTH: relay refused with 554 5.7.1, hosted domain refused with 550 5.7.1', async () => {
  const n = await queueCount();
  await withClient('mx', async (c) => {
    await c.ehlo();
    await c.expect('MAIL FROM:<someone@remote.test>', 250);
    assertReply(await c.send('RCPT TO:<victim@elsewhere.test>'), 554, '5.7.1');
    assertReply(await c.send(`RCPT TO:<${ALICE}>`), 550, '5.7.1');
    assertReply(await c.send('DATA'), 503, '5.5.1');
  });
  await withClient('mx', async (c) => {
    await c.ehlo();
    await c.starttls();
    await c.ehlo();
    // TLS alone does not make a client trusted
    await c.expect('MAIL FROM:<someone@remote.test>', 250);
    assertReply(await c.send('RCPT TO:<victim@elsewhere.test>'), 554, '5.7.1');
  });
  assert.equal(await queueCount(), n);
});

// ---------------------------------------------------------------------------------------------
// Enhanced status codes

test('every reply line after EHLO carries exactly one enhanced status code of its class', async () => {
  const seen: Reply[] = [];
  const collect = (c: SmtpClient, from: number) =>
    seen.push(...c.replies.slice(from).filter((r) => !/^250[- ]mx\.postern\.test /.test(r.raw[0])));
  // one session per role, each walking through many refusals and acceptances
  await withClient('submission', async (c) => {
    await c.ehlo();
    const from = c.replies.length;
    await c.send(`MAIL FROM:<${ALICE}>`); // 530
    await c.authPlain(ALICE, ALICE_PW); // 538
    await c.send('BOGUS'); // 500
    await c.send('NOOP'); // 250
    await c.send('RSET'); // 250
    await c.send('VRFY bob'); // 252
    await c.send('STARTTLS'); // 220
    await c.upgrade();
    const from2 = c.replies.length;
    collect(c, from);
    await c.ehlo();
    const from3 = c.replies.length;
    await c.authPlain(ALICE, 'wrong-password'); // 535
    await c.authPlain(ALICE, ALICE_PW, 'bob@example.com'); // 535 authzid
    await c.send('AUTH PLAIN ****'); // 501
    await c.send('AUTH FOO'); // 504
    await c.authPlain(ALICE, ALICE_PW); // 235
    await c.send(`AUTH PLAIN ${b64(`\0${ALICE}\0${ALICE_PW}`)}`); // 503
    await c.send('RCPT TO:<bob@remote.test>'); // 503
    await c.send('MAIL FROM:<bob@example.com>'); // 553
    await c.send('MAIL FROM:<>'); // 553
    await c.send('MAIL FROM:<not an address>'); // 501
    await c.send(`MAIL FROM:<${ALICE}> SIZE=${MAX_SIZE * 10}`); // 552
    await c.send(`MAIL FROM:<${ALICE}>`); // 250
    await c.send(`MAIL FROM:<${ALICE}>`); // 503 nested
    await c.send('RCPT TO:<not-an-address>'); // 501
    await c.send('RCPT TO:<bob@remote.test>'); // 250
    await c.send('DATA'); // 354
    await c.write('Subject: bare\nLF\r\n.\r\n');
    await c.read(); // 250 (normalised)
    await c.send(`MAIL FROM:<${ALICE}>`);
    await c.send('RCPT TO:<bob@remote.test>');
    await c.send('DATA');
    await c.write(`Subject: big\r\n\r\n${'z'.repeat(200).concat('\r\n').repeat(100)}.\r\n`);
    await c.read(); // 552
    await c.send('QUIT'); // 221
    assert.ok(from2 > from && from3 > from2);
    collect(c, from3);
  });
  await withClient('mx', async (c) => {
    await c.ehlo();
    const from = c.replies.length;
    await c.send('MAIL FROM:<x@remote.test>'); // 250
    await c.send('RCPT TO:<y@elsewhere.test>'); // 554
    await c.send(`RCPT TO:<${ALICE}>`); // 550
    await c.send('DATA'); // 503
    await c.send('HELP'); // 214
    collect(c, from);
  });
  const codes = new Set(seen.map((r) => r.code));
  for (const code of [221, 235, 250, 252, 500, 501, 503, 504, 530, 535, 538, 550, 552, 553, 554]) {
    assert.ok(codes.has(code), `the walk did not produce a ${code} reply: ${[...codes].join(' ')}`);
  }
  assert.deepEqual(enhancedCodeViolations(seen), []);
});

// ---------------------------------------------------------------------------------------------
// Suspension and password changes take effect at once

test('a suspended mailbox cannot log in and is told so; after resume it can', async () => {
  const addr = 'carol@example.com';
  const pw = 'carol-secret-1';
  await s.addMailbox(addr, pw);
  // warm the login cache first: suspension must win over a cached login
  await withClient('submissions', async (c) => {
    await c.ehlo();
    assertReply(await c.authPlain(addr, pw), 235, '2.7.0');
  });
  await s.admin.suspend(addr);
  await withClient('submissions', async (c) => {
    await c.ehlo();
    const r = await c.authPlain(addr, pw);
    assertReply(r, 535, '5.7.8', /suspended/i);
  });
  // a wrong password does not learn about the suspension
  await withClient('submissions', async (c) => {
    await c.ehlo();
    const r = await c.authPlain(addr, 'not-the-password');
    assertReply(r, 535, '5.7.8');
    assert.doesNotMatch(r.text, /suspended/i);
  });
  await s.admin.resume(addr);
  await withClient('submissions', async (c) => {
    await c.ehlo();
    assertReply(await c.authPlain(addr, pw), 235, '2.7.0');
    await c.expect(`MAIL FROM:<${addr}>`, 250);
  });
});

test('a password change invalidates the cached login at once', async () => {
  const addr = 'dave@example.com';
  const oldPw = 'dave-old-secret';
  const newPw = 'dave-new-secret';
  await s.addMailbox(addr, oldPw);
  const authLogs = () => s.logs.filter((l) => l.evt === 'auth' && l.user === addr);
  for (let i = 0; i < 2; i++) {
    await withClient('submissions', async (c) => {
      await c.ehlo();
      assertReply(await c.authPlain(addr, oldPw), 235, '2.7.0');
    });
  }
  await waitFor(() => authLogs().length >= 2, 'auth log lines');
  assert.equal(authLogs()[1].cached, true, 'the second login should come from the cache');
  await s.admin.setPassword(addr, newPw);
  await withClient('submissions', async (c) => {
    await c.ehlo();
    assertReply(await c.authPlain(addr, oldPw), 535, '5.7.8');
    assertReply(await c.authPlain(addr, newPw), 235, '2.7.0');
  });
});

// ---------------------------------------------------------------------------------------------
// Connection gate

test('per-IP connection limit: the third connection gets 421 4.7.0, a freed slot is reusable', async () => {
  const g = await startTestServer({
    listeners: [{ role: 'submission', port: 0, host: '127.0.0.1', maxConnectionsPerIp: 2 }],
  });
  const open: SmtpClient[] = [];
  try {
    const port = g.port('submission');
    open.push(await SmtpClient.connect(port), await SmtpClient.connect(port));
    for (const c of open) assert.equal(c.greeting?.code, 220);
    const third = await SmtpClient.connect(port, { noGreeting: true });
    try {
      const r = await third.read();
      assertReply(r, 421, '4.7.0');
      assert.equal(await third.waitClosed(), true, 'the refused connection must be closed');
    } finally {
      third.close();
    }
    // the two admitted sessions still work
    await open[0].expect('NOOP', 250);
    // free one slot; the next connection is admitted once the server has seen the close
    await open[0].quit();
    await waitFor(() => g.logs.filter((l) => l.evt === 'disconnect').length >= 2, 'two disconnects (refused + quit)');
    const fourth = await SmtpClient.connect(port);
    open.push(fourth);
    assert.equal(fourth.greeting?.code, 220, fourth.greeting?.text);
  } finally {
    for (const c of open) c.close();
    await g.close();
  }
});
