/** Conformance cases: mailboxes from elsewhere (import, Dovecot), the rehash at login, app passwords. */
import assert from 'node:assert/strict';
import { conflict, seed, type Case } from './harness.ts';

export const appPasswordCases: Case[] = [
  {
    name: 'mailboxes: source and imported hash; a re-import bumps the version; rehash only replaces the expected hash, without a bump',
    async run({ store, open }) {
      const { acme, ex, alice } = await seed(store);
      assert.equal(alice.source, 'postern');
      assert.equal(alice.importedHash, null);
      assert.equal(alice.appPasswordsOnly, false);
      const bob = await store.mailboxes.add({
        address: 'bob@example.com',
        domainId: ex.id,
        customerId: acme.id,
        passwordHash: '$6$a$b',
        source: 'import',
        importedHash: '$6$a$b',
      });
      assert.equal(bob.source, 'import');
      assert.equal(bob.importedHash, '$6$a$b');
      const dove = await store.mailboxes.add({
        address: 'dove@example.com',
        domainId: ex.id,
        customerId: acme.id,
        passwordHash: '',
        source: 'dovecot',
      });
      assert.equal((await store.mailboxes.get(dove.address))!.source, 'dovecot');

      assert.equal(await store.mailboxes.rehash(bob.id, 'not-the-hash', '$argon2id$new'), false);
      assert.equal(await store.mailboxes.rehash(bob.id, '$6$a$b', '$argon2id$new'), true);
      const rehashed = (await store.mailboxes.get('bob@example.com'))!;
      assert.equal(rehashed.passwordHash, '$argon2id$new');
      assert.equal(rehashed.importedHash, '$6$a$b', 'the imported hash stays for the next import to compare');
      assert.equal(rehashed.credentialVersion, bob.credentialVersion, 'the same password: no bump');
      assert.equal(
        await store.mailboxes.rehash(bob.id, '$6$a$b', '$argon2id$other'),
        false,
        'a second node rehashing the same login loses quietly',
      );

      const re = (await store.mailboxes.importHash('bob@example.com', '$6$c$d'))!;
      assert.equal(re.passwordHash, '$6$c$d');
      assert.equal(re.importedHash, '$6$c$d');
      assert.equal(re.credentialVersion, bob.credentialVersion + 1);
      assert.equal((await (await open()).mailboxes.get('bob@example.com'))!.passwordHash, '$6$c$d', 'seen from another node');
      assert.equal(await store.mailboxes.importHash('nobody@example.com', 'x'), null);
    },
  },
  {
    name: 'mailboxes: app passwords only, on and off; a no-op bumps nothing',
    async run({ store }) {
      const { alice } = await seed(store);
      const on = (await store.mailboxes.setAppPasswordsOnly(alice.address, true))!;
      assert.equal(on.appPasswordsOnly, true);
      assert.equal(on.credentialVersion, alice.credentialVersion + 1);
      assert.equal((await store.mailboxes.setAppPasswordsOnly(alice.address, true))!.credentialVersion, on.credentialVersion);
      const off = (await store.mailboxes.setAppPasswordsOnly(alice.address, false))!;
      assert.equal(off.appPasswordsOnly, false);
      assert.equal(await store.mailboxes.setAppPasswordsOnly('nobody@example.com', true), null);
    },
  },
  {
    name: 'app passwords: add, list, byHash scoped to the mailbox, name conflict, used, revoke, gone with the mailbox',
    async run({ store, open }) {
      const { acme, ex, alice } = await seed(store);
      const bob = await store.mailboxes.add({ address: 'bob@example.com', domainId: ex.id, customerId: acme.id, passwordHash: 'h2' });
      const phone = await store.appPasswords.add({ mailboxId: alice.id, name: 'phone', tokenHash: 'h-phone' });
      assert.deepEqual(phone, {
        id: phone.id,
        mailboxId: alice.id,
        name: 'phone',
        createdAt: phone.createdAt,
        lastUsedAt: null,
        lastIp: null,
      });
      const laptop = await store.appPasswords.add({ mailboxId: alice.id, name: 'laptop', tokenHash: 'h-laptop' });
      await store.appPasswords.add({ mailboxId: bob.id, name: 'phone', tokenHash: 'h-bob-phone' });
      await conflict(store.appPasswords.add({ mailboxId: alice.id, name: 'phone', tokenHash: 'h-again' }), /phone/);
      assert.deepEqual(
        (await store.appPasswords.list(alice.id)).map((a) => a.name),
        ['phone', 'laptop'],
      );
      assert.equal((await store.appPasswords.byHash(alice.id, 'h-laptop'))!.id, laptop.id);
      assert.equal(await store.appPasswords.byHash(bob.id, 'h-laptop'), null, "another mailbox's app password is not this one's");
      await store.appPasswords.used(phone.id, 42_000, '192.0.2.7');
      const seen = (await (await open()).appPasswords.byHash(alice.id, 'h-phone'))!;
      assert.equal(seen.lastUsedAt, 42_000);
      assert.equal(seen.lastIp, '192.0.2.7');
      assert.equal(await store.appPasswords.revoke(alice.id, 'phone'), true);
      assert.equal(await store.appPasswords.revoke(alice.id, 'phone'), false);
      assert.equal(await store.appPasswords.byHash(alice.id, 'h-phone'), null);
      assert.equal(await store.appPasswords.revoke(bob.id, 'laptop'), false, 'a name of another mailbox');
      await store.mailboxes.remove(alice.address);
      assert.deepEqual(await store.appPasswords.list(alice.id), []);
      assert.equal((await store.appPasswords.list(bob.id)).length, 1);
    },
  },
];
