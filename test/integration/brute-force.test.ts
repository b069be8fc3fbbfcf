/**
 * Brute-force defence over real SMTP sessions, with an injectable clock: a mailbox locks after
 * 10 failures but not for an address it logged in from; the lock ends after its time or by
 * `unlock`; spraying bans an address at AUTH, never a mailbox known there, one mailbox's
 * failures or a trusted network; the tarpit; the fail2ban
 * filter matches the log line.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { startTestServer, submitAs, type TestServer } from '../helpers/server.ts';
import { ROOT } from '../helpers/cli.ts';
import { apiPost } from '../helpers/api.ts';

let t = Date.now();
const clock = { now: () => t };
const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function server(auth: Record<string, unknown> = {}): Promise<TestServer> {
  const s = await startTestServer({ auth: { failureDelayMs: 0, ...auth } }, { clock });
  servers.push(s);
  await s.addMailbox('alice@example.com', 'alice-secret-1');
  return s;
}

/** One login from a given loopback address: 'ok' or the reply. */
const login = (s: TestServer, from: string, pass: string, user = 'alice@example.com') => submitAs(s, { user, pass, from });

test('10 failures lock the mailbox; an address it logged in from is spared; the lock ends after lockMinutes', async () => {
  const s = await server();
  assert.equal(await login(s, '127.0.1.2', 'alice-secret-1'), 'ok', 'the real user, from home');
  for (let i = 0; i < 10; i++) assert.match(await login(s, '127.0.2.3', `guess-${i}`), /^535 5\.7\.8 Authentication credentials invalid/);
  assert.match(
    await login(s, '127.0.2.3', 'alice-secret-1'),
    /^535 5\.7\.8 Authentication refused: too many failed logins/,
    'locked, even with the right password',
  );
  assert.equal(await login(s, '127.0.1.2', 'alice-secret-1'), 'ok', 'the known address is not locked out');
  // the success from the known address cleared the count, but a new burst locks again
  for (let i = 0; i < 10; i++) await login(s, '127.0.2.3', `again-${i}`);
  assert.match(await login(s, '127.0.2.3', 'alice-secret-1'), /too many failed logins/);
  const lockLine = s.logs.find((l) => l.evt === 'auth' && typeof l.lockedUntil === 'string');
  assert.ok(lockLine, 'the lock is logged with its end');
  t += 29 * 60_000;
  assert.match(await login(s, '127.0.2.3', 'alice-secret-1'), /too many failed logins/, 'still locked after 29 minutes');
  t += 2 * 60_000;
  assert.equal(await login(s, '127.0.2.3', 'alice-secret-1'), 'ok', 'unlocked after 30 minutes');
});

test('postern mailbox unlock ends a lock at once', async () => {
  const s = await server({ maxFailures: 3 });
  for (let i = 0; i < 3; i++) await login(s, '127.0.0.5', `guess-${i}`);
  assert.match(await login(s, '127.0.0.5', 'alice-secret-1'), /too many failed logins/);
  assert.equal((await s.admin.unlock('alice@example.com')).wasLocked, true);
  assert.equal(await login(s, '127.0.0.5', 'alice-secret-1'), 'ok');
});

