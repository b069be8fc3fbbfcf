import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { buildDsn, dsnSubject, type DsnInput, type DsnRecipient } from './dsn.ts';

const ARRIVAL = new Date(Date.UTC(2026, 10, 23, 8, 15, 0));
const NOW = new Date(Date.UTC(2026, 10, 27, 23, 35, 3));
const HEADER =
  'Received: from client.example (127.0.0.1) by mail.postern.test\r\n' +
  'From: Alice <alice@example.com>\r\nTo: bob@remote.test\r\nSubject: Quarterly figures\r\n' +
  'Message-ID: <orig-1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n';
const BODY = 'Hello Bob,\r\n\r\nthe figures are attached.\r\n\r\nAlice\r\n';
const ORIGINAL = Buffer.from(`${HEADER}\r\n${BODY}`);

function failed(over: Partial<DsnRecipient> = {}): DsnRecipient {
  return {
    finalRecipient: 'bob@remote.test',
    action: 'failed',
    status: '5.1.1',
    remoteMta: 'mx.remote.test',
    diagnosticCode: '550 5.1.1 <bob@remote.test>: Recipient address rejected: User unknown',
    lastAttemptDate: new Date(Date.UTC(2026, 10, 27, 23, 35, 0)),
    ...over,
  };
}

function input(over: Partial<DsnInput> = {}): DsnInput {
  return {
    reportingMta: 'mail.postern.test',
    postmaster: 'MAILER-DAEMON@mail.postern.test',
    to: 'alice@example.com',
    queueId: '0Bz9KxQ7mN3pLwR5tV8c',
    arrivalDate: ARRIVAL,
    recipients: [failed()],
    ret: 'FULL',
    original: ORIGINAL,
    now: NOW,
    messageIdDomain: 'mail.postern.test',
    ...over,
  };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Part {
  headers: Map<string, string>;
  body: Buffer;
}

/** Splits the top-level multipart by the boundary its Content-Type names (raw bytes, no parser). */
function split(raw: Buffer): { headers: Map<string, string>; boundary: string; parts: Part[] } {
  const headEnd = raw.indexOf('\r\n\r\n');
  const headers = fields(raw.subarray(0, headEnd + 2).toString('utf8'));
  const boundary = /boundary="([^"]+)"/.exec(headers.get('content-type')!)![1]!;
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const pieces: Buffer[] = [];
  let at = raw.indexOf(delimiter, headEnd);
  while (at >= 0) {
    const next = raw.indexOf(delimiter, at + delimiter.length);
    pieces.push(raw.subarray(at + delimiter.length, next < 0 ? raw.length : next));
    at = next;
  }
  assert.equal(pieces.pop()!.toString(), '--\r\n', 'closing delimiter ends the message');
  const parts = pieces.map((p) => {
    assert.equal(p.subarray(0, 2).toString(), '\r\n');
    const end = p.indexOf('\r\n\r\n');
    return { headers: fields(p.subarray(2, end + 2).toString('utf8')), body: p.subarray(end + 4) };
  });
  return { headers, boundary, parts };
}

/** Header-style fields: unfolded, names lower-case; a repeated name is an error. */
function fields(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block
    .replace(/\r\n(?=[ \t])/g, '')
    .split('\r\n')
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9-]+):[ \t]*(.*)$/.exec(line);
    assert.ok(m, `not a field: ${JSON.stringify(line)}`);
    const name = m[1]!.toLowerCase();
    assert.ok(!out.has(name), `repeated field ${name}`);
    out.set(name, m[2]!);
  }
  return out;
}

/** The delivery-status body: per-message fields, then one block per recipient. */
function deliveryStatus(part: Part): { message: Map<string, string>; recipients: Map<string, string>[] } {
  const text = part.body.toString('utf8');
  assert.ok(text.endsWith('\r\n'));
  const blocks = text.split('\r\n\r\n').map((b) => fields(`${b}\r\n`));
  return { message: blocks[0]!, recipients: blocks.slice(1) };
}

