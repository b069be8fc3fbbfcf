/**
 * Send-as rules over real SMTP sessions: two customers on one server; envelope spoofing,
 * header spoofing behind an honest envelope, aliases and domain-wide grants (changes apply at
 * once), the null sender, and grants that would cross into another customer.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { AdminError } from '../../src/admin/service.ts';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  await s.addMailbox('alice@example.com', 'alice-secret-1', 'acme');
  await s.admin.addDomain('shop.example', 'acme');
  await s.addMailbox('bob@other.example', 'bob-secret-11', 'other');
});
after(() => s.close());

const alice = () =>
  nodemailer.createTransport({
    host: '127.0.0.1',
    port: s.port('submission'),
    requireTLS: true,
    auth: { user: 'alice@example.com', pass: 'alice-secret-1' },
    tls: { rejectUnauthorized: false },
  });

async function refusedWith(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error & { response?: string }) => {
    assert.match(err.response ?? err.message, re);
    return true;
  });
}

test("envelope spoofing: another customer's address in MAIL FROM gets 553 5.7.1, nothing queued", async () => {
  const before = await s.server.store.queue.count();
  await refusedWith(
    alice().sendMail({
      envelope: { from: 'bob@other.example', to: 'x@remote.test' },
      from: 'bob@other.example',
      to: 'x@remote.test',
      text: 'x',
    }),
    /^553 5\.7\.1 Sender address <bob@other\.example> is not allowed for this login/,
  );
  assert.equal(await s.server.store.queue.count(), before);
  assert.ok(s.logs.some((l) => l.evt === 'mail' && l.result === 'reject' && l.sender === 'bob@other.example' && l.customer === 'acme'));
});

test('header spoofing behind an honest envelope: 550 5.7.1 at the end of DATA, nothing queued', async () => {
  const before = await s.server.store.queue.count();
  await refusedWith(
    alice().sendMail({
      envelope: { from: 'alice@example.com', to: 'x@remote.test' },
      from: 'Bob <bob@other.example>',
      to: 'x@remote.test',
      text: 'x',
    }),
    /^550 5\.7\.1 From: <bob@other\.example> is not an address this login may send as/,
  );
  await refusedWith(
    alice().sendMail({
      envelope: { from: 'alice@example.com', to: 'x@remote.test' },
      from: 'alice@example.com',
      sender: 'ceo@bank.test',
      to: 'x@remote.test',
      text: 'x',
    }),
    /^550 5\.7\.1 Sender: <ceo@bank\.test>/,
  );
  assert.equal(await s.server.store.queue.count(), before);
  // an address in the display name is what some mail programs show: it must be allowed too
  await refusedWith(
    alice().sendMail({
      envelope: { from: 'alice@example.com', to: 'x@remote.test' },
      from: '"bob@other.example" <alice@example.com>',
      to: 'x@remote.test',
      text: 'x',
    }),
    /^550 5\.7\.1 From: <bob@other\.example>/,
  );
  await alice().sendMail({
    envelope: { from: 'alice@example.com', to: 'x@remote.test' },
    from: '"Alice (example.com)" <alice@example.com>',
    to: 'x@remote.test',
    text: 'x',
  });
  // a first line that is not a header field ("From " as in mbox) cannot hide a forged From
  await refusedWith(
    alice().sendMail({
      envelope: { from: 'alice@example.com', to: ['x@remote.test'] },
      raw: 'From : bob@other.example\r\nTo: x@remote.test\r\n\r\nhi\r\n',
    }),
    /^550 5\.6\.0 /,
  );
  // non-ASCII domains are compared as the receiver sees them (no byte folding)
  await refusedWith(
    alice().sendMail({
      envelope: { from: 'alice@example.com', to: ['x@remote.test'] },
      raw: 'From: alice@\u0173\u0168\u016f\u0170.example\r\nTo: x@remote.test\r\n\r\nhi\r\n',
    }),
    /^550 5\.7\.1 From: /,
  );
});

test('an alias grant: MAIL FROM and From may use it, at once; revoked, refused at once', async () => {
  const send = () => alice().sendMail({ from: 'Shop <orders@shop.example>', to: 'x@remote.test', text: 'order 1' });
  await refusedWith(send(), /^553 5\.7\.1 /);
  await s.admin.grant('alice@example.com', { sendAs: 'orders@shop.example' });
  await send();
  await refusedWith(alice().sendMail({ from: 'sales@shop.example', to: 'x@remote.test', text: 'x' }), /^553 5\.7\.1 /);
  await s.admin.revoke('alice@example.com', { sendAs: 'orders@shop.example' });
  await refusedWith(send(), /^553 5\.7\.1 /);
});

test('a domain grant covers every address of that domain (and not others)', async () => {
  await s.admin.grant('alice@example.com', { domain: 'shop.example' });
  await alice().sendMail({ from: 'noreply@shop.example', to: 'x@remote.test', text: 'x' });
  await alice().sendMail({ from: 'orders@shop.example', to: 'x@remote.test', text: 'x' });
  await refusedWith(alice().sendMail({ from: 'noreply@other.example', to: 'x@remote.test', text: 'x' }), /^553 5\.7\.1 /);
  await s.admin.revoke('alice@example.com', { domain: 'shop.example' });
});

test('the null sender is refused unless granted', async () => {
  const bounce = () =>
    alice().sendMail({ envelope: { from: '', to: 'x@remote.test' } as never, from: 'alice@example.com', to: 'x@remote.test', text: 'x' });
  await refusedWith(bounce(), /^553 5\.7\.1 The null sender <> is not allowed/);
  await s.admin.grant('alice@example.com', { sendAs: '<>' });
  await bounce();
  await s.admin.revoke('alice@example.com', { sendAs: '<>' });
});

test('grants never cross customers, and bad input is refused with a clear error', async () => {
  const refused = async (p: Promise<unknown>, re: RegExp) =>
    assert.rejects(p, (e: unknown) => e instanceof AdminError && re.test(e.message));
  await refused(s.admin.grant('alice@example.com', { domain: 'other.example' }), /other\.example is not a domain of customer acme/);
  await refused(s.admin.grant('alice@example.com', { sendAs: 'bob@other.example' }), /other\.example is not a domain of customer acme/);
  await refused(s.admin.grant('alice@example.com', { sendAs: 'x@unhosted.test' }), /not a domain of customer acme/);
  await refused(s.admin.grant('alice@example.com', { sendAs: 'not-an-address' }), /not a valid address/);
  await refused(s.admin.grant('alice@example.com', { domain: 'bad_domain' }), /not a valid domain name/);
  await refused(s.admin.grant('alice@example.com', {}), /either --send-as ADDRESS or --domain DOMAIN/);
  await refused(s.admin.grant('alice@example.com', { sendAs: 'a@shop.example', domain: 'shop.example' }), /either/);
  await refused(s.admin.grant('alice@example.com', { sendAs: 'ALICE@example.com' }), /own address/);
  await refused(s.admin.revoke('alice@example.com', { sendAs: 'never@shop.example' }), /has no grant/);
  assert.deepEqual((await s.admin.grants('alice@example.com')).grants, []);
});
