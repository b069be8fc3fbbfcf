/**
 * DKIM key material: new key pairs (RSA-2048, or Ed25519 per RFC 8463), the public key as the
 * p= value of the DNS record, and selectors that carry the date ("r20261128", "e20261128",
 * "r20261128b" for a second one on the same day).
 */
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import type { DkimAlgorithm } from './records.ts';

export interface NewKeyPair {
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
  publicKey: string;
}

export function generateDkimKey(algorithm: DkimAlgorithm, rsaBits = 2048): NewKeyPair {
  if (algorithm === 'rsa-sha256') {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: rsaBits });
    return {
      algorithm,
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    algorithm,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: rawEd25519(publicKey.export({ type: 'spki', format: 'der' })),
  };
}

/** The raw 32-byte Ed25519 key (the last 32 bytes of its SPKI DER), base64. */
function rawEd25519(spki: Buffer): string {
  return spki.subarray(spki.length - 32).toString('base64');
}

/** The p= value of a private key (to check a stored pair is whole). */
export function publicKeyOf(privateKeyPem: string): string {
  const pub = createPublicKey(privateKeyPem);
  const der = pub.export({ type: 'spki', format: 'der' });
  return pub.asymmetricKeyType === 'ed25519' ? rawEd25519(der) : der.toString('base64');
}

/** A selector for a new key: algorithm letter + UTC date, with a letter suffix when taken. */
export function newSelector(algorithm: DkimAlgorithm, now: number, taken: readonly string[]): string {
  const base = `${algorithm === 'rsa-sha256' ? 'r' : 'e'}${new Date(now).toISOString().slice(0, 10).replace(/-/g, '')}`;
  if (!taken.includes(base)) return base;
  for (let i = 1; i < 26; i++) {
    const s = base + String.fromCharCode(97 + i); // b, c, ...
    if (!taken.includes(s)) return s;
  }
  throw new Error(`too many DKIM keys made on one day for this domain (${base})`);
}