async function build(over: Partial<DsnInput> = {}) {
  const raw = await collect(buildDsn(input(over)));
  return { raw, ...split(raw) };
}

test('a failure report: top-level headers as mailparser reads them', async () => {
  const { raw } = await build();
  const mail = await simpleParser(raw);
  assert.equal(mail.subject, 'Undelivered Mail Returned to Sender');
  assert.deepEqual(mail.from?.value, [{ address: 'MAILER-DAEMON@mail.postern.test', name: 'Mail Delivery System' }]);
  const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
  assert.equal(to?.value[0]?.address, 'alice@example.com');
  assert.equal(mail.date?.getTime(), NOW.getTime());
  assert.match(mail.messageId ?? '', /^<[^<>@\s]+@mail\.postern\.test>$/);
  assert.equal(mail.headers.get('auto-submitted'), 'auto-replied');
  assert.equal(mail.headers.get('mime-version'), '1.0');
  const ct = mail.headers.get('content-type') as { value: string; params: Record<string, string> };
  assert.equal(ct.value, 'multipart/report');
  assert.equal(ct.params['report-type'], 'delivery-status');
  assert.match(ct.params.boundary!, /^postern-dsn-[0-9a-f]{36}$/);
  // the human-readable part names the recipient, the server's answer and what to do
  assert.match(mail.text ?? '', /could not be delivered/);
  assert.match(mail.text ?? '', /bob@remote\.test/);
  assert.match(mail.text ?? '', /mx\.remote\.test answered: 550 5\.1\.1/);
  assert.match(mail.text ?? '', /What to do: This address does not exist/);
  const rfc822 = mail.attachments.find((a) => a.contentType === 'message/rfc822');
  assert.ok(rfc822, 'the original is attached as message/rfc822');
  assert.deepEqual(rfc822.content, ORIGINAL);
});

test('structure: Date is RFC 5322, three parts in order, CRLF only, Auto-Submitted present', async () => {
  const { raw, headers, parts } = await build();
  assert.match(headers.get('date')!, /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/);
  assert.equal(headers.get('auto-submitted'), 'auto-replied');
  assert.equal(headers.get('from'), 'Mail Delivery System <MAILER-DAEMON@mail.postern.test>');
  assert.equal(headers.get('to'), '<alice@example.com>');
  assert.deepEqual(
    parts.map((p) => p.headers.get('content-type')),
    ['text/plain; charset=utf-8', 'message/delivery-status', 'message/rfc822'],
  );
  const text = raw.toString('latin1');
  assert.doesNotMatch(text, /\r(?!\n)|(?<!\r)\n/, 'no bare CR or LF');
});

test('delivery-status part, field by field', async () => {
  const { parts } = await build({
    envelopeId: 'ENV-42',
    recipients: [
      failed({ originalRecipient: 'rfc822;Bob@Remote.test' }),
      failed({
        finalRecipient: 'rfc822;carol@remote.test',
        remoteMta: null,
        status: '5.1.2',
        diagnosticCode: 'Host or domain name not found',
        lastAttemptDate: null,
      }),
    ],
  });
  const ds = deliveryStatus(parts[1]!);
  assert.deepEqual(
    [...ds.message.entries()],
    [
      ['reporting-mta', 'dns; mail.postern.test'],
      ['x-postern-queue-id', '0Bz9KxQ7mN3pLwR5tV8c'],
      ['original-envelope-id', 'ENV-42'],
      ['arrival-date', 'Mon, 23 Nov 2026 08:15:00 +0000'],
    ],
  );
  assert.equal(ds.recipients.length, 2);
  assert.deepEqual(
    [...ds.recipients[0]!.entries()],
    [
      ['original-recipient', 'rfc822;Bob@Remote.test'],
      ['final-recipient', 'rfc822; bob@remote.test'],
      ['action', 'failed'],
      ['status', '5.1.1'],
      ['remote-mta', 'dns; mx.remote.test'],
      ['diagnostic-code', 'smtp; 550 5.1.1 <bob@remote.test>: Recipient address rejected: User unknown'],
      ['last-attempt-date', 'Fri, 27 Nov 2026 23:35:00 +0000'],
    ],
  );
  assert.deepEqual(
    [...ds.recipients[1]!.entries()],
    [
      ['final-recipient', 'rfc822;carol@remote.test'],
      ['action', 'failed'],
      ['status', '5.1.2'],
      ['diagnostic-code', 'X-Postern; Host or domain name not found'],
    ],
  );
});

