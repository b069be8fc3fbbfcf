import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import { attemptDelivery, type AttemptRequest, type AttemptTarget } from './attempt.ts';
import { startFakeMx, type FakeMx, type FakeMxOptions, type FakeMxScript } from '../../test/helpers/fake-mx.ts';

const BODY = [
  'From: a@sender.test',
  'To: b@dest.test',
  'Subject: dots',
  '',
  'first line',
  '.',
  '..x',
  '.leading dot',
  'last line',
  '',
].join('\r\n');

const servers: FakeMx[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

async function mx(script: FakeMxScript, opts: FakeMxOptions = {}): Promise<FakeMx> {
  const s = await startFakeMx(script, opts);
  servers.push(s);
  return s;
}

const target = (s: FakeMx): AttemptTarget => ({ host: s.host, port: s.port, name: 'mx.dest.test' });

function request(targets: AttemptTarget[], over: Partial<AttemptRequest> = {}): AttemptRequest {
  const body = over.body ?? (() => Readable.from([Buffer.from(BODY)]));
  return {
    hostname: 'out.postern.test',
    targets,
    tls: 'opportunistic',
    sender: 'a@sender.test',
    recipients: [{ address: 'b@dest.test' }],
    size: Buffer.byteLength(BODY),
    smtputf8Needed: false,
    eightBit: false,
    timeouts: { connectMs: 2000, greetingMs: 2000, commandMs: 2000, dataMs: 2000 },
    ...over,
    body,
  };
}

/** A port nobody listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function only(res: Awaited<ReturnType<typeof attemptDelivery>>) {
  assert.equal(res.recipients.length, 1);
  return res.recipients[0]!;
}

describe('attemptDelivery', () => {
  test('accept: envelope and body arrive byte for byte (dot-stuffed on the wire)', async () => {
    const s = await mx({});
    const res = await attemptDelivery(
      request([target(s)], {
        recipients: [{ address: 'b@dest.test' }, { address: 'c@dest.test' }],
        tls: 'none',
      }),
    );
    assert.deepEqual(
      res.recipients.map((r) => [r.address, r.outcome, r.category]),
      [
        ['b@dest.test', 'delivered', 'ok'],
        ['c@dest.test', 'delivered', 'ok'],
      ],
    );
    assert.match(res.recipients[0]!.reply, /^250/);
    assert.equal(res.recipients[0]!.remoteHost, `mx.dest.test[127.0.0.1]:${s.port}`);
    assert.equal(s.received.length, 1);
    const m = s.received[0]!;
    assert.equal(m.from, 'a@sender.test');
    assert.deepEqual(m.to, ['b@dest.test', 'c@dest.test']);
    assert.equal(m.ehlo, 'out.postern.test');
    assert.equal(m.tls, false);
    assert.equal(m.data.toString('binary'), BODY);
  });

  test('null sender is sent as MAIL FROM:<>', async () => {
    const s = await mx({});
    const res = await attemptDelivery(request([target(s)], { sender: '' }));
    assert.equal(only(res).outcome, 'delivered');
    assert.equal(s.received[0]!.from, '');
  });

  test('421 at greeting: the next target accepts', async () => {
    const a = await mx({ greeting: { code: 421, text: '4.3.2 busy, go away' } });
    const b = await mx({});
    const res = await attemptDelivery(request([target(a), target(b)]));
    const r = only(res);
    assert.equal(r.outcome, 'delivered');
    assert.equal(r.remoteHost, `mx.dest.test[127.0.0.1]:${b.port}`);
    assert.equal(b.received.length, 1);
    assert.equal(a.received.length, 0);
  });

  test('421 at greeting on the only target: deferred with the reply', async () => {
    const a = await mx({ greeting: { code: 421, text: '4.3.2 busy, go away' } });
    const r = only(await attemptDelivery(request([target(a)])));
    assert.deepEqual([r.outcome, r.category], ['deferred', 'other']);
    assert.match(r.reply, /421 4\.3\.2 busy/);
  });

  test('first target refuses the connection, the second accepts', async () => {
    const port = await closedPort();
    const b = await mx({});
    const res = await attemptDelivery(request([{ host: '127.0.0.1', port }, target(b)]));
    assert.equal(only(res).outcome, 'delivered');
    assert.equal(b.received.length, 1);
    assert.ok(
      res.log.some((l) => /connect failed/.test(l)),
      res.log.join('\n'),
    );
  });

  test('refused connection on every target: deferred network', async () => {
    const port = await closedPort();
    const r = only(await attemptDelivery(request([{ host: '127.0.0.1', port }])));
    assert.deepEqual([r.outcome, r.category, r.remoteHost], ['deferred', 'network', `127.0.0.1[127.0.0.1]:${port}`]);
  });

  test('mixed RCPT replies: one failed, one deferred, one delivered', async () => {
    const s = await mx({
      rcpt: ({ to }) =>
        to === 'gone@dest.test'
          ? { code: 550, text: '5.1.1 no such user' }
          : to === 'full@dest.test'
            ? { code: 452, text: '4.2.2 mailbox full' }
            : 'accept',
    });
    const res = await attemptDelivery(
      request([target(s)], {
        recipients: [{ address: 'gone@dest.test' }, { address: 'ok@dest.test' }, { address: 'full@dest.test' }],
      }),
    );
    assert.deepEqual(
      res.recipients.map((r) => [r.address, r.outcome, r.category]),
      [
        ['gone@dest.test', 'failed', 'mailbox-unknown'],
        ['ok@dest.test', 'delivered', 'ok'],
        ['full@dest.test', 'deferred', 'mailbox-full'],
      ],
    );
    assert.match(res.recipients[0]!.reply, /550 5\.1\.1 no such user/);
    assert.deepEqual(s.received[0]!.to, ['ok@dest.test']);
  });

  test('4xx at MAIL: next target', async () => {
    const a = await mx({ mail: { code: 451, text: '4.3.0 try later' } });
    const b = await mx({});
    const res = await attemptDelivery(request([target(a), target(b)]));
    assert.equal(only(res).outcome, 'delivered');
  });

  test('4xx after DATA: deferred with the reply', async () => {
    const s = await mx({ data: { code: 451, text: '4.3.0 queue trouble' } });
    const r = only(await attemptDelivery(request([target(s)])));
    assert.deepEqual([r.outcome, r.category], ['deferred', 'other']);
    assert.match(r.reply, /451 4\.3\.0 queue trouble/);
  });

  test('5xx after DATA: failed with the reply', async () => {
    const s = await mx({ data: { code: 554, text: '5.7.1 looks like spam' } });
    const res = await attemptDelivery(request([target(s)], { recipients: [{ address: 'b@dest.test' }, { address: 'c@dest.test' }] }));
    for (const r of res.recipients) {
      assert.deepEqual([r.outcome, r.category], ['failed', 'spam']);
      assert.match(r.reply, /554 5\.7\.1 looks like spam/);
    }
  });

  test('connection dropped mid-DATA: deferred', async () => {
    const s = await mx({ data: 'drop' });
    const r = only(await attemptDelivery(request([target(s)])));
    assert.equal(r.outcome, 'deferred');
    assert.equal(s.received.length, 0);
  });

  test('silent after the final dot: deferred timeout, the log warns of a duplicate', async () => {
    const s = await mx({ data: 'silent-after-dot' });
    const t0 = Date.now();
    const res = await attemptDelivery(
      request([target(s)], { timeouts: { connectMs: 2000, greetingMs: 2000, commandMs: 2000, dataMs: 400 } }),
    );
    const r = only(res);
    assert.deepEqual([r.outcome, r.category], ['deferred', 'timeout']);
    assert.ok(Date.now() - t0 < 1800, `took ${Date.now() - t0} ms`);
    assert.ok(
      res.log.some((l) => l.includes('no reply after end of data: may be delivered twice')),
      res.log.join('\n'),
    );
    assert.equal(s.silent.length, 1);
  });

  test('no greeting: deferred timeout within the greeting timeout', async () => {
    const s = await mx({ greeting: 'no-greeting' });
    const t0 = Date.now();
    const r = only(
      await attemptDelivery(request([target(s)], { timeouts: { connectMs: 2000, greetingMs: 300, commandMs: 2000, dataMs: 2000 } })),
    );
    assert.deepEqual([r.outcome, r.category], ['deferred', 'timeout']);
    assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
  });

  test('the greeting has its own timeout: a greeting later than connectMs but within greetingMs is waited for', async () => {
    const s = await mx({});
    // a proxy that holds the server's greeting back for 600 ms after the TCP connection is up
    const sockets = new Set<net.Socket>();
    const slow = net.createServer((client) => {
      sockets.add(client);
      setTimeout(() => {
        const upstream = net.connect(s.port, s.host);
        sockets.add(upstream);
        client.pipe(upstream);
        upstream.pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      }, 600);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const at = { host: '127.0.0.1', port: (slow.address() as net.AddressInfo).port };
    try {
      const ok = only(
        await attemptDelivery(
          request([at], { tls: 'none', timeouts: { connectMs: 200, greetingMs: 2000, commandMs: 2000, dataMs: 2000 } }),
        ),
      );
      assert.equal(ok.outcome, 'delivered', ok.reply);
      const t0 = Date.now();
      const late = only(
        await attemptDelivery(
          request([at], { tls: 'none', timeouts: { connectMs: 5000, greetingMs: 300, commandMs: 5000, dataMs: 5000 } }),
        ),
      );
      assert.deepEqual([late.outcome, late.category], ['deferred', 'timeout']);
      assert.ok(Date.now() - t0 < 550, `the greeting timeout ended it, not the connect timeout (${Date.now() - t0} ms)`);
    } finally {
      for (const x of sockets) x.destroy();
      await new Promise<void>((r) => slow.close(() => r()));
    }
  });

  test('STARTTLS offered and used', async () => {
    const s = await mx({}, { tls: true });
    const res = await attemptDelivery(request([target(s)]));
    assert.equal(only(res).outcome, 'delivered');
    assert.equal(s.received[0]!.tls, true);
  });

  test("tls 'none' does not use STARTTLS", async () => {
    const s = await mx({}, { tls: true });
    const res = await attemptDelivery(request([target(s)], { tls: 'none' }));
    assert.equal(only(res).outcome, 'delivered');
    assert.equal(s.received[0]!.tls, false);
  });

  test('TLS required but not offered: deferred tls, nothing sent', async () => {
    const s = await mx({});
    const r = only(await attemptDelivery(request([target(s)], { tls: 'required' })));
    assert.deepEqual([r.outcome, r.category], ['deferred', 'tls']);
    assert.equal(s.received.length, 0);
  });

  test('TLS required and offered with an untrusted certificate: deferred tls', async () => {
    const s = await mx({}, { tls: true });
    const r = only(await attemptDelivery(request([target(s)], { tls: 'required' })));
    assert.deepEqual([r.outcome, r.category], ['deferred', 'tls']);
    assert.equal(s.received.length, 0);
  });

  test('5xx at greeting: that host is skipped (deferred), the next one is tried', async () => {
    const s = await mx({ greeting: { code: 554, text: '5.7.1 no service for you' } });
    const r = only(await attemptDelivery(request([target(s)])));
    assert.deepEqual([r.outcome, r.category], ['deferred', 'policy']);
    assert.match(r.reply, /554 5\.7\.1 no service/);
    const b = await mx({});
    assert.equal(only(await attemptDelivery(request([target(s), target(b)]))).outcome, 'delivered');
  });

  test('a body stream error defers, nothing is delivered', async () => {
    const s = await mx({});
    const body = () =>
      new Readable({
        read() {
          this.destroy(new Error('spool read failed'));
        },
      });
    const r = only(await attemptDelivery(request([target(s)], { body })));
    assert.equal(r.outcome, 'deferred');
    assert.equal(s.received.length, 0);
  });

  test('hung STARTTLS handshake: falls back to plaintext once on a new connection', async () => {
    const s = await mx({ starttls: ({ session }) => (session === 1 ? 'hang-handshake' : 'accept') }, { tls: true });
    const res = await attemptDelivery(
      request([target(s)], { timeouts: { connectMs: 2000, greetingMs: 400, commandMs: 2000, dataMs: 2000 } }),
    );
    assert.equal(only(res).outcome, 'delivered', res.log.join('\n'));
    assert.equal(s.received[0]!.tls, false);
    assert.equal(s.sessions, 2);
  });

  test('SIZE smaller than the message: failed 5.3.4 before MAIL', async () => {
    const s = await mx({}, { server: { size: 50 } });
    const r = only(await attemptDelivery(request([target(s)])));
    assert.deepEqual([r.outcome, r.category], ['failed', 'message-too-big']);
    assert.match(r.reply, /^552 5\.3\.4/);
    assert.equal(s.received.length, 0);
  });

  test('UTF-8 recipient to a server without SMTPUTF8: failed 5.6.7, the others go on', async () => {
    const s = await mx({}, { server: { hideSMTPUTF8: true } });
    const res = await attemptDelivery(request([target(s)], { recipients: [{ address: 'jörg@dest.test' }, { address: 'b@dest.test' }] }));
    assert.deepEqual(
      res.recipients.map((r) => [r.outcome, r.reply.slice(0, 9)]),
      [
        ['failed', '553 5.6.7'],
        ['delivered', '250 OK: m'],
      ],
    );
    assert.deepEqual(s.received[0]!.to, ['b@dest.test']);
  });

  test('huge reply line: bounded, ends in a proper outcome', async () => {
    const a = await mx({ greeting: { hugeLine: 1_000_000 } });
    const b = await mx({});
    const t0 = Date.now();
    const res = await attemptDelivery(request([target(a), target(b)]));
    assert.equal(only(res).outcome, 'delivered');
    assert.ok(Date.now() - t0 < 3000);
    const r = only(await attemptDelivery(request([target(a)])));
    assert.deepEqual([r.outcome, r.category], ['deferred', 'protocol']);
    assert.ok(r.reply.length < 1000);
    assert.ok(res.log.every((l) => l.length < 1000));
  });

  test('huge reply line after the dot: deferred, bounded', async () => {
    const s = await mx({ data: { hugeLine: 1_000_000 } });
    const r = only(await attemptDelivery(request([target(s)])));
    assert.equal(r.outcome, 'deferred');
    assert.ok(r.reply.length < 1000);
  });
});

describe('attemptDelivery: DSN and MAIL', () => {
  afterEach(async () => {
    while (servers.length) await servers.pop()!.close();
  });

  test('5xx at MAIL: all failed with that reply, no next target', async () => {
    const a = await mx({ mail: { code: 550, text: '5.7.1 sender refused' } });
    const b = await mx({});
    const res = await attemptDelivery(
      request([target(a), target(b)], { recipients: [{ address: 'b@dest.test' }, { address: 'c@dest.test' }] }),
    );
    for (const r of res.recipients) {
      assert.deepEqual([r.outcome, r.category], ['failed', 'policy']);
      assert.match(r.reply, /550 5\.7\.1 sender refused/);
    }
    assert.equal(b.sessions, 0);
  });

  /** A TCP proxy in front of a fake MX that records what the client sent. */
  async function sniff(s: FakeMx): Promise<{ target: AttemptTarget; sent: () => string; close: () => Promise<void> }> {
    const chunks: Buffer[] = [];
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(s.port, s.host);
      sockets.add(client);
      sockets.add(upstream);
      client.on('data', (c: Buffer) => chunks.push(c));
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    return {
      target: { host: '127.0.0.1', port: (proxy.address() as net.AddressInfo).port },
      sent: () => Buffer.concat(chunks).toString('utf8'),
      close: () =>
        new Promise<void>((r) => {
          for (const x of sockets) x.destroy();
          proxy.close(() => r());
        }),
    };
  }

  test('DSN parameters are passed per recipient when the server offers DSN', async () => {
    const p = await sniff(await mx({}, { server: { hideDSN: false, size: 1_000_000 } }));
    const res = await attemptDelivery(
      request([p.target], {
        tls: 'none',
        recipients: [
          { address: 'b@dest.test', notify: 'SUCCESS,FAILURE', orcpt: 'rfc822;b@dest.test' },
          { address: 'c@dest.test', notify: 'NEVER' },
        ],
        envid: 'ENV123',
        ret: 'HDRS',
      }),
    );
    await p.close();
    assert.deepEqual(
      res.recipients.map((r) => r.outcome),
      ['delivered', 'delivered'],
    );
    const wire = p.sent();
    assert.match(wire, /MAIL FROM:<a@sender\.test>.* RET=HDRS/);
    assert.match(wire, /MAIL FROM:.* ENVID=ENV123/);
    assert.match(wire, new RegExp(`MAIL FROM:.* SIZE=${Buffer.byteLength(BODY)}`));
    assert.match(wire, /RCPT TO:<b@dest\.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@dest\.test\r\n/);
    assert.match(wire, /RCPT TO:<c@dest\.test> NOTIFY=NEVER\r\n/);
    assert.match(wire, /\r\n\.\.\r\n\.\.\.x\r\n\.\.leading dot\r\n/, 'dot-stuffed on the wire');
  });

  test('no DSN parameters when the server hides DSN', async () => {
    const p = await sniff(await mx({}, { server: { hideDSN: true } }));
    const res = await attemptDelivery(
      request([p.target], { tls: 'none', recipients: [{ address: 'b@dest.test', notify: 'NEVER' }], envid: 'E1' }),
    );
    await p.close();
    assert.equal(only(res).outcome, 'delivered');
    assert.match(p.sent(), /RCPT TO:<b@dest\.test>\r\n/);
    assert.doesNotMatch(p.sent(), /NOTIFY|ENVID/);
  });
});

