import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HeaderRewriter, rfc5322Date, type HeaderFacts, type MessageReader } from './headers.ts';
import { buildReceived, type ReceivedInfo } from './received.ts';

const NOW = new Date(Date.UTC(2026, 10, 27, 23, 35, 3)); // a Friday
const QID = '0Bz9KxQ7mN3pLwR5tV8c';
const PASSWORD = 'alice-Secret-Pw-42';

function receivedInfo(over: Partial<ReceivedInfo> = {}): ReceivedInfo {
  return {
    heloName: 'client.example',
    clientHostname: null,
    clientIp: '127.0.0.1',
    hostname: 'mx.postern.test',
    queueId: QID,
    tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
    authenticated: true,
    singleRecipient: 'bob@remote.test',
    now: NOW,
    ...over,
  };
}

/** Through the HeaderRewriter, as intake/intake.ts runs it. */
async function rewrite(message: string, received = buildReceived(receivedInfo())): Promise<{ out: string; facts: HeaderFacts }> {
  const rewriter = new HeaderRewriter({ received, hostname: 'mx.postern.test', queueId: QID, now: NOW });
  const chunks: Buffer[] = [];
  await pipeline(
    Readable.from([Buffer.from(message, 'utf8')]),
    rewriter,
    new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
  );
  return { out: Buffer.concat(chunks).toString('utf8'), facts: rewriter.facts };
}

/** The header block (up to the blank line) and the body. */
function split(out: string): { header: string; body: string } {
  const end = out.indexOf('\r\n\r\n');
  assert.ok(end >= 0, 'the output has a header/body separator');
  return { header: out.slice(0, end + 2), body: out.slice(end + 4) };
}

/** Header fields (unfolded) with their names, in order. */
function fields(header: string): { name: string; value: string }[] {
  return header
    .replace(/\r\n(?=[ \t])/g, '')
    .split('\r\n')
    .filter(Boolean)
    .map((l) => ({ name: l.slice(0, l.indexOf(':')).toLowerCase(), value: l.slice(l.indexOf(':') + 1).trim() }));
}

const count = (header: string, name: string) => fields(header).filter((f) => f.name === name).length;

function assertOnlyCrlf(s: string) {
  assert.doesNotMatch(s.replace(/\r\n/g, ''), /[\r\n]/, 'every line end is CRLF');
}

const FULL = [
  'From: Alice <alice@example.com>',
  'To: bob@remote.test',
  'Subject: hello',
  'Date: Tue, 01 Dec 2026 10:00:00 +0100',
  'Message-ID: <original-1@client.example>',
  '',
  'Body line one',
  'Bcc: not a header, stays in the body',
  '',
].join('\r\n');

test('Message-ID and Date are kept when present and not added a second time', async () => {
  const { out, facts } = await rewrite(FULL);
  const { header, body } = split(out);
  assert.equal(count(header, 'message-id'), 1);
  assert.equal(count(header, 'date'), 1);
  assert.match(header, /^Message-ID: <original-1@client\.example>\r$/m);
  assert.match(header, /^Date: Tue, 01 Dec 2026 10:00:00 \+0100\r$/m);
  assert.equal(facts.messageId, '<original-1@client.example>');
  assert.equal(facts.addedMessageId, false);
  assert.equal(facts.addedDate, false);
  assert.equal(body, 'Body line one\r\nBcc: not a header, stays in the body\r\n');
  assertOnlyCrlf(out);
});

test('header names are matched case-insensitively (message-id, DATE)', async () => {
  const msg = 'from: a@example.com\r\nmessage-id: <lower@client.example>\r\nDATE: Tue, 01 Dec 2026 10:00:00 +0100\r\n\r\nx\r\n';
  const { out, facts } = await rewrite(msg);
  const { header } = split(out);
  assert.equal(count(header, 'message-id'), 1);
  assert.equal(count(header, 'date'), 1);
  assert.equal(facts.addedMessageId, false);
  assert.equal(facts.addedDate, false);
});

test('Message-ID and Date are added when missing', async () => {
  const msg = 'From: a@example.com\r\nTo: b@remote.test\r\nSubject: s\r\n\r\nhi\r\n';
  const { out, facts } = await rewrite(msg);
  const { header, body } = split(out);
  assert.equal(count(header, 'message-id'), 1);
  assert.equal(count(header, 'date'), 1);
  assert.match(header, new RegExp(`^Message-ID: <${QID}@mx\\.postern\\.test>\\r$`, 'm'));
  assert.match(header, /^Date: Fri, 27 Nov 2026 23:35:03 \+0000\r$/m);
  assert.equal(facts.messageId, `<${QID}@mx.postern.test>`);
  assert.equal(facts.addedMessageId, true);
  assert.equal(facts.addedDate, true);
  assert.equal(facts.from, 'a@example.com');
  assert.equal(body, 'hi\r\n');
  // the original fields survive in their order
  assert.deepEqual(
    fields(header)
      .filter((f) => ['from', 'to', 'subject'].includes(f.name))
      .map((f) => f.name),
    ['from', 'to', 'subject'],
  );
  assertOnlyCrlf(out);
});

