import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { messageOf, parseSendmailArgs, UsageError } from './sendmail-args.ts';
import { parseTokenFile, tokenFileText } from './sendmail.ts';
import { envelopeFields, headerEnd, readHeaderBlock } from './header.ts';
import { exitCodeOf, httpStatusOf, EX } from './problem.ts';
import { parseDrop, writeDrop } from './drop.ts';
import { prepareDropDir } from './pickup.ts';

test('sendmail arguments: -t, -f/-fADDR/-r, -F, -i/-oi, -bm, ignored options, recipients, --', () => {
  const a = parseSendmailArgs([
    '-t',
    '-i',
    '-f',
    'a@x.test',
    '-FShop Name',
    '-odi',
    '-oem',
    '-bm',
    '-N',
    'never',
    '-v',
    'r1@y.test',
    '--',
    '-odd@y.test',
  ]);
  assert.deepEqual(a, {
    mode: 'send',
    from: 'a@x.test',
    fullName: 'Shop Name',
    extract: true,
    ignoreDots: true,
    verbose: true,
    recipients: ['r1@y.test', '-odd@y.test'],
    tokenFile: null,
  });
  assert.equal(parseSendmailArgs(['-fb@x.test', 'r@y.test']).from, 'b@x.test');
  assert.equal(parseSendmailArgs(['-r', 'c@x.test', 'r@y.test']).from, 'c@x.test');
  assert.equal(parseSendmailArgs(['-oi', 'r@y.test']).ignoreDots, true);
  assert.equal(parseSendmailArgs(['-oem', 'r@y.test']).ignoreDots, false);
  assert.equal(parseSendmailArgs(['--token-file=/t', '-t']).tokenFile, '/t');
  assert.equal(parseSendmailArgs(['-bs']).mode, 'smtp', '-bs needs no recipients');
  for (const cluster of ['-ti', '-it']) {
    const c = parseSendmailArgs([cluster]);
    assert.deepEqual([c.extract, c.ignoreDots], [true, true], cluster);
  }
  assert.equal(parseSendmailArgs(['-t']).mode, 'send');
  for (const [args, re] of [
    [[], /no recipients/],
    [['-bp'], /-bp is not supported/],
    [['-bv'], /-bv/],
    [['-q'], /-q/],
    [['-t', '-f'], /-f needs a value/],
    [['-Z', 'r@y.test'], /unknown option -Z/],
    [['-o', 'r@y.test'], /-o needs a letter/],
    [['-tx'], /unknown option -tx/],
    [['-tiz'], /unknown option -tiz/],
  ] as [string[], RegExp][]) {
    assert.throws(
      () => parseSendmailArgs(args),
      (e: Error) => e instanceof UsageError && re.test(e.message),
      args.join(' '),
    );
  }
});

test('the message ends at a lone dot line unless -i', () => {
  const b = (s: string) => Buffer.from(s);
  assert.equal(messageOf(b('a\n.\nb\n'), false).toString(), 'a\n');
  assert.equal(messageOf(b('a\r\n.\r\nb\r\n'), false).toString(), 'a\r\n');
  assert.equal(messageOf(b('a\n.'), false).toString(), 'a\n');
  assert.equal(messageOf(b('a\n..\nb\n'), false).toString(), 'a\n..\nb\n', 'two dots are content');
  assert.equal(messageOf(b('a\n.x\n'), false).toString(), 'a\n.x\n');
  assert.equal(messageOf(b('.\nb\n'), false).toString(), '');
  assert.equal(messageOf(b('a\n.\nb\n'), true).toString(), 'a\n.\nb\n');
});

test('token file: key=value lines or a bare token; the text written by site add reads back', () => {
  assert.deepEqual(parseTokenFile('pst_abc\n'), { token: 'pst_abc' });
  const text = tokenFileText({ site: 's', customer: 'c', token: 'pst_x', socket: '/run/p.sock', dropDir: '/var/drop' });
  assert.deepEqual(parseTokenFile(text), { token: 'pst_x', socket: '/run/p.sock', dropDir: '/var/drop' });
});

