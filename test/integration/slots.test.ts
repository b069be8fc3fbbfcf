/**
 * Connection slots over real sockets: unauthenticated sessions get a deadline and a share of
 * maxConnections (the oldest is closed to make room, so a real client always gets in), a
 * command line or a message trickled a byte at a time is cut off, and a client network has a
 * cap that a network a login came from before is not held to.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';
import { SmtpClient } from '../helpers/smtp-client.ts';
import { until } from '../helpers/delivery-lab.ts';

const servers: TestServer[] = [];
const sockets: net.Socket[] = [];
after(async () => {
  for (const x of sockets) x.destroy();
  for (const s of servers) await s.close();
});

async function server(slots: Record<string, unknown>): Promise<TestServer> {
  const s = await startTestServer({
    listeners: [
      { role: 'submission', port: 0, host: '127.0.0.1', ...slots },
      { role: 'mx', port: 0, host: '127.0.0.1', greetingDelayMs: 0, ...slots },
    ],
  });
  servers.push(s);
  await s.addMailbox('alice@example.com', 'alice-secret-1');
  return s;
}

/** A raw connection from a given loopback address; resolves once the server said something. */
function raw(port: number, from = '127.0.0.1'): Promise<{ sock: net.Socket; text: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let got = '';
    let closedResolve!: () => void;
    const closed = new Promise<void>((r) => (closedResolve = r));
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: from });
    sockets.push(sock);
    sock.on('data', (d) => {
      const first = got === '';
      got += d.toString();
      if (first) resolve({ sock, text: () => got, closed });
    });
    sock.on('close', () => closedResolve());
    sock.on('error', (e) => (got ? undefined : reject(e)));
  });
}

test('submission: a session that does not authenticate within authTimeoutSeconds gets 421 4.7.0; the mx port has no such deadline', async () => {
  const s = await server({ authTimeoutSeconds: 1 });
  const sub = await raw(s.port('submission'));
  const mx = await raw(s.port('mx'));
  mx.sock.write('EHLO x.example\r\n');
  const t0 = Date.now();
  await sub.closed;
  assert.match(sub.text(), /\r\n421 4\.7\.0 Authenticate within 1 seconds/);
  assert.ok(Date.now() - t0 < 3000, `closed after ${Date.now() - t0} ms`);
  assert.equal(mx.sock.destroyed, false, 'mx sessions are not held to it');
  assert.ok(s.logs.some((l) => l.evt === 'slot' && l.reason === 'auth-timeout'));
  assert.equal(
    await submitAs(s, { user: 'alice@example.com', pass: 'alice-secret-1', to: ['bob@remote.test'] }).then((r) => /^250 /.test(r)),
    true,
    'an authenticating client is unaffected',
  );
});

test('a command line trickled a byte at a time is cut off after commandTimeoutSeconds (421 4.4.2)', async () => {
  const s = await server({ commandTimeoutSeconds: 1 });
  const c = await raw(s.port('mx'));
  const t0 = Date.now();
  const trickle = setInterval(() => {
    if (!c.sock.destroyed) c.sock.write('E');
  }, 200);
  await c.closed;
  clearInterval(trickle);
  assert.match(c.text(), /421 4\.4\.2 A command line must arrive within 1 seconds/);
  assert.ok(Date.now() - t0 < 3500, `closed after ${Date.now() - t0} ms`);
});

test('DATA slower than minDataRate is cut off (421 4.4.2); a normal message is not', async () => {
  const s = await server({ commandTimeoutSeconds: 1, minDataRate: 1000 });
  await s.admin.addDomain('hosted.example', 'acme');
  await s.admin.setRoute('hosted.example', '127.0.0.9:2525', 'none');
  const c = await SmtpClient.connect(s.port('mx'));
  await c.expect('EHLO x.example', 250);
  await c.expect('MAIL FROM:<a@remote.example>', 250);
  await c.expect('RCPT TO:<info@hosted.example>', 250);
  await c.expect('DATA', 354);
  await c.expect('Subject: fast\r\n\r\nhello\r\n.', 250);
  await c.expect('MAIL FROM:<a@remote.example>', 250);
  await c.expect('RCPT TO:<info@hosted.example>', 250);
  await c.expect('DATA', 354);
  const t0 = Date.now();
  const trickle = setInterval(() => {
    if (!c.isClosed) void c.write('x').catch(() => undefined);
  }, 100);
  const r = await c.read(6000);
  clearInterval(trickle);
  assert.equal(r.code, 421);
  assert.match(r.text, /4\.4\.2 The message arrives too slowly/);
  assert.ok(Date.now() - t0 < 4000, `after ${Date.now() - t0} ms`);
});

test('unauthenticated sessions hold at most their share: a new connection closes the oldest, and a real client submits', async () => {
  const s = await server({ maxConnections: 10, unauthenticatedShare: 0.5 });
  const idle: Awaited<ReturnType<typeof raw>>[] = [];
  for (let i = 0; i < 5; i++) idle.push(await raw(s.port('submission'), `127.0.1.${i + 1}`));
  const reply = await submitAs(s, { user: 'alice@example.com', pass: 'alice-secret-1', to: ['bob@remote.test'] });
  assert.match(reply, /^250 /);
  await until(() => idle[0]!.sock.destroyed || idle[0]!.text().includes('421'), 3000, 'the oldest closed');
  assert.match(idle[0]!.text(), /421 4\.7\.0 Too many connections waiting to authenticate/);
  assert.equal(idle.slice(1).filter((x) => x.text().includes('421')).length, 0, 'only the oldest was closed');
  // an authenticated session is never closed to make room
  const authed = await SmtpClient.connect(s.port('submission'));
  await authed.expect('EHLO c.example', 250);
  await authed.starttls();
  await authed.expect('EHLO c.example', 250);
  await authed.login('alice@example.com', 'alice-secret-1');
  for (let i = 0; i < 8; i++) idle.push(await raw(s.port('submission'), `127.0.2.${i + 1}`));
  await authed.expect('NOOP', 250);
});

test('per-network cap (/24): a fourth connection of the network gets 421 4.7.0, unless a login came from that network before', async () => {
  const s = await server({ maxConnectionsPerNetwork: 3 });
  for (let i = 1; i <= 3; i++) await raw(s.port('submission'), `127.0.3.${i}`);
  const fourth = await raw(s.port('submission'), '127.0.3.4');
  assert.match(fourth.text(), /^421 4\.7\.0 Too many connections from your network/);
  assert.equal(await submitAs(s, { user: 'alice@example.com', pass: 'alice-secret-1', from: '127.0.5.1' }), 'ok');
  for (let i = 1; i <= 3; i++) await raw(s.port('submission'), `127.0.5.${i + 1}`);
  const reserved = await raw(s.port('submission'), '127.0.5.9');
  assert.match(reserved.text(), /^220 /, 'a network a login came from takes a reserved slot');
});