test('spraying (unknown logins, several mailboxes) bans the address at AUTH with 454 4.7.0 saying until when; a mailbox known on its network still logs in', async () => {
  const s = await server({ ipFailures: 5, ipWindowMinutes: 10, ipBanMinutes: 60 });
  // four unknown logins and one wrong password for alice: four count (one mailbox alone is the lock's business)
  const users = ['nobody@example.com', 'alice@example.com', 'carol@example.com', 'dave@example.com', 'erin@example.com'];
  for (const u of users) assert.match(await login(s, '127.0.0.6', 'wrong-pw-x', u), /^535 /);
  assert.deepEqual(await s.admin.listBans(), []);
  assert.match(await login(s, '127.0.0.6', 'wrong-pw-x', 'frank@example.com'), /^535 /, 'the fifth spraying failure bans');
  const until = new Date(t + 60 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const refused = await login(s, '127.0.0.6', 'alice-secret-1');
  assert.match(refused, /^454 4\.7\.0 Too many failed logins from your address; logins from it are refused until /);
  assert.ok(refused.includes(until), `the reply says when the ban ends (${until}): ${refused}`);
  assert.ok(s.logs.some((l) => l.evt === 'auth' && l.ip === '127.0.0.6' && l.result === 'refused' && l.reason === 'banned'));
  // the connection itself is never refused for a ban
  assert.equal(await login(s, '127.0.8.7', 'alice-secret-1'), 'ok', 'other addresses are not affected');
  const bans = await s.admin.listBans();
  assert.deepEqual(
    bans.map((b) => b.ip),
    ['127.0.0.6'],
  );
  assert.ok(s.logs.some((l) => l.evt === 'ban' && l.ip === '127.0.0.6'));
  // alice logs in once from another address of the same /24 (the office NAT's next address):
  // from then on the ban does not stop her there
  assert.equal(await login(s, '127.0.0.7', 'alice-secret-1'), 'ok');
  assert.equal(await login(s, '127.0.0.6', 'alice-secret-1'), 'ok', 'a mailbox known on the network passes the ban');
  assert.match(await login(s, '127.0.0.6', 'wrong', 'nobody@example.com'), /^454 4\.7\.0 /, 'everyone else is still refused');
  await s.admin.removeBan('127.0.0.6');
  assert.match(await login(s, '127.0.0.6', 'wrong', 'nobody@example.com'), /^535 /, 'the ban is lifted');
});

test('one mailbox failing many times does not ban the address its neighbours share: the mailbox lock applies instead', async () => {
  const s = await server({ ipFailures: 5, maxFailures: 10 });
  await s.addMailbox('bob@example.com', 'bob-secret-22');
  for (let i = 0; i < 12; i++) assert.match(await login(s, '127.0.3.3', `mistyped-${i}`), /^535 /);
  assert.match(await login(s, '127.0.3.3', 'alice-secret-1'), /too many failed logins/, 'alice is locked (PCI DSS 8.3.4)');
  assert.equal(await login(s, '127.0.3.3', 'bob-secret-22', 'bob@example.com'), 'ok', 'bob behind the same address is not banned');
  assert.deepEqual(await s.admin.listBans(), []);
});

test('auth.trustedNetworks (loopback by default) is never banned; its failures still lock a mailbox', async () => {
  const s = await server({ ipFailures: 3, maxFailures: 3, trustedNetworks: ['127.0.9.0/24'] });
  for (const u of ['x@example.com', 'y@example.com', 'z@example.com', 'w@example.com']) await login(s, '127.0.9.1', 'wrong', u);
  for (let i = 0; i < 3; i++) await login(s, '127.0.9.1', `guess-${i}`);
  assert.deepEqual(await s.admin.listBans(), [], 'the webmail host is not banned');
  assert.match(await login(s, '127.0.9.1', 'alice-secret-1'), /too many failed logins/, 'the account lock keeps its rules');
  const { parseConfig } = await import('../../src/config/index.ts');
  assert.deepEqual(parseConfig({}).auth.trustedNetworks, ['127.0.0.0/8', '::1']);
});

test('failures in separate windows do not add up to a ban', async () => {
  const s = await server({ ipFailures: 3, ipWindowMinutes: 10 });
  await login(s, '127.0.0.8', 'wrong-1', 'x@example.com');
  await login(s, '127.0.0.8', 'wrong-2', 'y@example.com');
  t += 11 * 60_000; // a new window
  await login(s, '127.0.0.8', 'wrong-3', 'z@example.com');
  assert.equal(await login(s, '127.0.0.8', 'alice-secret-1'), 'ok');
});

test('tarpit: a failed login is answered only after failureDelayMs', async () => {
  const s = await server({ failureDelayMs: 400 });
  const started = Date.now();
  assert.match(await login(s, '127.0.0.9', 'wrong-password'), /^535 /);
  assert.ok(Date.now() - started >= 380, `answered after ${Date.now() - started} ms`);
});

test('contrib/fail2ban: the filter matches the failure log line and finds the address', async () => {
  const conf = fs.readFileSync(`${ROOT}/contrib/fail2ban/filter.d/postern.conf`, 'utf8');
  const failregex = /^failregex = (.*)$/m.exec(conf)![1]!;
  const re = new RegExp(failregex.replace('<HOST>', '(?<host>[0-9a-fA-F.:]+)'));
  const s = await server();
  await login(s, '127.0.0.10', 'wrong-password');
  const line = JSON.stringify(s.logs.find((l) => l.evt === 'auth' && l.result === 'fail' && l.ip === '127.0.0.10'));
  assert.equal(re.exec(line)?.groups?.host, '127.0.0.10', line);
  const ok = JSON.stringify(s.logs.find((l) => l.evt === 'auth' && l.result === 'ok'));
  assert.equal(re.test(ok ?? ''), false);
  assert.ok(net.isIP('127.0.0.10'));
});

test('known by network: another address of the same /24 as a successful login is spared too', async () => {
  const s = await server({ maxFailures: 3 });
  assert.equal(await login(s, '127.0.5.10', 'alice-secret-1'), 'ok');
  for (let i = 0; i < 3; i++) await login(s, '127.0.6.1', `guess-${i}`);
  assert.match(await login(s, '127.0.6.1', 'alice-secret-1'), /too many failed logins/);
  assert.equal(await login(s, '127.0.5.99', 'alice-secret-1'), 'ok', 'same /24 as the earlier success (a new dynamic address)');
});

test('a known network is spared only up to knownIpMaxFailures failures (a co-tenant on a shared address cannot guess forever)', async () => {
  const s = await server({ maxFailures: 3, knownIpMaxFailures: 5 });
  assert.equal(await login(s, '127.0.7.1', 'alice-secret-1'), 'ok', 'the shared web server logged in once');
  for (let i = 0; i < 5; i++) assert.match(await login(s, '127.0.7.2', `neighbour-guess-${i}`), /credentials invalid/);
  assert.match(await login(s, '127.0.7.2', 'alice-secret-1'), /too many failed logins/, 'no longer spared: the lock applies');
  await s.admin.unlock('alice@example.com');
  assert.equal(await login(s, '127.0.7.2', 'alice-secret-1'), 'ok', 'unlocked, a success spares the network again');
});

test('send API of a banned address: a right site token still sends; a wrong one, or a login not known there, gets 429 saying until when', async () => {
  const s = await server({ ipFailures: 3 });
  const site = (await s.admin.addSite('shop', { customer: 'acme', sendAs: ['alice@example.com'] })).token;
  for (const u of ['a@example.com', 'b@example.com', 'c@example.com']) await login(s, '127.0.0.1', 'wrong', u);
  assert.deepEqual(
    (await s.admin.listBans()).map((b) => b.ip),
    ['127.0.0.1'],
  );
  const body = 'From: alice@example.com\r\nTo: x@remote.test\r\nSubject: s\r\n\r\nhi\r\n';
  const sent = await apiPost(s, { auth: { token: site }, body });
  assert.equal(sent.status, 202, JSON.stringify(sent.json));
  const bad = await apiPost(s, { auth: { token: 'pst_not-a-real-token' }, body });
  assert.equal(bad.status, 429);
  assert.match(String(bad.json.detail), /refused until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
  assert.ok(Number(bad.headers['retry-after']) > 0);
  const mailbox = await apiPost(s, { auth: { user: 'alice@example.com', pass: 'alice-secret-1' }, body });
  assert.equal(mailbox.status, 429, 'alice never logged in from this network');
});
