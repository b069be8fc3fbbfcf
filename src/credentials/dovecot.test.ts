import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDovecotAuth, dovecotTarget, unescapeValue, DovecotUnavailable } from './dovecot.ts';

/** A scripted auth server: the handshake, then `reply(fields, socket)` for each AUTH line it is sent. */
async function fakeDovecot(
  reply: (f: string[], s: net.Socket) => void,
  handshake = 'VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t1\nCUID\t7\nCOOKIE\tabc\nDONE\n',
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dovecot-fake-'));
  const sock = path.join(dir, 'auth-client');
  const lines: string[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.write(handshake);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        const f = line.split('\t');
        if (f[0] === 'AUTH') reply(f, s);
      }
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  return {
    sock,
    lines,
    get connections() {
      return connections;
    },
    drop: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          r();
        });
      }),
  };
}

const credentials = (f: string[]) => {
  const resp = f.find((x) => x.startsWith('resp='))!.slice(5);
  const [, user, pass] = Buffer.from(resp, 'base64').toString('utf8').split('\0');
  return { user: user!, pass: pass! };
};

test("handshake, then PLAIN with the client's addresses; OK names the user, FAIL is a refusal", async () => {
  const d = await fakeDovecot((f, s) => {
    const { user, pass } = credentials(f);
    s.write(pass === 'right' ? `OK\t${f[1]}\tuser=${user}\n` : `FAIL\t${f[1]}\tuser=${user}\n`);
  });
  const seen: string[] = [];
  const auth = createDovecotAuth({
    socket: d.sock,
    timeoutMs: 2000,
    observe: (r, sec) => {
      assert.ok(sec >= 0 && sec < 2);
      seen.push(r);
    },
  });
  try {
    assert.deepEqual(await auth.check('ann@example.com', 'right', { rip: '192.0.2.5', lip: '127.0.0.1', secured: true }), {
      ok: true,
      user: 'ann@example.com',
    });
    assert.deepEqual(await auth.check('ann@example.com', 'wrong', { rip: '192.0.2.5' }), { ok: false });
    assert.deepEqual(seen, ['ok', 'fail'], 'each outcome is observed (metrics)');
    assert.match(d.lines[0]!, /^VERSION\t1\t\d+$/);
    assert.match(d.lines[1]!, /^CPID\t\d+$/);
    const first = d.lines[2]!.split('\t');
    assert.deepEqual(first.slice(0, 4), ['AUTH', first[1], 'PLAIN', 'service=smtp']);
    assert.ok(first.includes('rip=192.0.2.5') && first.includes('lip=127.0.0.1') && first.includes('secured'));
    assert.ok(!d.lines[3]!.split('\t').includes('secured'), 'not secured when the session is not');
    assert.equal(d.connections, 1, 'one connection kept open');
  } finally {
    auth.close();
    await d.close();
  }
});

test('requests are multiplexed: answers out of order reach their own callers', async () => {
  const held: [string[], net.Socket][] = [];
  const d = await fakeDovecot((f, s) => {
    held.push([f, s]);
    if (held.length === 3)
      for (const [g, t] of held.reverse())
        t.write(credentials(g).pass.startsWith('ok') ? `OK\t${g[1]}\tuser=${credentials(g).user}\n` : `FAIL\t${g[1]}\n`);
  });
  const auth = createDovecotAuth({ socket: d.sock, timeoutMs: 2000 });
  try {
    const r = await Promise.all([
      auth.check('a@x.example', 'ok-a', {}),
      auth.check('b@x.example', 'bad', {}),
      auth.check('c@x.example', 'ok-c', {}),
    ]);
    assert.deepEqual(r, [{ ok: true, user: 'a@x.example' }, { ok: false }, { ok: true, user: 'c@x.example' }]);
    assert.equal(d.connections, 1);
  } finally {
    auth.close();
    await d.close();
  }
});

test('Dovecot unable to answer is an error, never a pass: temp failures, no answer, a dropped connection, a challenge', async () => {
  let mode = 'temp';
  const d = await fakeDovecot((f, s) => {
    if (mode === 'temp') s.write(`FAIL\t${f[1]}\ttemp\n`);
    else if (mode === 'code') s.write(`FAIL\t${f[1]}\tcode=temp_fail\n`);
    else if (mode === 'cont') s.write(`CONT\t${f[1]}\t\n`);
    else if (mode === 'drop') s.destroy();
    else if (mode === 'ok') s.write(`OK\t${f[1]}\tuser=x@y.example\n`);
    // 'silent': no answer
  });
  const seen: string[] = [];
  const auth = createDovecotAuth({ socket: d.sock, timeoutMs: 300, observe: (r) => seen.push(r) });
  try {
    for (const m of ['temp', 'code', 'cont', 'silent', 'drop']) {
      mode = m;
      await assert.rejects(auth.check('x@y.example', 'pw', {}), DovecotUnavailable, m);
    }
    assert.deepEqual(seen, ['error', 'error', 'error', 'error', 'error']);
    mode = 'ok';
    assert.deepEqual(await auth.check('x@y.example', 'pw', {}), { ok: true, user: 'x@y.example' }, 'reconnects after the drop');
    assert.equal(d.connections, 2);
  } finally {
    auth.close();
    await d.close();
  }
});

test('no Dovecot listening, a wrong protocol version or no PLAIN: an error at once', async () => {
  const gone = createDovecotAuth({ socket: path.join(os.tmpdir(), `no-such-dovecot-${process.pid}`), timeoutMs: 1000 });
  await assert.rejects(gone.check('a@b.example', 'pw', {}), DovecotUnavailable);
  gone.close();
  for (const [hs, why] of [
    ['VERSION\t2\t0\nMECH\tPLAIN\nDONE\n', /version 2/],
    ['VERSION\t1\t2\nMECH\tGSSAPI\nDONE\n', /PLAIN/],
  ] as const) {
    const d = await fakeDovecot(() => undefined, hs);
    const auth = createDovecotAuth({ socket: d.sock, timeoutMs: 1000 });
    await assert.rejects(auth.check('a@b.example', 'pw', {}), why);
    auth.close();
    await d.close();
  }
});

test('targets and tab-escaping', () => {
  assert.deepEqual(dovecotTarget('/run/dovecot/auth-client'), { path: '/run/dovecot/auth-client' });
  assert.deepEqual(dovecotTarget('127.0.0.1:12345'), { host: '127.0.0.1', port: 12345 });
  assert.deepEqual(dovecotTarget('[::1]:12345'), { host: '::1', port: 12345 });
  assert.throws(() => dovecotTarget('auth.example'), /socket path or HOST:PORT/);
  assert.equal(unescapeValue('a\x01tb\x011c\x010'), 'a\tb\x01c\0');
});