test('only Date missing: Date added, Message-ID kept; only Message-ID missing: the reverse', async () => {
  const noDate = await rewrite('From: a@example.com\r\nMessage-ID: <k@c.example>\r\n\r\nx\r\n');
  assert.equal(noDate.facts.addedDate, true);
  assert.equal(noDate.facts.addedMessageId, false);
  assert.equal(count(split(noDate.out).header, 'message-id'), 1);
  assert.equal(count(split(noDate.out).header, 'date'), 1);
  const noId = await rewrite('From: a@example.com\r\nDate: Tue, 01 Dec 2026 10:00:00 +0100\r\n\r\nx\r\n');
  assert.equal(noId.facts.addedDate, false);
  assert.equal(noId.facts.addedMessageId, true);
  assert.equal(count(split(noId.out).header, 'date'), 1);
  assert.equal(count(split(noId.out).header, 'message-id'), 1);
});

test('Bcc is removed: a single one, several, folded ones, empty ones, any case', async () => {
  const msg = [
    'From: a@example.com',
    'Bcc: hidden1@secret.example,',
    '  hidden2@secret.example,',
    '\thidden3@secret.example',
    'To: b@remote.test',
    'BCC: hidden4@secret.example',
    'X-Bcc-Note: keep-me',
    'bcc:',
    'Subject: s',
    '',
    'Bcc: body-line@visible.example',
    '',
  ].join('\r\n');
  const { out, facts } = await rewrite(msg);
  const { header, body } = split(out);
  assert.equal(count(header, 'bcc'), 0);
  assert.doesNotMatch(header, /hidden\d@secret\.example/);
  assert.equal(facts.removedBcc, 3);
  assert.match(header, /^X-Bcc-Note: keep-me\r$/m, 'a field whose name merely contains "bcc" stays');
  assert.match(header, /^To: b@remote\.test\r$/m);
  assert.match(header, /^Subject: s\r$/m);
  assert.equal(body, 'Bcc: body-line@visible.example\r\n');
  assertOnlyCrlf(out);
});

test('Received is the very first line, above existing Received fields, folded with CRLF + TAB', async () => {
  const msg = 'Received: from older.example by relay.example; Tue, 01 Dec 2026 09:00:00 +0000\r\nFrom: a@example.com\r\n\r\nx\r\n';
  const { out } = await rewrite(msg);
  assert.ok(out.startsWith('Received: from client.example ([127.0.0.1])\r\n\tby mx.postern.test (Postern) with ESMTPSA id '), out);
  const { header } = split(out);
  const names = fields(header).map((f) => f.name);
  assert.equal(names[0], 'received');
  assert.equal(count(header, 'received'), 2);
  assert.match(
    header,
    /^Received: from older\.example by relay\.example; Tue, 01 Dec 2026 09:00:00 \+0000\r$/m,
    'the older Received is kept unchanged',
  );
  // the first field's raw lines: one header line and continuation lines starting with TAB
  const raw = header.split('\r\n');
  let i = 1;
  while (raw[i].startsWith('\t')) i++;
  assert.ok(i >= 3, 'Received spans several folded lines');
  for (const line of raw.slice(1, i)) assert.match(line, /^\t\S/);
  assertOnlyCrlf(out);
});

test('trace fields stay one block on top: added Message-ID and Date go below existing Received (RFC 5322 3.6)', async () => {
  // e.g. a message re-sent (Resent-*) through submission keeps its earlier trace fields
  const msg = 'Received: from older.example by relay.example; Tue, 01 Dec 2026 09:00:00 +0000\r\nFrom: a@example.com\r\n\r\nx\r\n';
  const { out } = await rewrite(msg);
  const names = fields(split(out).header).map((f) => f.name);
  assert.deepEqual(names.slice(0, 2), ['received', 'received'], `field order: ${names.join(', ')}`);
  assert.ok(names.includes('message-id') && names.includes('date'));
});

test('Received names ESMTPSA and the TLS version, and holds no password', async () => {
  const received = buildReceived(receivedInfo());
  assert.match(received, /\bwith ESMTPSA id 0Bz9KxQ7mN3pLwR5tV8c\b/);
  assert.match(received, /\(version=TLSv1\.3 cipher=TLS_AES_256_GCM_SHA384\)/);
  assert.match(received, /for <bob@remote\.test>; Fri, 27 Nov 2026 23:35:03 \+0000$/);
  assert.doesNotMatch(received, /\n(?!\t)/, 'every line break is a fold');
  assert.doesNotMatch(received.replace(/\r\n/g, ''), /[\r\n]/);

  const msg = `From: alice@example.com\r\nSubject: s\r\n\r\nbody\r\n`;
  const { out } = await rewrite(msg, received);
  assert.ok(!out.includes(PASSWORD));
  assert.ok(!Buffer.from(out).toString('base64').includes(Buffer.from(PASSWORD).toString('base64')));
  assert.doesNotMatch(out, /pass(word)?=/i);
});

