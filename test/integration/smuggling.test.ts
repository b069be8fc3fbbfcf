/**
 * SMTP smuggling: every non-CRLF end-of-data look-alike inside a message body, followed by a
 * smuggled transaction, then the real CRLF.CRLF. The server must see one message, answer the
 * smuggled commands never, and spool only CRLF line ends ('normalize'); with 'reject' the
 * message is refused with 550 5.5.2 and nothing is queued or left in the spool.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { SmtpClient } from '../helpers/smtp-client.ts';

const ALICE = 'alice@example.com';
const ALICE_PW = 'alice-secret-1';

const VARIANTS: [string, string][] = [
  ['\\n.\\n', '\n.\n'],
  ['\\r.\\r', '\r.\r'],
  ['\\r\\n.\\r', '\r\n.\r'],
  ['\\n.\\r\\n', '\n.\r\n'],
  ['\\r.\\r\\n', '\r.\r\n'],
  ['\\r\\n.\\n', '\r\n.\n'],
  ['\\n.\\r', '\n.\r'],
];

function smuggledBody(eod: string, tag: string): string {
  return (
    `From: <${ALICE}>\r\nTo: <bob@remote.test>\r\nSubject: smuggling ${tag}\r\n\r\n` +
    `first part of the real message${eod}` +
    'MAIL FROM:<evil@attacker.test>\r\n' +
    'RCPT TO:<victim@remote.test>\r\n' +
    'DATA\r\n' +
    'From: <ceo@example.com>\r\nSubject: smuggled\r\n\r\nsmuggled body' +
    '\r\n.\r\n'
  );
}

const BARE = /\r(?!\n)|(?<!\r)\n/;

async function openSession(s: TestServer): Promise<SmtpClient> {
  const c = await SmtpClient.connect(s.port('submission'));
  await c.login(ALICE, ALICE_PW);
  return c;
}

/** Sends one message whose DATA is `payload` (the whole thing, terminator included). */
async function sendRaw(c: SmtpClient, payload: string) {
  await c.expect(`MAIL FROM:<${ALICE}>`, 250);
  await c.expect('RCPT TO:<bob@remote.test>', 250);
  await c.expect('DATA', 354);
  await c.write(payload);
  return c.read();
}

/** After the DATA reply, nothing else may have been answered: QUIT must get the very next reply. */
async function assertNoExtraReplies(c: SmtpClient, tag: string): Promise<void> {
  assert.deepEqual(
    c.pending().map((r) => r.text),
    [],
    `${tag}: smuggled commands were answered`,
  );
  const bye = await c.send('QUIT');
  assert.equal(bye.code, 221, `${tag}: expected the QUIT reply, got ${bye.text}`);
  await c.waitClosed();
  assert.deepEqual(
    c.pending().map((r) => r.text),
    [],
    `${tag}: replies after QUIT`,
  );
}

describe('normalize (default)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    await s.addMailbox(ALICE, ALICE_PW);
  });
  after(() => s.close());

  for (const [name, eod] of VARIANTS) {
    test(`${name} inside the body: one message, no smuggled replies, CRLF only`, async () => {
      const before = new Set((await s.server.store.queue.list()).map((m) => m.id));
      const c = await openSession(s);
      try {
        const r = await sendRaw(c, smuggledBody(eod, name));
        assert.equal(r.code, 250, `${name}: ${r.text}`);
        const id = /queued as (\S+)/.exec(r.text)?.[1];
        assert.ok(id, r.text);
        await assertNoExtraReplies(c, name);
        const added = (await s.server.store.queue.list()).filter((m) => !before.has(m.id));
        assert.equal(added.length, 1, `${name}: exactly one message must be queued`);
        const m = added[0];
        assert.equal(m.id, id);
        assert.equal(m.sender, ALICE);
        assert.deepEqual(
          m.recipients.map((x) => x.address),
          ['bob@remote.test'],
        );
        const body = (await s.body(m.id)).toString('latin1');
        const bad = BARE.exec(body);
        assert.equal(
          bad,
          null,
          `${name}: bare CR or LF at offset ${bad?.index} in the spooled body: ${JSON.stringify(body.slice(Math.max(0, (bad?.index ?? 0) - 20), (bad?.index ?? 0) + 20))}`,
        );
        // the smuggled text is still there, as content of this one message
        assert.match(body, /\r\nMAIL FROM:<evil@attacker\.test>\r\nRCPT TO:<victim@remote\.test>\r\nDATA\r\n/);
        assert.ok(body.endsWith('smuggled body\r\n'), JSON.stringify(body.slice(-40)));
      } finally {
        c.close();
      }
    });
  }

  test('all variants back to back on one connection: one message each, never a smuggled one', async () => {
    const before = new Set((await s.server.store.queue.list()).map((m) => m.id));
    const c = await openSession(s);
    try {
      for (const [name, eod] of VARIANTS) {
        const r = await sendRaw(c, smuggledBody(eod, name));
        assert.equal(r.code, 250, `${name}: ${r.text}`);
        assert.deepEqual(c.pending(), [], `${name}: smuggled commands were answered`);
      }
      await assertNoExtraReplies(c, 'back to back');
    } finally {
      c.close();
    }
    const added = (await s.server.store.queue.list()).filter((m) => !before.has(m.id));
    assert.equal(added.length, VARIANTS.length);
    for (const m of added) {
      assert.equal(m.sender, ALICE);
      assert.deepEqual(
        m.recipients.map((x) => x.address),
        ['bob@remote.test'],
      );
    }
  });
});

describe("reject (smtp.bareLineEndings: 'reject')", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ smtp: { bareLineEndings: 'reject' } });
    await s.addMailbox(ALICE, ALICE_PW);
  });
  after(() => s.close());

  for (const [name, eod] of VARIANTS) {
    test(`${name} inside the body is refused with 550 5.5.2, nothing queued`, async () => {
      const c = await openSession(s);
      try {
        const r = await sendRaw(c, smuggledBody(eod, name));
        assert.equal(r.code, 550, `${name}: ${r.text}`);
        assert.ok(r.lines[0].startsWith('5.5.2 '), r.text);
        // the session is usable again, and nothing that was smuggled got a reply
        assert.equal((await c.send('NOOP')).code, 250);
        await assertNoExtraReplies(c, name);
      } finally {
        c.close();
      }
      assert.equal(await s.server.store.queue.count(), 0);
      assert.deepEqual(fs.readdirSync(path.join(s.dataDir, 'spool', 'q')), [], 'no body file may be left behind');
    });
  }

  test('a clean CRLF message is still accepted in reject mode', async () => {
    const c = await openSession(s);
    try {
      const r = await sendRaw(c, `From: <${ALICE}>\r\nSubject: clean\r\n\r\nclean\r\n.\r\n`);
      assert.equal(r.code, 250, r.text);
      await assertNoExtraReplies(c, 'clean');
    } finally {
      c.close();
    }
    assert.equal(await s.server.store.queue.count(), 1);
  });
});
