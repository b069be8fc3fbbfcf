import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  await s.addMailbox('alice@example.com', 'alice-secret-1');
});
after(() => s.close());

function transport(port: number, secure: boolean, pass = 'alice-secret-1') {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure,
    requireTLS: !secure,
    auth: { user: 'alice@example.com', pass },
    tls: { rejectUnauthorized: false },
  });
}

test('nodemailer submits on submission (STARTTLS) and submissions (implicit TLS)', async () => {
  for (const [role, secure] of [
    ['submission', false],
    ['submissions', true],
  ] as const) {
    const info = await transport(s.port(role), secure).sendMail({
      from: 'alice@example.com',
      to: 'bob@remote.test',
      bcc: 'hidden@remote.test',
      subject: `hi over ${role}`,
      text: 'hello',
    });
    const id = /queued as (\S+)/.exec(info.response)?.[1];
    assert.ok(id, info.response);
    assert.match(info.response, /^250 2\.0\.0 /);
    const m = await s.server.store.queue.get(id!);
    assert.ok(m);
    assert.deepEqual(m.recipients.map((r) => r.address).sort(), ['bob@remote.test', 'hidden@remote.test']);
    const body = (await s.body(m.id)).toString('utf8');
    assert.match(body, /^Received: from [^\r\n]+\r\n\tby mx\.postern\.test \(Postern\) with ESMTPSA id /);
    assert.match(body, /version=TLSv1\.[23]/);
    assert.doesNotMatch(body, /^bcc:/im, 'Bcc must be removed');
    assert.doesNotMatch(body, /alice-secret-1/);
    assert.match(body, /^Message-ID: </im);
  }
});

test('wrong password is refused with 535 5.7.8', async () => {
  await assert.rejects(
    transport(s.port('submission'), false, 'wrong-password').sendMail({
      from: 'alice@example.com',
      to: 'bob@remote.test',
      text: 'x',
    }),
    (err: Error & { response?: string }) => /^535 5\.7\.8/.test(err.response ?? ''),
  );
});

test('a mailbox removed and added again with a new password: the old password is refused at once (no stale cached login)', async () => {
  await s.addMailbox('carol@example.com', 'carol-old-pass-1');
  const carol = (pass: string) =>
    nodemailer.createTransport({
      host: '127.0.0.1',
      port: s.port('submission'),
      requireTLS: true,
      auth: { user: 'carol@example.com', pass },
      tls: { rejectUnauthorized: false },
    });
  await carol('carol-old-pass-1').verify(); // now cached
  await s.admin.removeMailbox('carol@example.com');
  await new Promise((r) => setTimeout(r, 5)); // a different creation time
  await s.admin.addMailbox('carol@example.com', 'carol-new-pass-2');
  await assert.rejects(carol('carol-old-pass-1').verify(), (e: Error & { response?: string }) => /^535 5\.7\.8/.test(e.response ?? ''));
  await carol('carol-new-pass-2').verify();
});
