import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { makeChain } from './helpers/certs.ts';
import { startFakeMx } from './helpers/fake-mx.ts';

// The floor relay of issue 22 (bench/lab/floor-relay.ts) is a measuring instrument: these checks
// make sure it does what its figures in docs/benchmarks.md claim, and no less.

const ROOT = path.resolve(import.meta.dirname, '..');

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve) => {
          const s = net.createServer().listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function startRelay(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['bin/run-ts.js', 'bench/lab/floor-relay.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.includes('floor-relay: pid')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`floor relay exited (${code}): ${err}`)));
  });
  return child;
}

const RAW = Buffer.from('From: alice@example.test\r\nTo: rcpt@remote.test\r\nSubject: floor\r\n\r\nline one\r\n.dot line\r\n');

for (const mode of [
  { name: 'no fsync, no signature', fsync: '0', sign: '0' },
  { name: 'fsync and an RSA signature', fsync: '1', sign: '1' },
]) {
  test(`floor relay (${mode.name}): accepts over STARTTLS + AUTH, relays the envelope and the bytes, refuses a wrong password, stops on SIGTERM`, async () => {
    const sink = await startFakeMx({});
    const chain = makeChain('floor.test');
    const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floor-tls-'));
    fs.writeFileSync(path.join(tlsDir, 'key.pem'), chain.key);
    fs.writeFileSync(path.join(tlsDir, 'cert.pem'), chain.chainPem);
    const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'floor-spool-'));
    const ports = await freePorts(3);
    const relay = await startRelay({
      FLOOR_PORTS: ports.join(','),
      FLOOR_TLS_DIR: tlsDir,
      FLOOR_SINK: `127.0.0.1:${sink.port}`,
      FLOOR_FSYNC: mode.fsync,
      FLOOR_SIGN: mode.sign,
      FLOOR_DIR: spool,
      FLOOR_USER: 'alice@example.test',
      FLOOR_PASS: 'right',
    });
    const client = (pass: string) =>
      nodemailer.createTransport({
        host: '127.0.0.1',
        port: ports[0],
        secure: false,
        requireTLS: true,
        tls: { rejectUnauthorized: false },
        auth: { user: 'alice@example.test', pass },
      });
    try {
      const envelope = { from: 'alice@example.test', to: ['rcpt@remote.test', 'other@remote.test'] };
      await client('right').sendMail({ envelope, raw: RAW });
      for (let i = 0; i < 100 && !sink.received.length; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(sink.received.length, 1);
      const got = sink.received[0]!;
      assert.equal(got.from, envelope.from);
      assert.deepEqual(got.to, envelope.to);
      if (mode.sign === '1') {
        const field = got.data.subarray(0, got.data.indexOf('\r\n') + 2).toString();
        assert.match(field, /^DKIM-Signature: v=1; a=rsa-sha256; .*bh=([^;]+); b=[A-Za-z0-9+/=]{300,}\r\n$/);
        assert.equal(/bh=([^;]+);/.exec(field)![1], createHash('sha256').update(RAW).digest('base64'));
        assert.deepEqual(got.data.subarray(field.length), RAW);
      } else assert.deepEqual(got.data, RAW);
      // the file made durable before the 250 goes once the sink has the message
      for (let i = 0; i < 40 && fs.readdirSync(spool).length; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(fs.readdirSync(spool), []);
      await assert.rejects(client('wrong').sendMail({ envelope, raw: RAW }), /535/);
      assert.equal(sink.received.length, 1);
    } finally {
      const exited = new Promise((r) => relay.once('exit', r));
      relay.kill('SIGTERM');
      assert.equal(await exited, 0);
      await sink.close();
      fs.rmSync(tlsDir, { recursive: true, force: true });
      fs.rmSync(spool, { recursive: true, force: true });
      fs.rmSync(chain.dir, { recursive: true, force: true });
    }
  });
}
