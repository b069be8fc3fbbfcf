import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { ensureSelfSigned } from '../../src/listener/index.ts';
import { startTestServer, tempDir } from '../helpers/server.ts';

function peerCommonName(port: number, servername?: string, extra: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...extra }, () => {
      const cn = sock.getPeerCertificate().subject?.CN as string;
      sock.destroy();
      resolve(cn);
    });
    sock.on('error', reject);
  });
}

test('SNI picks the certificate of the requested name; others get the default', async () => {
  const dir = tempDir();
  const def = await ensureSelfSigned(path.join(dir, 'default'), 'mail.provider.test');
  const other = await ensureSelfSigned(path.join(dir, 'other'), 'mail.customer.test');
  const s = await startTestServer({
    tls: { cert: def.cert, key: def.key, sni: { 'mail.customer.test': { cert: other.cert, key: other.key } } },
  });
  try {
    const port = s.port('submissions');
    assert.equal(await peerCommonName(port, 'mail.customer.test'), 'mail.customer.test');
    assert.equal(await peerCommonName(port, 'MAIL.Customer.TEST'), 'mail.customer.test');
    assert.equal(await peerCommonName(port, 'unknown.test'), 'mail.provider.test');
    assert.equal(await peerCommonName(port), 'mail.provider.test');
  } finally {
    await s.close();
  }
});

test('TLS below 1.2 is refused', async () => {
  const s = await startTestServer();
  try {
    await assert.rejects(
      peerCommonName(s.port('submissions'), undefined, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }),
    );
    assert.ok(await peerCommonName(s.port('submissions'), undefined, { maxVersion: 'TLSv1.2' }));
  } finally {
    await s.close();
  }
});

test('a changed certificate file is used without a restart', async () => {
  const dir = tempDir();
  const first = await ensureSelfSigned(path.join(dir, 'a'), 'first.test');
  const second = await ensureSelfSigned(path.join(dir, 'b'), 'second.test');
  const live = { cert: path.join(dir, 'live-cert.pem'), key: path.join(dir, 'live-key.pem') };
  fs.copyFileSync(first.cert, live.cert);
  fs.copyFileSync(first.key, live.key);
  const s = await startTestServer({ tls: { ...live, sni: {}, reloadIntervalSeconds: 0.1 } });
  try {
    const port = s.port('submissions');
    assert.equal(await peerCommonName(port), 'first.test');
    // Replace the pair the way certbot does: new files renamed over the old ones.
    fs.copyFileSync(second.key, live.key + '.new');
    fs.copyFileSync(second.cert, live.cert + '.new');
    fs.renameSync(live.key + '.new', live.key);
    fs.renameSync(live.cert + '.new', live.cert);
    let cn = '';
    for (let i = 0; i < 100 && cn !== 'second.test'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      cn = await peerCommonName(port);
    }
    assert.equal(cn, 'second.test');
    assert.ok(s.logs.some((l) => l.msg === 'certificate reloaded'));
  } finally {
    await s.close();
  }
});

test('PROXY protocol v1 header sets the client address', async () => {
  const s = await startTestServer({ listeners: [{ role: 'mx', port: 0, host: '127.0.0.1', proxyProtocol: true, greetingDelayMs: 0 }] });
  try {
    const greeting = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(s.port('mx'), '127.0.0.1', () => sock.write('PROXY TCP4 192.0.2.77 127.0.0.1 40000 25\r\n'));
      sock.once('data', (d) => {
        sock.end('QUIT\r\n');
        resolve(d.toString());
      });
      sock.on('error', reject);
    });
    assert.match(greeting, /^220 /);
    assert.ok(
      s.logs.some((l) => l.evt === 'connect' && l.ip === '192.0.2.77'),
      'connection logged with the proxied address',
    );
  } finally {
    await s.close();
  }
});

test('PROXY protocol from listed load balancers only: other peers connect directly', async () => {
  const greet = async (port: number, header: string) =>
    new Promise<string>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        if (header) sock.write(header);
      });
      sock.once('data', (d) => {
        sock.end('QUIT\r\n');
        resolve(d.toString());
      });
      sock.on('error', reject);
    });
  const direct = await startTestServer({
    listeners: [{ role: 'mx', port: 0, host: '127.0.0.1', proxyProtocol: ['192.0.2.10'], greetingDelayMs: 0 }],
  });
  try {
    assert.match(await greet(direct.port('mx'), ''), /^220 /, 'a peer that is not a listed balancer needs no header');
    assert.ok(
      direct.logs.some((l) => l.evt === 'connect' && l.ip === '127.0.0.1'),
      'its own address is used',
    );
  } finally {
    await direct.close();
  }
  const balanced = await startTestServer({
    listeners: [{ role: 'mx', port: 0, host: '127.0.0.1', proxyProtocol: ['127.0.0.1'], greetingDelayMs: 0 }],
  });
  try {
    assert.match(await greet(balanced.port('mx'), 'PROXY TCP4 198.51.100.9 127.0.0.1 40000 25\r\n'), /^220 /);
    assert.ok(
      balanced.logs.some((l) => l.evt === 'connect' && l.ip === '198.51.100.9'),
      "the balancer's header names the client",
    );
  } finally {
    await balanced.close();
  }
});