test('rfc5322Date formats UTC with +0000', () => {
  assert.equal(rfc5322Date(NOW), 'Fri, 27 Nov 2026 23:35:03 +0000');
  assert.equal(rfc5322Date(new Date(Date.UTC(2027, 0, 5, 4, 3, 2))), 'Tue, 05 Jan 2027 04:03:02 +0000');
});

/** Runs the rewriter (with a reader riding along, if given) over the message cut into the given chunks. */
async function rewriteChunks(chunks: Buffer[], reader: MessageReader | null = null): Promise<string> {
  const rewriter = new HeaderRewriter(
    {
      received: 'from a ([127.0.0.1]); Fri, 27 Nov 2026 23:35:03 +0000',
      hostname: 'mx.postern.test',
      queueId: QID,
      now: NOW,
    },
    reader,
  );
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    rewriter,
    new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(out).toString('latin1');
}

test('the header block is found wherever the chunks are cut, and the body passes byte for byte', async () => {
  const msg = Buffer.from(
    'Subject: cut\r\nBcc: x@y.test\r\nMessage-ID: <m@x>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nbody \xff line\r\n.\r\nlast',
    'latin1',
  );
  const expected = await rewriteChunks([msg]);
  assert.match(
    expected,
    /^Received: from a[^\r]*\r\nSubject: cut\r\nMessage-ID: <m@x>\r\nDate: [^\r]+\r\n\r\nbody \xff line\r\n\.\r\nlast$/,
  );
  for (let i = 1; i < msg.length; i++) {
    for (const j of [i + 1, i + 3, msg.length]) {
      if (j <= i || j > msg.length) continue;
      const parts = [msg.subarray(0, i), msg.subarray(i, j), msg.subarray(j)].filter((p) => p.length);
      assert.equal(await rewriteChunks(parts), expected, `cut at ${i}/${j}`);
    }
  }
});

test('a message with no header, and one that is all header, both get the fix-ups', async () => {
  const noHeader = await rewriteChunks([Buffer.from('\r\njust a body\r\n')]);
  assert.match(noHeader, /^Received: [^\r]+\r\nMessage-ID: <[^>]+>\r\nDate: [^\r]+\r\n\r\njust a body\r\n$/);
  const allHeader = await rewriteChunks([Buffer.from('Subject: only\r\nBcc: b@x.test\r\n')]);
  assert.match(allHeader, /^Received: [^\r]+\r\nSubject: only\r\nMessage-ID: <[^>]+>\r\nDate: [^\r]+\r\n\r\n$/);
});

test('a header block over 1 MiB is refused with 552 5.3.4', async () => {
  const line = `X-Filler: ${'a'.repeat(990)}\r\n`;
  await assert.rejects(
    rewriteChunks(Array.from({ length: 1100 }, () => Buffer.from(line))),
    (e: Error & { responseCode?: number }) => e.responseCode === 552 && /^5\.3\.4 /.test(e.message),
  );
});

test('the Subject is read for message tracking: folded, encoded words decoded, at most 200 characters; none is null', async () => {
  const folded = await rewrite(
    'From: a@example.com\r\nSubject: =?UTF-8?B?w6l0w6k=?=\r\n =?UTF-8?Q?_caf=C3=A9?= and\r\n more\r\n\r\nbody\r\n',
  );
  assert.equal(folded.facts.subject, 'été café and more');
  assert.match(
    folded.out,
    /Subject: =\?UTF-8\?B\?w6l0w6k=\?=\r\n =\?UTF-8\?Q\?_caf=C3=A9\?= and\r\n more\r\n/,
    'the message itself is untouched',
  );
  const long = await rewrite(`Subject: ${'y'.repeat(300)}\r\n\r\nbody\r\n`);
  assert.equal(long.facts.subject, 'y'.repeat(200));
  assert.equal((await rewrite('From: a@example.com\r\n\r\nbody\r\n')).facts.subject, null);
});

test('a reader riding along gets exactly what is stored: the rewritten header block once, then the body chunks in order', async () => {
  const raw = Buffer.from('From: a@example.com\r\nBcc: hidden@example.com\r\nSubject: x\r\n\r\nline one\r\nline two\r\n.\r\n');
  for (const cuts of [[], [5], [30, 62], [60, 61, 62, 70]]) {
    const got: { header: Buffer[]; body: Buffer[] } = { header: [], body: [] };
    const bounds = [0, ...cuts, raw.length];
    const stored = await rewriteChunks(
      bounds.slice(1).map((end, i) => raw.subarray(bounds[i], end)),
      { header: (b) => got.header.push(Buffer.from(b)), body: (c) => got.body.push(Buffer.from(c)) },
    );
    assert.equal(got.header.length, 1, `cuts ${cuts}`);
    assert.ok(got.body.every((c) => c.length > 0));
    assert.equal(Buffer.concat([...got.header, ...got.body]).toString('latin1'), stored, `cuts ${cuts}`);
    assert.doesNotMatch(got.header[0]!.toString(), /Bcc/);
    assert.match(got.header[0]!.toString(), /\r\n\r\n$/);
  }
});
