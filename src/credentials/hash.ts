/** Password hashes: argon2id for new ones; verification recognises the stored scheme. */
import { hash } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { verifyStoredHash } from './schemes.ts';

// OWASP's first argon2id choice: 19 MiB, 2 passes, 1 lane.
const ARGON2_OPTIONS = { algorithm: 2 /* Algorithm.Argon2id (a const enum) */, memoryCost: 19456, timeCost: 2, parallelism: 1 };

export async function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

/** Verifies a password against a stored hash of any supported scheme (schemes.ts). Unknown schemes never verify. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  return verifyStoredHash(stored, password);
}

/** A password to hand out: 24 characters from an alphabet without look-alikes (~137 bits). */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(48);
  let out = '';
  for (const b of bytes) {
    if (b < 4 * alphabet.length) out += alphabet[b % alphabet.length]; // no modulo bias
    if (out.length === 24) break;
  }
  return out.length === 24 ? out : generatePassword();
}

let dummyHash: Promise<string> | null = null;
/** A hash to verify against for unknown logins, so they cost the same time as wrong passwords. */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}
