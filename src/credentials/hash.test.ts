import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword, generatePassword, dummyPasswordHash } from './hash.ts';

test('an argon2id hash verifies its password and nothing else', async () => {
  const h = await hashPassword('s3cret-Passw0rd');
  assert.match(h, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.ok(!h.includes('s3cret-Passw0rd'));
  assert.equal(await verifyPassword(h, 's3cret-Passw0rd'), true);
  assert.equal(await verifyPassword(h, 's3cret-passw0rd'), false);
  assert.equal(await verifyPassword(h, ''), false);
  assert.equal(await verifyPassword(h, 's3cret-Passw0rd '), false);
});

test('the same password hashes differently each time (salt), both verify', async () => {
  const a = await hashPassword('same password');
  const b = await hashPassword('same password');
  assert.notEqual(a, b);
  assert.equal(await verifyPassword(a, 'same password'), true);
  assert.equal(await verifyPassword(b, 'same password'), true);
});

test('non-ASCII passwords work', async () => {
  const h = await hashPassword('pässwörd-ü-€-🔑');
  assert.equal(await verifyPassword(h, 'pässwörd-ü-€-🔑'), true);
  assert.equal(await verifyPassword(h, 'passwörd-ü-€-🔑'), false);
});

test('a Dovecot-style {ARGON2ID} prefix is understood', async () => {
  const h = await hashPassword('prefixed-pw');
  assert.equal(await verifyPassword(`{ARGON2ID}${h}`, 'prefixed-pw'), true);
  assert.equal(await verifyPassword(`{ARGON2ID}${h}`, 'other'), false);
});

test('unknown schemes and broken hashes never verify', async () => {
  for (const stored of [
    'plain-password',
    '{PLAIN}plain-password',
    '$1$saltsalt$qjXMvbEw8oaL.CzflDugX/', // md5-crypt
    '$6$rounds=5000$salt$abc',
    '$argon2id$v=19$m=19456,t=2,p=1$broken',
    '$argon2id$',
    '',
  ]) {
    assert.equal(await verifyPassword(stored, 'plain-password'), false, stored);
  }
});

test('generatePassword: 24 characters from the look-alike-free alphabet, different every time', () => {
  const alphabet = /^[abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789]{24}$/;
  const seen = new Set<string>();
  const used = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const p = generatePassword();
    assert.equal(p.length, 24);
    assert.match(p, alphabet);
    assert.doesNotMatch(p, /[l1IO0]/);
    seen.add(p);
    for (const c of p) used.add(c);
  }
  assert.equal(seen.size, 300, 'no repeats');
  // 7200 draws from 57 symbols: every symbol shows up (a broken modulo would skip some)
  assert.equal(used.size, 57);
});

test('the dummy hash used for unknown logins is an argon2id hash that a guess does not verify', async () => {
  const h = await dummyPasswordHash();
  assert.match(h, /^\$argon2id\$/);
  assert.equal(await dummyPasswordHash(), h, 'computed once');
  assert.equal(await verifyPassword(h, ''), false);
  assert.equal(await verifyPassword(h, 'password'), false);
});