test('optional fields are left out when not given; an invalid status falls back by action', async () => {
  const { parts } = await build({
    envelopeId: null,
    recipients: [failed({ status: 'nonsense', remoteMta: null, diagnosticCode: null, lastAttemptDate: null })],
  });
  const ds = deliveryStatus(parts[1]!);
  assert.equal(ds.message.has('original-envelope-id'), false);
  assert.deepEqual([...ds.recipients[0]!.keys()], ['final-recipient', 'action', 'status']);
  assert.equal(ds.recipients[0]!.get('status'), '5.0.0');
});

test('RET=FULL streams the whole original as message/rfc822; RET=HDRS only its header', async () => {
  const full = await build({ ret: 'FULL', original: Readable.from([ORIGINAL.subarray(0, 50), ORIGINAL.subarray(50)]) });
  assert.equal(full.parts[2]!.headers.get('content-type'), 'message/rfc822');
  assert.deepEqual(full.parts[2]!.body, ORIGINAL);

  const hdrs = await build({ ret: 'HDRS' });
  assert.equal(hdrs.parts[2]!.headers.get('content-type'), 'text/rfc822-headers');
  assert.equal(hdrs.parts[2]!.body.toString(), HEADER);
  assert.doesNotMatch(hdrs.raw.toString(), /the figures are attached/);
  assert.match(hdrs.parts[0]!.body.toString(), /original message's headers/);
  const mail = await simpleParser(hdrs.raw);
  assert.equal(mail.subject, 'Undelivered Mail Returned to Sender');
});

test('RET=HDRS stops reading the original at the first empty line (an endless body is never read)', async () => {
  let produced = 0;
  let first = true;
  const source = new Readable({
    read() {
      const chunk = first ? Buffer.from(`${HEADER}\r\nbody starts`) : Buffer.alloc(64 * 1024, 0x61);
      first = false;
      produced += chunk.length;
      this.push(chunk);
    },
  });
  const { parts } = await build({ ret: 'HDRS', original: source });
  assert.equal(parts[2]!.body.toString(), HEADER);
  assert.ok(produced < 1024 * 1024, `read ${produced} bytes of an endless original`);
  assert.equal(source.destroyed, true, 'the source is released');
});

test('RET=FULL with a large original streams it through without buffering it', async () => {
  const total = 64 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 'x'.charCodeAt(0));
  let produced = 0;
  const source = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (produced === 0) {
        const head = Buffer.from(`${HEADER}\r\n`);
        produced += head.length;
        this.push(head);
      } else if (produced >= total) this.push(null);
      else {
        produced += chunk.length;
        this.push(chunk);
      }
    },
  });
  const dsn = buildDsn(input({ ret: 'FULL', original: source }));
  const it = dsn[Symbol.asyncIterator]();
  let got = 0;
  while (got < 1024 * 1024) got += ((await it.next()).value as Buffer).length;
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(produced < 8 * 1024 * 1024, `with a paused reader ${produced} bytes were read ahead`);
  let tail = Buffer.alloc(0);
  for (let r = await it.next(); !r.done; r = await it.next()) {
    const c = r.value as Buffer;
    got += c.length;
    tail = Buffer.concat([tail, c]).subarray(-200);
  }
  assert.ok(got > total, 'everything arrived');
  assert.match(tail.toString(), /x\r\n--postern-dsn-[0-9a-f]{36}--\r\n$/);
});