describe('attemptDelivery: AUTH at a next hop that needs a login', () => {
  const logins: { user: string; pass: string }[] = [];
  const authServer = (extra: object = {}) =>
    ({
      disabledCommands: [] as string[],
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      onAuth(auth: { username?: string; password?: string }, _s: unknown, cb: (e: Error | null, r?: { user: string }) => void) {
        logins.push({ user: auth.username ?? '', pass: auth.password ?? '' });
        if (auth.password === 'relay-secret') return cb(null, { user: auth.username ?? '' });
        cb(Object.assign(new Error('5.7.8 bad credentials'), { responseCode: 535 }));
      },
      ...extra,
    }) as unknown as FakeMxOptions['server'];

  test('logs in over STARTTLS, then delivers', async () => {
    logins.length = 0;
    const s = await mx({}, { tls: true, server: authServer() });
    const res = await attemptDelivery(request([target(s)], { auth: { user: 'relay-user', pass: 'relay-secret' } }));
    assert.equal(only(res).outcome, 'delivered', res.log.join('\n'));
    assert.deepEqual(logins, [{ user: 'relay-user', pass: 'relay-secret' }]);
    assert.equal(s.received[0]?.tls, true);
  });

  test('never sends the password without TLS: deferred 4.7.5', async () => {
    logins.length = 0;
    const s = await mx({}, { server: authServer() });
    const res = await attemptDelivery(request([target(s)], { tls: 'none', auth: { user: 'relay-user', pass: 'relay-secret' } }));
    const o = only(res);
    assert.equal(o.outcome, 'deferred');
    assert.equal(o.category, 'tls');
    assert.match(o.reply, /^451 4\.7\.5 /);
    assert.equal(logins.length, 0);
    assert.equal(s.received.length, 0);
  });

  test('a refused login defers (our configuration is wrong, not the recipient)', async () => {
    logins.length = 0;
    const s = await mx({}, { tls: true, server: authServer() });
    const res = await attemptDelivery(request([target(s)], { auth: { user: 'relay-user', pass: 'wrong' } }));
    const o = only(res);
    assert.equal(o.outcome, 'deferred');
    assert.match(o.reply, /login at the next hop refused: 535/);
    assert.equal(s.received.length, 0);
  });
});

