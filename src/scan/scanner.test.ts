import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pino from 'pino';
import { createScanner, verdictOf, type ScanConfig } from './index.ts';

/** A fake rspamd: answers what the test sets, after an optional delay; records what it got. */
let reply: { status: number; body: unknown; delayMs?: number } = {
  status: 200,
  body: { action: 'no action', score: 0, required_score: 15, symbols: {} },
};
const got: { headers: http.IncomingHttpHeaders; body: string }[] = [];
let server: http.Server;
let url = '';

before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      setTimeout(() => {
        res.writeHead(reply.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply.body));
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(
  () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
);

let now = 1_000_000;
const clock = { now: () => now };
const logger = pino({ level: 'silent' });
const config = (over: Partial<ScanConfig> = {}): ScanConfig => ({
  enabled: true,
  url,
  timeoutSeconds: 0.3,
  maxBytes: 4096,
  onFailure: 'tempfail',
  breakerFailures: 2,
  breakerSeconds: 30,
  addHeaderScore: 6,
  holdScore: 10,
  rejectScore: 15,
  customers: { news: { rejectScore: 25 } },
  ...over,
});
const ctx = (customer: string | null = 'acme') => ({
  queueId: 'Q1',
  sender: 'a@x.test',
  recipients: ['b@y.test', 'c@y.test'],
  clientIp: '192.0.2.1',
  helo: 'pc',
  user: 'a@x.test',
  customer,
});
const MESSAGE = 'From: a@x.test\r\nSubject: hi\r\n\r\nbody\r\n';

async function run(scanner: ReturnType<typeof createScanner>, message = MESSAGE, customer: string | null = 'acme') {
  const c = ctx(customer);
  const tap = scanner.tap(c);
  const out: Buffer[] = [];
  const sink = new Writable({
    write(b, _e, cb) {
      out.push(b);
      cb();
    },
  });
  await (tap ? pipeline(Readable.from([Buffer.from(message)]), tap, sink) : pipeline(Readable.from([Buffer.from(message)]), sink));
  assert.equal(Buffer.concat(out).toString(), message, 'the message passes unchanged');
  return scanner.decide(tap, c);
}

const result = (score: number, action = 'no action', symbols: string[] = []) => ({
  action,
  score,
  required_score: 15,
  symbols: Object.fromEntries(symbols.map((s) => [s, { score: 1 }])),
});

test('the message streams to /checkv2 with the envelope, user, address and queue id rspamd reads', async () => {
  reply = { status: 200, body: result(1.5) };
  const d = await run(createScanner(config(), { logger, clock }));
  const last = got.at(-1)!;
  assert.equal(last.body, MESSAGE);
  assert.equal(last.headers['transfer-encoding'], 'chunked');
  assert.deepEqual(
    [last.headers.from, last.headers.rcpt, last.headers.ip, last.headers.user, last.headers['queue-id'], last.headers.helo],
    ['a@x.test', 'b@y.test, c@y.test', '192.0.2.1', 'a@x.test', 'Q1', 'pc'],
  );
  assert.deepEqual(d, {
    kind: 'accept',
    headers: 'X-Spam-Status: No, score=1.50 required=6.00\r\nX-Spam-Score: 1.50\r\n',
    score: 1.5,
    spam: false,
  });
});

test("thresholds are exact; rspamd's own actions and viruses count; per-customer thresholds", async () => {
  const t = { addHeaderScore: 6, holdScore: 10, rejectScore: 15 };
  const r = (score: number, action = 'no action', symbols: string[] = []) => ({ action, score, requiredScore: 15, symbols });
  assert.equal(verdictOf(r(5.99), t).action, 'accept');
  assert.equal(verdictOf(r(6), t).action, 'header');
  assert.equal(verdictOf(r(9.99), t).action, 'header');
  assert.equal(verdictOf(r(10), t).action, 'hold');
  assert.equal(verdictOf(r(15), t).action, 'reject');
  assert.equal(verdictOf(r(2, 'add header'), t).action, 'header');
  assert.equal(verdictOf(r(2, 'soft reject'), t).action, 'defer');
  assert.equal(verdictOf(r(2, 'reject'), t).action, 'reject');
  assert.equal(verdictOf(r(2, 'greylist'), t).action, 'accept', 'greylisting means nothing for outgoing mail');
  const virus = verdictOf(r(0, 'no action', ['CLAM_VIRUS']), t);
  assert.deepEqual([virus.action, virus.virus], ['reject', true]);
  assert.equal(verdictOf(r(0, 'no action', ['CLAM_VIRUS_FAIL']), t).virus, false, 'a scanner failure is not a virus');
  reply = { status: 200, body: result(20) };
  const scanner = createScanner(config(), { logger, clock });
  assert.equal((await run(scanner, MESSAGE, 'acme')).kind, 'refuse');
  assert.equal((await run(scanner, MESSAGE, 'news')).kind, 'hold', 'news has a higher reject threshold');
});

test('refusals carry a reference and never the rule names; a hold keeps the headers', async () => {
  reply = { status: 200, body: result(16, 'no action', ['PHISHING', 'BAD_URL']) };
  const d = await run(createScanner(config(), { logger, clock }));
  assert.equal(d.kind, 'refuse');
  if (d.kind === 'refuse') {
    assert.equal(`${d.error.reply.code} ${d.error.reply.enhanced}`, '550 5.7.1');
    assert.match(d.error.reply.text, /reference Q1/);
    assert.doesNotMatch(d.error.reply.text, /PHISHING|BAD_URL/);
  }
  reply = { status: 200, body: result(0, 'no action', ['CLAM_VIRUS']) };
  const v = await run(createScanner(config(), { logger, clock }));
  assert.match(v.kind === 'refuse' ? v.error.reply.text : '', /contains a virus/);
  reply = { status: 200, body: result(11) };
  const h = await run(createScanner(config(), { logger, clock }));
  assert.deepEqual([h.kind, h.spam, h.kind === 'hold' && h.headers.startsWith('X-Spam-Status: Yes, score=11.00')], ['hold', true, true]);
});

test('too large: not scanned, passed, logged as skipped', async () => {
  reply = { status: 200, body: result(99) };
  const scanner = createScanner(config(), { logger, clock });
  const d = await run(scanner, MESSAGE + 'x'.repeat(5000) + '\r\n');
  assert.deepEqual(d, { kind: 'accept', headers: '', score: null, spam: false });
  assert.equal(scanner.stats().skipped, 1);
});

test('failures: tempfail 451 4.7.0 (or accept when configured); the breaker stops asking after N failures and asks again later', async () => {
  reply = { status: 200, body: result(0), delayMs: 1000 };
  const scanner = createScanner(config(), { logger, clock });
  const t0 = performance.now();
  const slow = await run(scanner);
  assert.ok(performance.now() - t0 < 900, 'the timeout bounds the wait');
  assert.equal(slow.kind === 'refuse' && `${slow.error.reply.code} ${slow.error.reply.enhanced}`, '451 4.7.0');
  reply = { status: 500, body: { error: 'x' } };
  const broken = await run(scanner);
  assert.equal(broken.kind, 'refuse');
  assert.equal(scanner.stats().breakerOpen, true, 'open after 2 failures');
  const asked = got.length;
  const t1 = performance.now();
  const whileOpen = await run(scanner);
  assert.equal(whileOpen.kind, 'refuse');
  assert.ok(performance.now() - t1 < 100, 'no timeout added while open');
  assert.equal(got.length, asked, 'the scanner is not asked while the breaker is open');
  now += 31_000;
  reply = { status: 200, body: result(1) };
  assert.equal((await run(scanner)).kind, 'accept', 'asked again after breakerSeconds');
  assert.equal(scanner.stats().breakerOpen, false);
  const lenient = createScanner(config({ onFailure: 'accept', url: 'http://127.0.0.1:1' }), { logger, clock });
  assert.deepEqual(await run(lenient), { kind: 'accept', headers: '', score: null, spam: false });
  assert.equal(lenient.stats().bypassed, 1);
});

test('an rspamd that stops reading, or answers before the end, never holds the message up past the timeout', async () => {
  const net = await import('node:net');
  const big = MESSAGE + 'x'.repeat(3 * 1024 * 1024) + '\r\n';
  for (const behaviour of ['never reads', 'answers at once']) {
    const sockets: import('node:net').Socket[] = [];
    const srv = net.createServer((sock) => {
      sockets.push(sock);
      if (behaviour === 'never reads') sock.pause();
      else {
        const body = JSON.stringify({ action: 'no action', score: 1, symbols: {} });
        sock.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      }
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const scanner = createScanner(
        config({ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, maxBytes: 8 * 1024 * 1024, breakerFailures: 100 }),
        { logger, clock },
      );
      const t0 = performance.now();
      const d = await run(scanner, big);
      assert.ok(performance.now() - t0 < 3000, `${behaviour}: bounded (${performance.now() - t0} ms)`);
      if (behaviour === 'never reads') assert.equal(d.kind === 'refuse' && d.error.reply.enhanced, '4.7.0');
      else assert.equal(d.kind, 'accept', JSON.stringify(d));
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  }
});

test('UTF-8 addresses and HELO names reach rspamd as bytes (no exception); relayed mail is not held', async () => {
  reply = { status: 200, body: result(1) };
  const scanner = createScanner(config(), { logger, clock });
  const c = { ...ctx(), sender: 'jörg@bücher.example', recipients: ['дмитрий@пример.example'], helo: 'pc-ü' };
  const tap = scanner.tap(c)!;
  await pipeline(
    Readable.from([Buffer.from(MESSAGE)]),
    tap,
    new Writable({
      write(_b, _e, cb) {
        cb();
      },
    }),
  );
  assert.equal((await scanner.decide(tap, c)).kind, 'accept');
  assert.equal(Buffer.from(String(got.at(-1)!.headers.from), 'latin1').toString('utf8'), 'jörg@bücher.example');
  reply = { status: 200, body: result(11) };
  const relayed = { ...ctx(), user: null };
  const t2 = scanner.tap(relayed)!;
  await pipeline(
    Readable.from([Buffer.from(MESSAGE)]),
    t2,
    new Writable({
      write(_b, _e, cb) {
        cb();
      },
    }),
  );
  const d = await scanner.decide(t2, relayed);
  assert.deepEqual(
    [d.kind, d.kind === 'accept' && d.headers.startsWith('X-Spam-Status: Yes')],
    ['accept', true],
    'no hold queue for mail that is not ours',
  );
});