test('a hostile diagnostic (CRLF, fake fields, a 5,000-character line) injects nothing and stays within limits', async () => {
  const hostile =
    '550 5.1.1 no such user\r\nX-Injected: yes\r\n\r\nFinal-Recipient: rfc822; evil@attacker.test\r\n' +
    `Action: delivered\r\n${'A'.repeat(5000)}\r\n\u2028Bcc: x@y\u0085--`;
  const { raw, parts } = await build({
    queueId: 'Q1\r\nX-Queue-Injected: 1',
    envelopeId: 'ENV\r\nX-Env-Injected: 1',
    recipients: [
      failed({
        diagnosticCode: hostile,
        remoteMta: 'mx.evil.test\r\nX-Mta-Injected: 1',
        originalRecipient: 'rfc822;bob@remote.test\r\nAction: delivered',
      }),
    ],
  });
  const lines = raw.toString('latin1').split('\r\n');
  for (const line of lines) assert.ok(line.length <= 998, `a line of ${line.length} octets`);
  for (const line of lines) assert.doesNotMatch(line, /^(X-[A-Za-z-]*Injected|Bcc):/i, `injected: ${line}`);
  assert.ok(raw.length < ORIGINAL.length + 12_000, `DSN of ${raw.length} octets`);
  const ds = deliveryStatus(parts[1]!);
  assert.equal(ds.recipients.length, 1, 'exactly one recipient block');
  const r = ds.recipients[0]!;
  assert.equal(r.get('final-recipient'), 'rfc822; bob@remote.test');
  assert.equal(r.get('action'), 'failed');
  assert.equal(r.get('original-recipient'), 'rfc822;bob@remote.test Action: delivered');
  assert.equal(r.get('remote-mta'), 'dns; mx.evil.test');
  const diag = r.get('diagnostic-code')!;
  assert.match(
    diag,
    /^smtp; 550 5\.1\.1 no such user X-Injected: yes Final-Recipient: rfc822; evil@attacker\.test Action: delivered A{100}/,
  );
  assert.ok(diag.length <= 1000, `Diagnostic-Code of ${diag.length} characters`);
  assert.ok(diag.endsWith('...'), 'cut, and says so');
  assert.equal(ds.message.get('x-postern-queue-id'), 'Q1 X-Queue-Injected: 1');
  const mail = await simpleParser(raw);
  assert.equal(mail.headers.has('x-injected'), false);
  assert.equal(mail.headers.has('bcc'), false);
  assert.equal(mail.attachments.length, 1);
});

test('the boundary never occurs in the original: a colliding draw is replaced', async () => {
  let draw = 0;
  const random = (n: number) => Buffer.alloc(n, [0xaa, 0xbb, 0xcc, 0xdd][draw++ % 4]!);
  const taken = `postern-dsn-${'aa'.repeat(18)}`;
  const original = Buffer.from(`${HEADER}\r\n--${taken}\r\nquoted from an earlier bounce\r\n`);
  const { boundary, parts } = await build({ original, random });
  assert.equal(boundary, `postern-dsn-${'bb'.repeat(18)}`);
  assert.equal(original.includes(boundary), false);
  assert.deepEqual(parts[2]!.body, original);
  // the same for a small streamed original (checked whole before anything is sent)
  draw = 0;
  const streamed = await build({ original: Readable.from([original]), random });
  assert.equal(streamed.boundary, `postern-dsn-${'bb'.repeat(18)}`);
  // and with real randomness the boundary is simply absent
  const real = await build();
  assert.equal(ORIGINAL.includes(real.boundary), false);
});

