/** The embedded default: a self-signed ECDSA P-256 certificate made on first start. */
import fs from 'node:fs';
import path from 'node:path';
import { webcrypto, X509Certificate } from 'node:crypto';

export interface CertFiles {
  cert: string;
  key: string;
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Returns the paths of the self-signed pair in dir, creating it when missing. */
export async function ensureSelfSigned(dir: string, hostname: string): Promise<CertFiles & { created: boolean }> {
  const files = { cert: path.join(dir, 'selfsigned-cert.pem'), key: path.join(dir, 'selfsigned-key.pem') };
  if (fs.existsSync(files.cert) && fs.existsSync(files.key)) return { ...files, created: false };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Loaded only when a certificate must be made: @peculiar/x509 needs the reflect polyfill.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=${hostname}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 10 * 365 * 86_400_000),
    signingAlgorithm: alg,
    keys: keys as unknown as CryptoKeyPair,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: hostname }]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  fs.writeFileSync(files.key, toPem(pkcs8, 'PRIVATE KEY'), { mode: 0o600 });
  fs.writeFileSync(files.cert, cert.toString('pem') + '\n', { mode: 0o644 });
  return { ...files, created: true };
}

export function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}