describe('attemptDelivery: bounded in time', () => {
  test('a next hop that never answers AUTH: deferred after the command timeout, no hang', async () => {
    const s = await mx(
      {},
      {
        tls: true,
        server: {
          disabledCommands: [],
          authMethods: ['PLAIN'],
          onAuth() {
            /* never answers */
          },
        } as unknown as FakeMxOptions['server'],
      },
    );
    const started = Date.now();
    const res = await attemptDelivery(
      request([target(s)], {
        auth: { user: 'u', pass: 'p' },
        timeouts: { connectMs: 1000, greetingMs: 1000, commandMs: 300, dataMs: 1000 },
      }),
    );
    const o = only(res);
    assert.equal(o.outcome, 'deferred');
    assert.match(o.reply, /login at the next hop refused: .*(no reply to AUTH|timed? ?out|closed)/i);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  });

  test('the deadline closes a session that would run longer (silent after the dot): deferred, in time', async () => {
    const s = await mx({ data: 'silent-after-dot' });
    const started = Date.now();
    const res = await attemptDelivery(
      request([target(s)], {
        tls: 'none',
        timeouts: { connectMs: 5000, greetingMs: 5000, commandMs: 5000, dataMs: 60_000 },
        deadline: Date.now() + 500,
      }),
    );
    assert.equal(only(res).outcome, 'deferred');
    assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
  });

  test('past the deadline no further host is tried', async () => {
    const a = await mx({ greeting: { code: 421, text: '4.3.2 busy' } });
    const b = await mx({});
    const res = await attemptDelivery(request([target(a), target(b)], { tls: 'none', deadline: Date.now() - 1 }));
    assert.equal(only(res).outcome, 'deferred');
    assert.equal(a.sessions + b.sessions, 0);
    assert.ok(res.log.some((l) => /deadline/.test(l)));
  });

  test('an abort signal ends the session at once (shutdown)', async () => {
    const s = await mx({ data: 'silent-after-dot' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const started = Date.now();
    const res = await attemptDelivery(
      request([target(s)], {
        tls: 'none',
        timeouts: { connectMs: 5000, greetingMs: 5000, commandMs: 5000, dataMs: 60_000 },
        signal: ac.signal,
      }),
    );
    assert.equal(only(res).outcome, 'deferred');
    assert.ok(Date.now() - started < 2000);
  });
});
