/** TOTP against the test vectors of RFC 6238 (appendix B) and RFC 4226 (appendix D), base32 (RFC 4648), and recovery codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  base32Decode,
  base32Encode,
  hotp,
  matchStep,
  newRecoveryCodes,
  newTotpSecret,
  otpauthUri,
  recoveryHash,
  stepOf,
  totp,
} from './totp.ts';

const SHA1 = Buffer.from('12345678901234567890');
const SHA256 = Buffer.from('12345678901234567890123456789012');
const SHA512 = Buffer.from('1234567890123456789012345678901234567890123456789012345678901234');

test('RFC 6238 appendix B: every time and algorithm, 8 digits', () => {
  const vectors: [number, string, string, string][] = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];
  for (const [t, s1, s256, s512] of vectors) {
    assert.equal(totp(SHA1, t * 1000, 8, 'sha1'), s1, `SHA1 at ${t}`);
    assert.equal(totp(SHA256, t * 1000, 8, 'sha256'), s256, `SHA256 at ${t}`);
    assert.equal(totp(SHA512, t * 1000, 8, 'sha512'), s512, `SHA512 at ${t}`);
  }
});

test('RFC 4226 appendix D: HOTP of counters 0-9, 6 digits', () => {
  const want = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  assert.deepEqual(
    want.map((_, i) => hotp(SHA1, i)),
    want,
  );
});

test('base32 (RFC 4648 test vectors) and back', () => {
  const v: [string, string][] = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ];
  for (const [plain, enc] of v) {
    assert.equal(base32Encode(Buffer.from(plain)), enc);
    assert.equal(base32Decode(`${enc.toLowerCase()}===`)!.toString(), plain);
  }
  assert.equal(base32Decode('not base32!'), null);
  const s = newTotpSecret();
  assert.match(s, /^[A-Z2-7]{32}$/, '160 bits');
  assert.equal(base32Decode(s)!.length, 20);
});

test('matchStep: the current step and one either side, which step it was; nothing else', () => {
  const at = 1111111111 * 1000;
  const step = stepOf(at);
  assert.equal(matchStep(SHA1, totp(SHA1, at), at), step);
  assert.equal(matchStep(SHA1, totp(SHA1, at - 30_000), at), step - 1, 'a code of the previous step (a slow typist, a clock behind)');
  assert.equal(matchStep(SHA1, totp(SHA1, at + 30_000), at), step + 1);
  assert.equal(matchStep(SHA1, totp(SHA1, at - 90_000), at), null, 'too old');
  assert.equal(matchStep(SHA1, ` ${totp(SHA1, at).slice(0, 3)} ${totp(SHA1, at).slice(3)} `, at), step, 'spaces are ignored');
  for (const bad of ['', '12345', '1234567', 'abcdef']) assert.equal(matchStep(SHA1, bad, at), null, bad);
});

test('otpauth URI and recovery codes', () => {
  assert.equal(
    otpauthUri('Postern mx.example', 'panel', 'JBSWY3DPEHPK3PXP'),
    'otpauth://totp/Postern%20mx.example:panel?secret=JBSWY3DPEHPK3PXP&issuer=Postern%20mx.example&algorithm=SHA1&digits=6&period=30',
  );
  const codes = newRecoveryCodes();
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  for (const c of codes) assert.match(c, /^[a-z2-7]{5}-[a-z2-7]{5}$/);
  assert.equal(
    recoveryHash(codes[0]!),
    recoveryHash(` ${codes[0]!.toUpperCase().replace('-', '')} `),
    'typed without the dash, in capitals',
  );
  assert.notEqual(recoveryHash(codes[0]!), recoveryHash(codes[1]!));
});
