import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStoredHash, verifyStoredHash, needsRehash } from './schemes.ts';
import { md5Crypt, shaCrypt } from './crypt.ts';

// Published test vectors: Ulrich Drepper's SHA-crypt specification, the MD5-crypt vector quoted
// by passlib and reproduced by `openssl passwd -1`, Openwall's crypt_blowfish test vectors, the
// Argon2 reference implementation's test.c. The salted SHA ones were made with `doveadm pw`
// (Dovecot's own implementation, not Postern's).
const VECTORS: [string, string][] = [
  ['$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5', 'Hello world!'],
  ['$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA', 'Hello world!'],
  ['$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5', 'This is just a test'],
  ['$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1', 'Hello world!'],
  [
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
    'Hello world!',
  ],
  [
    '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1',
    'a very much longer text to encrypt.  This one even stretches over morethan one line.',
  ],
  ['$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/', 'password'],
  ['{MD5-CRYPT}$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/', 'password'],
  ['$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'U*U'],
  ['$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK', 'U*U*'],
  ['$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a', 'U*U*U'],
  ['$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'U*U'],
  ['{BLF-CRYPT}$2y$05$ZvKcB4be0Z5YTa0.d4UR8.MIa82OfS19ywGjbWg0xQPgVS8.s2qUm', 'Hello world!'],
  ['$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA', 'password'],
  ['{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$vKkZXjxI+v2oWta+pdAq5A$UI77qurtHW5tqhjKsigY2NqKG3DFfjzilhUvOOSoQuY', 'Hello world!'],
  ['$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', 'password'],
  ['{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$iGmP72BxPYQDQirEDMXj4Q$XuD9dCs39CvRsMyZKq6Mjp3p9mkQ3SPIiUupxT43hrg', 'Hello world!'],
  ['{SSHA}8I2cJX/nRVbPAeEFa/DqpxcdGmNAjRC2', 'Hello world!'],
  ['{SSHA256}HsxFzabnHNqzL/ZugfIG+SIN2qf1vAVxLitqCkFrMG0VnXsW', 'Hello world!'],
  ['{SSHA512}NyMqtQyq9KfFIPrBFFN1dGBiqvhy2Dc3LzEnYZzXu9EsrQvBCzDvP49iKHYXcYLmKsRey3pidi+CGhgqmdIoZz+59Pw=', 'Hello world!'],
];

test('every scheme verifies its published test vector and refuses a near miss', async () => {
  for (const [hash, password] of VECTORS) {
    assert.equal(await verifyStoredHash(hash, password), true, hash);
    assert.equal(await verifyStoredHash(hash, password.slice(0, -1)), false, `${hash} minus a character`);
    assert.equal(await verifyStoredHash(hash, password.toUpperCase() + '!'), false, `${hash} altered`);
  }
});

test('SHA-crypt and MD5-crypt rebuild the exact strings of the specifications', () => {
  assert.equal(shaCrypt(5, 'Hello world!', 'saltstring'), VECTORS[0]![0]);
  assert.equal(shaCrypt(6, 'Hello world!', 'rounds=10000$saltstringsaltstring'), VECTORS[4]![0]);
  // rounds below 1000 are raised to 1000 (the specification's minimum)
  assert.equal(
    shaCrypt(5, 'the minimum number is still observed', 'rounds=10$roundstoolow'),
    '$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC',
  );
  assert.equal(md5Crypt('password', 'saltsalt'), '$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/');
});

test('scheme detection: prefixed and bare hashes, and what an import must refuse', () => {
  const ok = (s: string) => {
    const p = parseStoredHash(s);
    assert.ok(p.ok, s);
    return p.ok ? p.scheme : null;
  };
  assert.equal(ok('{SHA512-CRYPT}' + VECTORS[3]![0]), 'SHA512-CRYPT');
  assert.equal(ok(VECTORS[0]![0]), 'SHA256-CRYPT');
  assert.equal(ok('{CRYPT}' + VECTORS[3]![0]), 'SHA512-CRYPT');
  assert.equal(ok('{blf-crypt}$2y$05$ZvKcB4be0Z5YTa0.d4UR8.MIa82OfS19ywGjbWg0xQPgVS8.s2qUm'), 'BLF-CRYPT');
  const refused = (s: string, why: RegExp) => {
    const p = parseStoredHash(s);
    assert.ok(!p.ok, s);
    assert.match(p.ok ? '' : p.error, why);
  };
  refused('{PLAIN}secret', /plain-text/);
  refused('{CLEARTEXT}secret', /plain-text/);
  refused('secret', /not a recognised/);
  refused('{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==', /unknown password scheme \{MD5\}/);
  refused('{SHA512-CRYPT}' + VECTORS[0]![0], /broken \{SHA512-CRYPT\}/);
  refused('{SSHA}c2hvcnQ=', /broken \{SSHA\}/);
  refused('!$6$locked', /locked/);
  refused('*', /locked/);
  refused('', /no password hash/);
});

test('broken and unknown hashes never verify', async () => {
  for (const s of ['{PLAIN}pw', 'pw', '$6$x$short', '$2y$05$tooshort', '{SSHA}!!!!', '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=']) {
    assert.equal(await verifyStoredHash(s, 'pw'), false, s);
  }
});

test('only argon2id hashes stay; every other verified hash is replaced at login', () => {
  assert.equal(needsRehash('$argon2id$v=19$m=19456,t=2,p=1$abc$def'), false);
  for (const [hash] of VECTORS.filter(([h]) => !h.startsWith('$argon2id$'))) assert.equal(needsRehash(hash), true, hash);
});
