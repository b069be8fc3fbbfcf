import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createIntake, type IntakeRequest } from './intake.ts';
import { createSpool } from '../spool/index.ts';
import type { NewMessage, SmtpError } from '../core/index.ts';
import type { Enqueuer } from '../queue/index.ts';

const req = (queueId: string): IntakeRequest => ({
  queueId,
  sender: 'a@example.com',
  recipients: [{ address: 'b@remote.test' }],
  dsnRet: null,
  dsnEnvid: null,
  origin: {
    kind: 'mailbox',
    mailboxId: 1,
    address: 'a@example.com',
    customerId: 1,
    customer: 'acme',
    hold: { onSenderHold: 'hold', heldCap: 100 },
    checkHeader: () => undefined,
  },
  clientIp: '127.0.0.1',
  clientHostname: null,
  heloName: 'client.test',
  tls: { version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' },
  listener: 'submission:587',
});

async function setup(enqueue: (m: NewMessage) => Promise<void>, inlineBodyMaxBytes = 1024) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-intake-'));
  const spool = await createSpool(path.join(dir, 'spool'));
  const enqueuer: Enqueuer = {
    enqueue: async (m) => {
      await enqueue(m);
      return { id: m.id, outcome: 'queued' };
    },
    drain: async () => undefined,
    stats: () => ({ batches: 0, messages: 0 }),
  };
  const intake = createIntake({
    spool,
    enqueuer,
    clock: { now: () => Date.UTC(2026, 10, 27, 12, 0, 0) },
    hostname: 'mx.test',
    bareLineEndings: 'normalize',
    maxLineLength: 1000,
    maxMessageSize: 100_000,
    inlineBodyMaxBytes,
  });
  return { dir, spool, intake, files: () => fs.readdirSync(path.join(dir, 'spool', 'q')) };
}

test('a small message is queued inline, complete, with the fix-ups, before receive() resolves', async () => {
  const queued: NewMessage[] = [];
  const { intake, files } = await setup(async (m) => {
    queued.push(m);
  });
  const r = await intake.receive(
    Readable.from([Buffer.from('From: a@example.com\r\nSubject: hi\r\n\r\nbody\nline\r\n')]),
    req('0000000000000000000A'),
  );
  assert.equal(r.id, '0000000000000000000A');
  assert.deepEqual(files(), [], 'no spool file for a small body');
  assert.equal(queued.length, 1);
  assert.equal(queued[0].bodyPath, null);
  const body = Buffer.from(queued[0].body!).toString('utf8');
  assert.equal(queued[0].size, Buffer.byteLength(body));
  assert.match(
    body,
    /^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test \(Postern\) with ESMTPSA id 0000000000000000000A\r\n/,
  );
  assert.match(body, /\r\nDate: Fri, 27 Nov 2026 12:00:00 \+0000\r\n/);
  assert.match(body, /\r\nMessage-ID: <0000000000000000000A@mx\.test>\r\n/i);
  assert.ok(body.endsWith('\r\n\r\nbody\r\nline\r\n'), 'bare LF normalised');
  assert.equal(r.normalizedLineEnds, 1);
});

test('a failing queue commit answers 451 4.3.0 and leaves no body behind', async () => {
  const { intake, files } = await setup(async () => {
    throw new Error('disk full');
  });
  await assert.rejects(
    intake.receive(Readable.from([Buffer.from('Subject: x\r\n\r\nbody\r\n')]), req('0000000000000000000B')),
    (e: SmtpError) => e.responseCode === 451 && e.message.startsWith('4.3.0 ') && (e.cause as Error).message === 'disk full',
  );
  assert.deepEqual(files(), []);
});

test('a body larger than the inline limit streams to a fsynced spool file', async () => {
  const queued: NewMessage[] = [];
  const { intake, files, spool } = await setup(async (m) => {
    queued.push(m);
  }, 100);
  const text = 'Subject: big\r\n\r\n' + 'z'.repeat(70).concat('\r\n').repeat(50);
  const chunks = [Buffer.from(text.slice(0, 33)), Buffer.from(text.slice(33, 500)), Buffer.from(text.slice(500))];
  const r = await intake.receive(Readable.from(chunks), req('0000000000000000000E'));
  assert.deepEqual(files(), ['0000000000000000000E']);
  assert.equal(queued[0].body, null);
  const body = fs.readFileSync(spool.absPath(queued[0].bodyPath!), 'utf8');
  assert.equal(Buffer.byteLength(body), r.size);
  assert.ok(body.endsWith(text.slice(text.indexOf('\r\n\r\n'))), 'every byte, in order');
});

test('a spool that cannot create the body answers 451 4.3.0', async () => {
  const { intake, dir } = await setup(async () => undefined, 0);
  fs.rmSync(path.join(dir, 'spool'), { recursive: true });
  await assert.rejects(
    intake.receive(Readable.from([Buffer.from('Subject: x\r\n\r\nbody\r\n')]), req('0000000000000000000C')),
    (e: SmtpError) => e.responseCode === 451,
  );
});

test('an oversized message (smtp-server flagged it) is refused with 552 5.3.4 and removed', async () => {
  const { intake, files } = await setup(async () => {
    throw new Error('must not be queued');
  });
  const src = Object.assign(Readable.from([Buffer.from('Subject: x\r\n\r\nbody\r\n')]), { sizeExceeded: true });
  await assert.rejects(
    intake.receive(src, req('0000000000000000000D')),
    (e: SmtpError) => e.responseCode === 552 && /^5\.3\.4 /.test(e.message),
  );
  assert.deepEqual(files(), []);
});