test('a boundary found late in a large streamed original fails the stream instead of corrupting the DSN', async () => {
  const random = (n: number) => Buffer.alloc(n, 0xaa);
  const big = Buffer.concat([
    Buffer.from(`${HEADER}\r\n`),
    Buffer.alloc(600 * 1024, 0x62),
    Buffer.from(`\r\n--postern-dsn-${'aa'.repeat(18)}--\r\n`),
  ]);
  // split so that the boundary straddles two chunks
  const cut = big.length - 20;
  await assert.rejects(
    collect(buildDsn(input({ original: Readable.from([big.subarray(0, cut), big.subarray(cut)]), random }))),
    /boundary occurs in the original/,
  );
});

test('Content-Transfer-Encoding: 7bit for ASCII, 8bit for an 8-bit original', async () => {
  const ascii = await build();
  assert.equal(ascii.headers.get('content-transfer-encoding'), '7bit');
  assert.equal(ascii.parts[2]!.headers.get('content-transfer-encoding'), '7bit');
  const original = Buffer.from(`${HEADER}\r\nGrüße aus München\r\n`, 'utf8');
  const eight = await build({ original });
  assert.equal(eight.headers.get('content-transfer-encoding'), '8bit');
  assert.equal(eight.parts[0]!.headers.get('content-transfer-encoding'), '7bit');
  assert.equal(eight.parts[2]!.headers.get('content-transfer-encoding'), '8bit');
  assert.deepEqual(eight.parts[2]!.body, original);
  const hdrs = await build({ ret: 'HDRS', original });
  assert.equal(hdrs.parts[2]!.headers.get('content-transfer-encoding'), '7bit', 'the header is ASCII');
  // a streamed original larger than the prefetch cannot be inspected before its part header
  const big = Buffer.concat([Buffer.from(`${HEADER}\r\n`), Buffer.alloc(400 * 1024, 0x61)]);
  const streamed = await build({ original: Readable.from([big.subarray(0, 300 * 1024), big.subarray(300 * 1024)]) });
  assert.equal(streamed.parts[2]!.headers.get('content-transfer-encoding'), '8bit');
  assert.deepEqual(streamed.parts[2]!.body, big);
});

test('a delay warning: fitting subject, Will-Retry-Until, and when it stops trying', async () => {
  const until = new Date(Date.UTC(2026, 10, 28, 8, 15, 0));
  const { raw, parts } = await build({
    ret: 'HDRS',
    recipients: [
      {
        finalRecipient: 'bob@remote.test',
        action: 'delayed',
        status: '4.4.1',
        remoteMta: 'mx.remote.test',
        diagnosticCode: 'connect to mx.remote.test[192.0.2.1]:25: Connection timed out',
        lastAttemptDate: NOW,
        willRetryUntil: until,
      },
    ],
  });
  const mail = await simpleParser(raw);
  assert.equal(mail.subject, 'Delayed Mail (still being retried)');
  const r = deliveryStatus(parts[1]!).recipients[0]!;
  assert.equal(r.get('action'), 'delayed');
  assert.equal(r.get('status'), '4.4.1');
  assert.equal(r.get('will-retry-until'), 'Sat, 28 Nov 2026 08:15:00 +0000');
  const text = parts[0]!.body.toString().replace(/\r\n\s*/g, ' ');
  assert.match(text, /not been delivered yet/);
  assert.match(text, /keeps trying until Sat, 28 Nov 2026 08:15:00 \+0000/);
  assert.match(text, /Problem with the mail server mx\.remote\.test: connect to/);
  assert.doesNotMatch(text, /What to do/);
});

test('a multi-line reply reads as one sentence in the text; the report keeps it verbatim', async () => {
  const reply = '550-5.7.1 Message rejected\r\n550-5.7.1 by local policy.\r\n550 5.7.1 See https://help.remote.test/550';
  const { parts } = await build({ recipients: [failed({ status: '5.7.1', diagnosticCode: reply })] });
  const text = parts[0]!.body.toString().replace(/\r\n\s*/g, ' ');
  assert.match(text, /answered: 550-5\.7\.1 Message rejected by local policy\. See https:\/\/help\.remote\.test\/550 /);
  assert.match(text, /What to do: .*security or policy reasons/);
  assert.equal(
    deliveryStatus(parts[1]!).recipients[0]!.get('diagnostic-code'),
    'smtp; 550-5.7.1 Message rejected 550-5.7.1 by local policy. 550 5.7.1 See https://help.remote.test/550',
  );
});

