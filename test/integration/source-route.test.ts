/**
 * Source routing on the mx port: recipients of a hosted domain with an inbound route whose local
 * part routes elsewhere (%, !, a quoted second address or RFC 821 route) are refused with
 * 550 5.1.3 and never handed on; plain recipients of the same domain still are.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { SmtpClient } from '../helpers/smtp-client.ts';

const s = await startTestServer();
after(() => s.close());
await s.admin.addCustomer('acme');
await s.admin.addDomain('hosted.example', 'acme');
await s.admin.setRoute('hosted.example', '127.0.0.9:2525', 'none');

test('mx port: %, ! and quoted routes in a hosted local part get 550 5.1.3; a plain recipient is accepted', async () => {
  const c = await SmtpClient.connect(s.port('mx'));
  await c.expect('EHLO client.example', 250);
  await c.expect('MAIL FROM:<someone@remote.example>', 250);
  for (const rcpt of ['someone%elsewhere.example@hosted.example', 'elsewhere.example!someone@hosted.example', '"a%b"@hosted.example']) {
    const r = await c.expect(`RCPT TO:<${rcpt}>`, 550, '5.1.3');
    assert.match(r.text, /source routing/, rcpt);
  }
  // a quoted second address or route never gets this far: the protocol layer refuses its syntax
  for (const rcpt of ['"someone@elsewhere.example"@hosted.example', '"@relay.example:someone@elsewhere.example"@hosted.example']) {
    const r = await c.send(`RCPT TO:<${rcpt}>`);
    assert.ok(r.code >= 500 && /5\.1\.3/.test(r.text), `${rcpt}: ${r.text}`);
  }
  await c.expect('RCPT TO:<info@hosted.example>', 250);
  await c.quit();
  const refused = s.logs.filter((l) => l.evt === 'rcpt' && l.result === 'reject' && /source routing/.test(String(l.reply)));
  assert.equal(refused.length, 3);
});

test('a route before the path (<@relay:user@hosted>) is dropped, not passed on: the recipient is the plain address', async () => {
  const c = await SmtpClient.connect(s.port('mx'));
  await c.expect('EHLO client.example', 250);
  await c.expect('MAIL FROM:<someone@remote.example>', 250);
  await c.expect('RCPT TO:<@relay.example:info@hosted.example>', 250);
  await c.expect('DATA', 354);
  const r = await c.expect('Subject: x\r\n\r\nhi\r\n.', 250);
  await c.quit();
  const id = /queued as (\S+)/.exec(r.text)![1]!;
  const m = await s.server.store.queue.get(id);
  assert.deepEqual(
    m?.recipients.map((x) => x.address),
    ['info@hosted.example'],
  );
});
