import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import nodemailer from 'nodemailer';
import { startTestServer } from '../helpers/server.ts';

/** Sends lines one at a time and collects the reply to each (single-line replies only). */
async function dialogue(port: number, lines: string[]): Promise<string[]> {
  const sock = net.connect(port, '127.0.0.1');
  const replies: string[] = [];
  let buf = '';
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        buf += d.toString();
        const m = /^(\d{3}) [^\r\n]*\r\n/m.exec(buf);
        if (m) {
          const end = buf.indexOf('\r\n', m.index) + 2;
          const reply = buf.slice(0, end);
          buf = buf.slice(end);
          sock.off('data', onData);
          resolve(reply.trim().split('\r\n').pop()!);
        }
      };
      sock.on('data', onData);
      sock.once('error', reject);
    });
  replies.push(await next());
  for (const l of lines) {
    sock.write(l + '\r\n');
    replies.push(await next());
  }
  sock.destroy();
  return replies;
}

test('when the store cannot answer, checks reply 4xx, never accept', async () => {
  const s = await startTestServer();
  try {
    await s.addMailbox('alice@example.com', 'alice-secret-1');
    await s.server.store.close(); // the store is gone
    const r = await dialogue(s.port('mx'), ['EHLO client.test', 'MAIL FROM:<x@remote.test>', 'RCPT TO:<someone@example.com>']);
    assert.match(r[3], /^451 4\.3\.0 /);
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: s.port('submission'),
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice@example.com', pass: 'alice-secret-1' },
    });
    await assert.rejects(t.sendMail({ from: 'alice@example.com', to: 'b@remote.test', text: 'x' }), (e: Error & { response?: string }) =>
      /^454 4\.7\.0 /.test(e.response ?? ''),
    );
  } finally {
    await s.close();
  }
});