test('a success report (NOTIFY=SUCCESS)', async () => {
  const { raw, parts } = await build({
    ret: 'HDRS',
    recipients: [
      {
        finalRecipient: 'bob@remote.test',
        action: 'delivered',
        status: '2.0.0',
        remoteMta: 'mx.remote.test',
        diagnosticCode: '250 2.0.0 Ok: queued as 4ABC',
      },
    ],
  });
  assert.equal((await simpleParser(raw)).subject, 'Successful Mail Delivery Report');
  assert.equal(deliveryStatus(parts[1]!).recipients[0]!.get('action'), 'delivered');
  assert.match(parts[0]!.body.toString(), /was delivered to the mail server/);
});

test('an international recipient address uses message/global-delivery-status (RFC 6533)', async () => {
  const { raw, parts } = await build({ recipients: [failed({ finalRecipient: 'jürgen@bücher.example' })] });
  assert.equal(parts[1]!.headers.get('content-type'), 'message/global-delivery-status');
  assert.equal(parts[1]!.headers.get('content-transfer-encoding'), '8bit');
  assert.equal(deliveryStatus(parts[1]!).recipients[0]!.get('final-recipient'), 'utf-8; jürgen@bücher.example');
  const mail = await simpleParser(raw);
  assert.match(mail.text ?? '', /jürgen@bücher\.example/);
  // an ASCII report turns a non-ASCII remote reply into '?', the text part keeps it
  const ascii = await build({ recipients: [failed({ diagnosticCode: '550 5.1.1 Empfänger unbekannt' })] });
  assert.equal(deliveryStatus(ascii.parts[1]!).recipients[0]!.get('diagnostic-code'), 'smtp; 550 5.1.1 Empf?nger unbekannt');
  assert.match(ascii.parts[0]!.body.toString('utf8'), /Empfänger unbekannt/);
  assert.equal(ascii.parts[0]!.headers.get('content-transfer-encoding'), '8bit');
});

test('dsnSubject follows the actions present: failed > delayed > success', () => {
  const r = (action: DsnRecipient['action']): DsnRecipient => ({ finalRecipient: 'a@b.test', action, status: '2.0.0' });
  assert.equal(dsnSubject([r('failed')]), 'Undelivered Mail Returned to Sender');
  assert.equal(dsnSubject([r('delayed'), r('failed'), r('delivered')]), 'Undelivered Mail Returned to Sender');
  assert.equal(dsnSubject([r('delivered'), r('delayed')]), 'Delayed Mail (still being retried)');
  assert.equal(dsnSubject([r('delivered')]), 'Successful Mail Delivery Report');
  assert.equal(dsnSubject([r('relayed'), r('expanded')]), 'Successful Mail Delivery Report');
});

test('bad input throws at once: the null sender, no recipients, invalid dates', () => {
  assert.throws(() => buildDsn(input({ to: '' })), /null sender/);
  assert.throws(() => buildDsn(input({ to: '<>' })), /null sender/);
  assert.throws(() => buildDsn(input({ recipients: [] })), /at least one recipient/);
  assert.throws(() => buildDsn(input({ now: new Date(NaN) })), /valid dates/);
  assert.throws(() => buildDsn(input({ recipients: [failed({ finalRecipient: ' \r\n' })] })), /finalRecipient/);
});

test('a failing original stream fails the DSN stream', async () => {
  const source = new Readable({
    read() {
      this.destroy(new Error('spool read failed'));
    },
  });
  await assert.rejects(collect(buildDsn(input({ original: source }))), /spool read failed/);
});