test('header block: found with LF or CRLF line ends; the body keeps streaming; envelope fields (Resent- first)', async () => {
  assert.equal(headerEnd(Buffer.from('A: b\n\nbody')), 6);
  assert.equal(headerEnd(Buffer.from('A: b\r\n\r\nbody')), 8);
  assert.equal(headerEnd(Buffer.from('\r\nbody')), 2);
  assert.equal(headerEnd(Buffer.from('A: b\nC: d\n')), -1);
  const source = Readable.from([
    Buffer.from('From: "A, B" <a@x.test>\nTo: r1@y.test,\n  Group: r2@y.test, r3@y.test;\nBcc: r4@y'),
    Buffer.from('.test\n\nbody\n'),
    Buffer.from('more\n'),
  ]);
  const { head, message } = await readHeaderBlock(source);
  const chunks: Buffer[] = [];
  for await (const c of message) chunks.push(c as Buffer);
  assert.equal(
    Buffer.concat(chunks).toString(),
    'From: "A, B" <a@x.test>\nTo: r1@y.test,\n  Group: r2@y.test, r3@y.test;\nBcc: r4@y.test\n\nbody\nmore\n',
  );
  assert.deepEqual(envelopeFields(head), { from: ['a@x.test'], recipients: ['r1@y.test', 'r2@y.test', 'r3@y.test', 'r4@y.test'] });
  assert.deepEqual(envelopeFields(Buffer.from('To: a@y.test\nResent-To: b@y.test\n\n')).recipients, ['b@y.test']);
  await assert.rejects(readHeaderBlock(Readable.from([Buffer.alloc(2000, 0x61)]), 1000), /552|larger/);
  for (const text of ['A: b\r\nC: d\r\n\r\nbody\r\n', 'A: b\nC: d\n\nbody\n', '\r\nbody']) {
    const bytes = [...Buffer.from(text)].map((b) => Buffer.from([b]));
    const r = await readHeaderBlock(Readable.from(bytes));
    assert.equal(r.head.toString(), text.slice(0, text.indexOf('body')), 'one byte at a time: ' + JSON.stringify(text));
  }
});

test('refusals: HTTP status and sendmail exit code by reason and class', () => {
  assert.equal(httpStatusOf(451, 'limit'), 429);
  assert.equal(httpStatusOf(550, 'limit'), 403);
  assert.equal(httpStatusOf(553, 'send-as'), 403);
  assert.equal(httpStatusOf(552, 'size'), 413);
  assert.equal(httpStatusOf(553, 'recipient'), 400);
  assert.equal(httpStatusOf(550, 'data'), 422);
  assert.equal(httpStatusOf(451, undefined), 503);
  assert.equal(exitCodeOf({ status: 429, reason: 'limit' }), EX.TEMPFAIL);
  assert.equal(exitCodeOf({ status: 403, reason: 'send-as' }), EX.NOPERM);
  assert.equal(exitCodeOf({ status: 401, reason: 'auth' }), EX.NOPERM);
  assert.equal(exitCodeOf({ status: 422, reason: 'data' }), EX.DATAERR);
  assert.equal(exitCodeOf({ status: 413, reason: 'size' }), EX.DATAERR);
  assert.equal(exitCodeOf({ status: 404, reason: 'not-found' }), EX.UNAVAILABLE);
});

test('drop files: written under a temporary name and renamed, read back exactly; anything else is not one', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-drop-'));
  try {
    const env = { token: 'pst_x', from: null, to: ['a@y.test'], extract: true, fullName: 'N', at: 123 };
    const body = Buffer.from('Subject: x\n\n\u00e9\n');
    const name = writeDrop(dir, env, body);
    assert.deepEqual(fs.readdirSync(dir), [name]);
    assert.equal(fs.statSync(path.join(dir, name)).mode & 0o777, 0o640);
    const whole = fs.readFileSync(path.join(dir, name));
    assert.deepEqual(parseDrop(whole), { env: { ...env, size: body.length }, message: body });
    assert.equal(parseDrop(whole.subarray(0, whole.length - 1)), null, 'a file cut short is not one');
    assert.equal(parseDrop(Buffer.from('Subject: x\n\nhi')), null);
    assert.equal(parseDrop(Buffer.from('POSTERN-DROP 1\n{broken\nx')), null);
    for (const bad of [{ to: [1] }, { from: {} }, { extract: 'yes' }, { fullName: 5 }, { at: 'now' }]) {
      const line = JSON.stringify({ ...env, size: 1, ...bad });
      assert.equal(parseDrop(Buffer.from(`POSTERN-DROP 1\n${line}\nx`)), null, JSON.stringify(bad));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the drop folder is made 1733, and a setgid bit the operator set is kept', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-dropdir-'));
  try {
    const drop = path.join(dir, 'maildrop');
    prepareDropDir(drop, `${drop}.rejected`);
    assert.equal(fs.statSync(drop).mode & 0o7777, 0o1733);
    assert.equal(fs.statSync(`${drop}.rejected`).mode & 0o7777, 0o700);
    fs.chmodSync(drop, 0o3733);
    prepareDropDir(drop, `${drop}.rejected`);
    assert.equal(fs.statSync(drop).mode & 0o7777, 0o3733);
    fs.chmodSync(drop, 0o1777);
    prepareDropDir(drop, `${drop}.rejected`);
    assert.equal(fs.statSync(drop).mode & 0o7777, 0o1733, 'never listable by others');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
