/**
 * Dovecot as the password back end, against a real Dovecot (Debian's dovecot-core) that the
 * test starts with its own config: its users send at once with their Dovecot passwords and no
 * `mailbox add` (hosted domains only, audited, marked dovecot); wrong passwords count toward
 * Postern's lockout; Dovecot stopped gives 454 4.7.0 and nothing is accepted unauthenticated; a
 * password changed in Dovecot takes effect within the cache time; suspend and remove still work.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';
import { hasDovecot, startDovecot, type TestDovecot } from '../helpers/dovecot.ts';
import { SmtpClient } from '../helpers/smtp-client.ts';

let dovecot: TestDovecot;
const servers: TestServer[] = [];
let t = Date.now();
const clock = { now: () => t };

before(async () => {
  // never skipped: a machine without Dovecot fails here, with what to run
  if (!hasDovecot()) throw new Error('dovecot-core is not installed: run contrib/ci-dovecot.sh');
  dovecot = await startDovecot([
    { user: 'ann@example.com', password: 'ann-dovecot-pw', scheme: 'SHA512-CRYPT' },
    { user: 'bob@example.com', password: 'bob-dovecot-pw', scheme: 'BLF-CRYPT' },
    { user: 'cat@example.com', password: 'cat-dovecot-pw', scheme: 'SHA512-CRYPT' },
    { user: 'eve@elsewhere.example', password: 'eve-dovecot-pw', scheme: 'SHA512-CRYPT' },
  ]);
});
after(async () => {
  for (const s of servers) await s.close();
  await dovecot?.close();
});

async function server(dovecotConfig: Record<string, unknown>, auth: Record<string, unknown> = {}): Promise<TestServer> {
  const s = await startTestServer({ auth: { failureDelayMs: 0, ...auth, dovecot: dovecotConfig } } as never, { clock });
  servers.push(s);
  await s.admin.addCustomer('acme');
  await s.admin.addDomain('example.com', 'acme');
  return s;
}

const send = (s: TestServer, user: string, pass: string, from = '127.0.0.1') =>
  submitAs(s, { user, pass, from, to: ['someone@remote.example'] });

test('a Dovecot user sends at once, without mailbox add; the mailbox appears, marked dovecot and audited', async () => {
  const s = await server({ socket: dovecot.socket, cacheSeconds: 0 });
  assert.match(await send(s, 'ann@example.com', 'ann-dovecot-pw'), /^250 /, 'SHA512-CRYPT user');
  assert.match(await send(s, 'Bob@Example.com', 'bob-dovecot-pw'), /^250 /, 'BLF-CRYPT user, login in another case');
  const ann = await s.server.store.mailboxes.get('ann@example.com');
  assert.ok(ann);
  assert.equal(ann.source, 'dovecot');
  assert.equal(ann.customerName, 'acme');
  assert.equal(ann.passwordHash, '', 'no hash kept: Dovecot stays the judge');
  assert.equal((await s.server.store.mailboxes.get('bob@example.com'))?.source, 'dovecot');
  const audit = await s.server.store.audit.list({ target: 'ann@example.com' });
  assert.equal(audit.length, 1);
  assert.equal(audit[0]!.actor, 'dovecot');
  assert.equal(audit[0]!.action, 'addMailbox');
  assert.equal((audit[0]!.after as { source: string }).source, 'dovecot');
  assert.match(await send(s, 'ann@example.com', 'ann-dovecot-pw'), /^250 /, 'the second login uses the mailbox');
  assert.equal((await s.server.store.audit.list({ target: 'ann@example.com' })).length, 1, 'made once');
  const line = s.logs.find((l) => l.evt === 'auth' && l.user === 'ann@example.com' && l.result === 'ok' && l.created === true);
  assert.equal(line?.via, 'dovecot');
  // sending rules apply from the first login: another customer's address is refused
  await s.admin.addCustomer('other');
  await s.admin.addDomain('other.example', 'other');
  const refused = await submitAs(s, { user: 'ann@example.com', pass: 'ann-dovecot-pw', to: ['x@remote.example'], from: '127.0.0.1' }).then(
    async () => {
      const c = await SmtpClient.connect(s.port('submission'));
      try {
        await c.ehlo();
        await c.starttls();
        await c.ehlo();
        await c.expect(`AUTH PLAIN ${Buffer.from('\0ann@example.com\0ann-dovecot-pw').toString('base64')}`, 235);
        return (await c.send('MAIL FROM:<boss@other.example>')).text;
      } finally {
        await c.quit();
      }
    },
  );
  assert.match(refused, /^553 5\.7\.1/);
});

test('AUTH LOGIN is checked by Dovecot too (sent to it as PLAIN)', async () => {
  const s = await server({ socket: dovecot.socket, cacheSeconds: 0 });
  const c = await SmtpClient.connect(s.port('submission'));
  try {
    await c.ehlo();
    await c.starttls();
    await c.ehlo();
    await c.expect('AUTH LOGIN', 334);
    await c.expect(Buffer.from('bob@example.com').toString('base64'), 334);
    await c.expect(Buffer.from('bob-dovecot-pw').toString('base64'), 235, '2.7.0');
  } finally {
    await c.quit();
  }
  assert.equal((await s.server.store.mailboxes.get('bob@example.com'))?.source, 'dovecot');
});

test('failed Dovecot logins count toward the address ban for spraying: the address is refused at AUTH saying until when; a mailbox known there still logs in', async () => {
  const s = await server({ socket: dovecot.socket, cacheSeconds: 0 }, { ipFailures: 3 });
  assert.match(await send(s, 'ann@example.com', 'ann-dovecot-pw', '127.0.3.9'), /^250 /, 'ann logs in from her network first');
  // unknown logins and failures across mailboxes: spraying, until the address is banned
  for (const user of [
    'nobody1@example.com',
    'ann@example.com',
    'nobody2@example.com',
    'nobody3@example.com',
    'cat@example.com',
    'nobody4@example.com',
  ]) {
    assert.match(await send(s, user, 'wrong-password', '127.0.4.4'), /^(535 5\.7\.8|454 4\.7\.0)/);
  }
  assert.ok(
    (await s.admin.listBans()).some((b) => b.ip === '127.0.4.4'),
    'the address is banned',
  );
  assert.match(
    await send(s, 'bob@example.com', 'bob-dovecot-pw', '127.0.4.4'),
    /^454 4\.7\.0 Too many failed logins from your address; logins from it are refused until /,
    'banned, even with the right password',
  );
  assert.equal(await s.server.store.mailboxes.get('bob@example.com'), null, 'Dovecot was not asked: no mailbox made');
  assert.match(await send(s, 'bob@example.com', 'bob-dovecot-pw', '127.0.5.5'), /^250 /, 'another address is not banned');
  assert.match(await send(s, 'ann@example.com', 'ann-dovecot-pw', '127.0.3.9'), /^250 /, 'ann from her own network is unaffected');
});

test('an address of a domain Postern does not host is refused even though Dovecot accepts it', async () => {
  const s = await server({ socket: dovecot.socket, cacheSeconds: 0 });
  assert.match(await send(s, 'eve@elsewhere.example', 'eve-dovecot-pw'), /^535 5\.7\.8/);
  assert.equal(await s.server.store.mailboxes.get('eve@elsewhere.example'), null);
  assert.match(await send(s, 'zed@example.com', 'anything'), /^535 5\.7\.8/, 'a hosted address Dovecot does not know');
  assert.equal(await s.server.store.mailboxes.get('zed@example.com'), null);
});

test("wrong passwords through Dovecot count toward Postern's lockout; suspend and remove keep working", async () => {
  const s = await server({ socket: dovecot.socket, cacheSeconds: 0 }, { maxFailures: 3 });
  assert.match(await send(s, 'cat@example.com', 'cat-dovecot-pw', '127.0.1.2'), /^250 /);
  for (let i = 0; i < 3; i++)
    assert.match(await send(s, 'cat@example.com', `guess-${i}`, '127.0.2.3'), /^535 5\.7\.8 Authentication credentials invalid/);
  assert.match(
    await send(s, 'cat@example.com', 'cat-dovecot-pw', '127.0.2.3'),
    /^535 5\.7\.8 Authentication refused: too many failed logins/,
  );
  assert.equal(
    (await s.server.store.authGuard.loginState((await s.server.store.mailboxes.get('cat@example.com'))!.id)).lockedUntil! > t,
    true,
  );
  await s.admin.unlock('cat@example.com');
  await s.admin.suspend('cat@example.com');
  assert.match(
    await send(s, 'cat@example.com', 'cat-dovecot-pw', '127.0.1.2'),
    /^535 5\.7\.8 Authentication refused: this mailbox is suspended/,
  );
  await s.admin.resume('cat@example.com');
  await s.admin.removeMailbox('cat@example.com');
  assert.match(await send(s, 'cat@example.com', 'cat-dovecot-pw', '127.0.1.2'), /^250 /, 'removed, then made again at the next login');
});

test('a password changed in Dovecot takes effect within cacheSeconds; over TCP as well', async () => {
  const s = await server({ socket: dovecot.inet, cacheSeconds: 30 });
  await dovecot.setUsers([{ user: 'dan@example.com', password: 'dan-old-pw', scheme: 'SHA512-CRYPT' }]);
  assert.match(await send(s, 'dan@example.com', 'dan-old-pw'), /^250 /);
  await dovecot.setUsers([{ user: 'dan@example.com', password: 'dan-new-pw', scheme: 'SHA512-CRYPT' }]);
  assert.match(await send(s, 'dan@example.com', 'dan-old-pw'), /^250 /, 'cached: still accepted within the cache time');
  assert.match(await send(s, 'dan@example.com', 'dan-new-pw'), /^250 /, 'the new one at once');
  t += 31_000;
  assert.match(await send(s, 'dan@example.com', 'dan-old-pw'), /^535 5\.7\.8/, 'after cacheSeconds the old password is refused');
});

test('Dovecot stopped: 454 4.7.0, and nothing is accepted unauthenticated; back when Dovecot is', async () => {
  const s = await server({ socket: dovecot.socket, cacheSeconds: 0, timeoutMs: 1000 });
  assert.match(await send(s, 'ann@example.com', 'ann-dovecot-pw'), /^250 /);
  await dovecot.stop();
  try {
    const c = await SmtpClient.connect(s.port('submission'));
    try {
      await c.ehlo();
      await c.starttls();
      await c.ehlo();
      const r = await c.authPlain('ann@example.com', 'ann-dovecot-pw');
      assert.equal(r.code, 454, r.text);
      assert.match(r.text, /4\.7\.0/);
      const first = await c.authPlain('newbie@example.com', 'whatever');
      assert.equal(first.code, 454, 'a first login too: ' + first.text);
      assert.match((await c.send('MAIL FROM:<ann@example.com>')).text, /^530 5\.7\.0/);
    } finally {
      await c.quit();
    }
    assert.equal(await s.server.store.queue.count(), 1, 'only the message sent before');
    assert.equal(await s.server.store.mailboxes.get('newbie@example.com'), null);
    const m = await s.server.metrics.registry.getSingleMetricAsString('postern_dovecot_requests_total');
    assert.match(m, /result="error"\} 2\b/, m);
    assert.match(m, /result="ok"\} 1\b/, m);
  } finally {
    await dovecot.start();
  }
  assert.match(await send(s, 'ann@example.com', 'ann-dovecot-pw'), /^250 /, 'Dovecot back: the next login reconnects');
});

test('the same Dovecot passwd-file imported into a Postern without Dovecot: the same passwords send, and become argon2id', async () => {
  const s = await startTestServer({ auth: { failureDelayMs: 0 } }, { clock });
  servers.push(s);
  await s.admin.addCustomer('acme');
  await s.admin.addDomain('example.com', 'acme');
  const r = await s.admin.importMailboxes(fs.readFileSync(dovecot.usersFile, 'utf8'), { format: 'dovecot-passwd' });
  assert.equal(r.added, 4, JSON.stringify(r)); // ann (SHA512-CRYPT), bob (BLF-CRYPT), cat, dan
  assert.deepEqual(
    r.refused.map((x) => x.error),
    ['eve@elsewhere.example: the domain elsewhere.example is not hosted here'],
  );
  await dovecot.stop(); // nothing asks it
  try {
    assert.match((await s.server.store.mailboxes.get('bob@example.com'))!.passwordHash, /^\$2y\$/);
    assert.match(await send(s, 'ann@example.com', 'ann-dovecot-pw'), /^250 /);
    assert.match(await send(s, 'bob@example.com', 'bob-dovecot-pw'), /^250 /);
    assert.match(await send(s, 'bob@example.com', 'not-bobs'), /^535 5\.7\.8/);
    for (const a of ['ann@example.com', 'bob@example.com']) {
      const m = (await s.server.store.mailboxes.get(a))!;
      assert.match(m.passwordHash, /^\$argon2id\$/, `${a} rehashed at its first login`);
      assert.equal(m.source, 'import');
    }
    const again = await s.admin.importMailboxes(fs.readFileSync(dovecot.usersFile, 'utf8'), { format: 'dovecot-passwd' });
    assert.equal(again.unchanged, 4, 'a re-import compares with the imported hash, not the argon2id one');
    assert.match(await send(s, 'ann@example.com', 'ann-dovecot-pw'), /^250 /);
  } finally {
    await dovecot.start();
  }
});
