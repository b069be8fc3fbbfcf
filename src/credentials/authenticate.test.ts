import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSqliteStore } from '../store/sqlite/index.ts';
import type { Store } from '../store/index.ts';
import { createAuthenticator, appPasswordHash } from './authenticate.ts';
import { createLoginCache } from './cache.ts';
import { shaCrypt } from './crypt.ts';

const clock = { now: () => 1_700_000_000_000 };
const policy = {
  maxFailures: 5,
  lockMs: 60_000,
  knownIpMs: 86_400_000,
  ipFailures: 100,
  ipWindowMs: 60_000,
  ipBanMs: 60_000,
  knownMaxFailures: 50,
  sprayAccounts: 5,
  isTrusted: () => false,
};

async function setup(): Promise<{ store: Store; auth: ReturnType<typeof createAuthenticator> }> {
  const store = createSqliteStore({ path: ':memory:' });
  const c = await store.customers.add('acme');
  const d = await store.domains.add('example.com', c.id);
  const imported = shaCrypt(6, 'old-provider-pw', 'Qs4jyRr7uGw1');
  await store.mailboxes.add({
    address: 'ann@example.com',
    domainId: d.id,
    customerId: c.id,
    passwordHash: `{SHA512-CRYPT}${imported}`,
    source: 'import',
    importedHash: imported,
  });
  const auth = createAuthenticator({
    mailboxes: store.mailboxes,
    cache: createLoginCache({ ttlMs: 60_000, maxEntries: 100, clock }),
    guard: store.authGuard,
    policy,
    clock,
    appPasswords: store.appPasswords,
  });
  return { store, auth };
}

test('an imported hash logs in with the old password and is replaced by argon2id of it; the imported hash stays for re-imports', async () => {
  const { store, auth } = await setup();
  assert.equal((await auth.authenticate('ann@example.com', 'wrong-pw', '192.0.2.1')).ok, false);
  assert.match((await store.mailboxes.get('ann@example.com'))!.passwordHash, /^\{SHA512-CRYPT\}/, 'a failure changes nothing');
  const r = await auth.authenticate('ann@example.com', 'old-provider-pw', '192.0.2.1');
  assert.ok(r.ok);
  assert.equal(r.ok && r.via, 'password');
  const m = (await store.mailboxes.get('ann@example.com'))!;
  assert.match(m.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.match(m.importedHash!, /^\$6\$Qs4jyRr7uGw1\$/);
  const fresh = createAuthenticator({ mailboxes: store.mailboxes, cache: createLoginCache({ ttlMs: 0, maxEntries: 0, clock }), clock });
  assert.equal((await fresh.authenticate('ann@example.com', 'old-provider-pw')).ok, true, 'the argon2id hash verifies (no cache)');
  assert.equal((await fresh.authenticate('ann@example.com', 'Old-provider-pw')).ok, false);
  await store.close();
});

test('app passwords: on submission only; "app passwords only" refuses the own password there but not in the console; revocation is immediate', async () => {
  const { store, auth } = await setup();
  const ann = (await store.mailboxes.get('ann@example.com'))!;
  const app = 'k7Qm2ZxR9wPn4TbV8cYs3HdJ';
  await store.appPasswords.add({ mailboxId: ann.id, name: 'phone', tokenHash: appPasswordHash(app) });
  const r = await auth.authenticate('ann@example.com', app, '192.0.2.9');
  assert.ok(r.ok && r.via === 'app-password');
  const used = (await store.appPasswords.list(ann.id))[0]!;
  assert.equal(used.lastUsedAt, clock.now());
  assert.equal(used.lastIp, '192.0.2.9');
  assert.equal(
    (await auth.authenticate('ann@example.com', app, '192.0.2.9', { purpose: 'console' })).ok,
    false,
    'the console wants the own password',
  );

  await store.mailboxes.setAppPasswordsOnly('ann@example.com', true);
  const own = await auth.authenticate('ann@example.com', 'old-provider-pw', '192.0.2.9');
  assert.equal(own.ok, false);
  assert.equal(!own.ok && own.reason, 'bad-password');
  assert.equal((await auth.authenticate('ann@example.com', 'old-provider-pw', '192.0.2.9', { purpose: 'console' })).ok, true);
  assert.equal((await auth.authenticate('ann@example.com', app, '192.0.2.9')).ok, true);

  await store.appPasswords.revoke(ann.id, 'phone');
  assert.equal((await auth.authenticate('ann@example.com', app, '192.0.2.9')).ok, false, 'revoked: refused at once (never cached)');
  await store.mailboxes.setStatus('ann@example.com', 'suspended');
  await store.appPasswords.add({ mailboxId: ann.id, name: 'tablet', tokenHash: appPasswordHash('another-app-password-123') });
  const s = await auth.authenticate('ann@example.com', 'another-app-password-123', '192.0.2.9');
  assert.equal(!s.ok && s.reason, 'suspended', "a suspended mailbox's app passwords do not log in");
  await store.close();
});

test('Dovecot back end: an unhosted domain is never asked; a mailbox made meanwhile decides with its own hash', async () => {
  const { store } = await setup();
  const asked: string[] = [];
  let during: (() => Promise<void>) | null = null;
  const auth = createAuthenticator({
    mailboxes: store.mailboxes,
    cache: createLoginCache({ ttlMs: 60_000, maxEntries: 100, clock }),
    guard: store.authGuard,
    policy,
    clock,
    appPasswords: store.appPasswords,
    dovecot: {
      auth: {
        async check(login, password) {
          asked.push(login);
          await during?.();
          return password === 'dovecot-pw' ? { ok: true, user: login } : { ok: false };
        },
        close() {},
      },
      cache: createLoginCache({ ttlMs: 60_000, maxEntries: 100, clock }),
      domains: store.domains,
      audit: store.audit,
    },
  });
  const r = await auth.authenticate('x@unhosted.example', 'dovecot-pw', '192.0.2.1');
  assert.equal(!r.ok && r.reason, 'unknown');
  assert.deepEqual(asked, [], 'Dovecot is not asked for a domain Postern does not host');

  // an operator adds the mailbox with its own password while Dovecot is answering the first login
  const d = (await store.domains.get('example.com'))!;
  during = async () => {
    during = null;
    await store.mailboxes.add({
      address: 'zoe@example.com',
      domainId: d.id,
      customerId: d.customerId,
      passwordHash: shaCrypt(6, 'operator-pw', 'abcdefgh'),
    });
  };
  const raced = await auth.authenticate('zoe@example.com', 'dovecot-pw', '192.0.2.1');
  assert.equal(raced.ok, false, "the mailbox that exists now has its own password, which is not Dovecot's");
  assert.equal((await store.audit.list({ target: 'zoe@example.com' })).length, 0, 'no Dovecot mailbox was recorded');
  assert.equal((await auth.authenticate('zoe@example.com', 'operator-pw', '192.0.2.1')).ok, true);
  await store.close();
});
