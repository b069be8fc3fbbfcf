import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkConfig } from './check.ts';
import { parseConfig } from './load.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-check-'));
const file = (name: string) => path.join(dir, name);

/** A self-signed P-256 pair valid from notBefore to notAfter (default: now for 30 days). */
async function pair(
  name: string,
  notBefore = new Date(Date.now() - 60_000),
  notAfter = new Date(Date.now() + 30 * 86_400_000),
): Promise<void> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}.example`,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys: keys as unknown as CryptoKeyPair,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  fs.writeFileSync(file(`${name}.key`), `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`);
  fs.writeFileSync(file(`${name}.crt`), cert.toString('pem') + '\n');
}

before(async () => {
  await pair('good');
  await pair('other');
  await pair('old', new Date('2020-01-01T00:00:00Z'), new Date('2020-02-01T00:00:00Z'));
  fs.writeFileSync(file('junk.pem'), 'not a certificate\n');
});

const base = {
  dataDir: dir,
  hostname: 'mail.provider.example',
  listeners: [{ role: 'submission', port: 587, host: '127.0.0.1' }],
  web: { port: 8443, host: '127.0.0.1' },
};
const check = (extra: Record<string, unknown>) => checkConfig(parseConfig({ ...base, ...extra }));
const keys = (f: { key: string }[]) => f.map((x) => x.key);

test('a good certificate pair, distinct ports and a writable data folder: nothing found', () => {
  const r = check({ tls: { cert: file('good.crt'), key: file('good.key') } });
  assert.deepEqual(r, { errors: [], warnings: [] });
});

test('missing or unreadable certificate and key files are errors with their key paths', () => {
  const r = check({ tls: { cert: file('absent.crt'), key: file('absent.key') } });
  assert.deepEqual(keys(r.errors), ['tls.cert', 'tls.key']);
  assert.match(r.errors[0]!.message, /cannot read .*absent\.crt: ENOENT/);
  const junk = check({ tls: { cert: file('junk.pem'), key: file('good.key') } });
  assert.deepEqual(keys(junk.errors), ['tls.cert']);
  assert.match(junk.errors[0]!.message, /not a PEM certificate/);
});

test("a key that is not the certificate's is an error; an expired certificate a warning", () => {
  const mismatch = check({ tls: { cert: file('good.crt'), key: file('other.key') } });
  assert.deepEqual(keys(mismatch.errors), ['tls.key']);
  assert.match(mismatch.errors[0]!.message, /not the key of the certificate/);
  const expired = check({ tls: { cert: file('old.crt'), key: file('old.key') } });
  assert.deepEqual(expired.errors, []);
  assert.deepEqual(keys(expired.warnings), ['tls.cert']);
  assert.match(expired.warnings[0]!.message, /expired on 2020-02-01/);
  const sni = check({ tls: { sni: { 'mail.customer.example': { cert: file('good.crt'), key: file('other.key') } } } });
  assert.deepEqual(keys(sni.errors), ['tls.sni.mail.customer.example.key']);
});

test('two listeners, or a listener and web.port, on one address and port are errors', () => {
  const r = check({
    listeners: [
      { role: 'submission', port: 587 },
      { role: 'submissions', port: 587, host: '127.0.0.1' },
      { role: 'mx', port: 8443, host: '127.0.0.1' },
      { role: 'submission', port: 2525, host: '127.0.0.2' },
    ],
    web: { port: 8443, host: '127.0.0.1' },
  });
  assert.deepEqual(keys(r.errors), ['listeners[1].port', 'web.port']);
  assert.match(r.errors[0]!.message, /port 587 on 127\.0\.0\.1 is also taken by listeners\[0\]\.port \(submission listener on ::\)/);
  // port 0 (a free port each) never clashes, and a disabled web listener binds nothing
  assert.deepEqual(
    check({
      listeners: [
        { role: 'submission', port: 0 },
        { role: 'mx', port: 0 },
      ],
      web: { enabled: false, port: 587 },
    }).errors,
    [],
  );
});

test('a data folder that cannot be written is an error; a missing one is made in a writable parent', () => {
  const file0 = file('a-file');
  fs.writeFileSync(file0, '');
  assert.deepEqual(keys(check({ dataDir: path.join(file0, 'data') }).errors), ['dataDir']);
  assert.deepEqual(check({ dataDir: path.join(dir, 'not', 'yet') }).errors, []);
  if (process.getuid?.() !== 0) {
    // root writes anywhere
    const ro = file('ro');
    fs.mkdirSync(ro, { mode: 0o500 });
    assert.deepEqual(keys(check({ dataDir: ro }).errors), ['dataDir']);
  }
});

test('a host name without a dot is a warning', () => {
  assert.deepEqual(keys(check({ hostname: 'vm' }).warnings), ['hostname']);
});
