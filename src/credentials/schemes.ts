/**
 * The password hash schemes Postern verifies: its own argon2id, and those a hosting server's
 * Dovecot (or shadow file) already holds, with or without Dovecot's "{SCHEME}" prefix. Each is
 * verified natively; anything else (plain text, an unknown or unsalted scheme, a broken hash)
 * is refused at import and never verifies.
 */
import { createHash } from 'node:crypto';
import { verify as argon2Verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { sameText, verifyCrypt } from './crypt.ts';

export type HashScheme =
  | 'ARGON2ID'
  | 'ARGON2I'
  | 'SHA512-CRYPT'
  | 'SHA256-CRYPT'
  | 'BLF-CRYPT'
  | 'MD5-CRYPT'
  | 'SSHA512'
  | 'SSHA256'
  | 'SSHA';

/** Digest algorithm and length of the salted SHA schemes (base64 of digest + salt). */
const SSHA: Record<string, { algo: string; size: number }> = {
  SSHA: { algo: 'sha1', size: 20 },
  SSHA256: { algo: 'sha256', size: 32 },
  SSHA512: { algo: 'sha512', size: 64 },
};

const PLAIN_SCHEMES = new Set(['PLAIN', 'CLEARTEXT', 'CLEAR', 'PLAIN-TRUNC', 'PLAIN-MD5', 'PLAIN-MD4']);

/** The scheme of a crypt-style string ($6$..., $2y$..., $argon2id$...), or null. */
function cryptScheme(h: string): HashScheme | null {
  if (/^\$6\$(rounds=\d+\$)?[^$]{1,16}\$[./0-9A-Za-z]{86}$/.test(h)) return 'SHA512-CRYPT';
  if (/^\$5\$(rounds=\d+\$)?[^$]{1,16}\$[./0-9A-Za-z]{43}$/.test(h)) return 'SHA256-CRYPT';
  if (/^\$1\$[^$]{1,8}\$[./0-9A-Za-z]{22}$/.test(h)) return 'MD5-CRYPT';
  if (/^\$2[aby]\$\d\d\$[./0-9A-Za-z]{53}$/.test(h)) return 'BLF-CRYPT';
  if (/^\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(h)) return 'ARGON2ID';
  if (/^\$argon2i\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(h)) return 'ARGON2I';
  return null;
}

export type ParsedHash = { ok: true; scheme: HashScheme; hash: string } | { ok: false; error: string };

/**
 * Reads a stored password as a passwd-file, shadow file or CSV holds it: "{SCHEME}hash" or a
 * bare crypt string. Returns the scheme and the hash as Postern keeps it (a crypt string bare,
 * a salted SHA with its prefix), or why it cannot be used.
 */
export function parseStoredHash(input: string): ParsedHash {
  const text = input.trim();
  if (!text) return { ok: false, error: 'no password hash' };
  if (text === '*' || text.startsWith('!') || text === 'x')
    return { ok: false, error: 'the account has no usable password (locked or disabled)' };
  const m = /^\{([A-Za-z0-9.-]+)\}(.*)$/s.exec(text);
  if (!m) {
    const scheme = cryptScheme(text);
    return scheme
      ? { ok: true, scheme, hash: text }
      : { ok: false, error: 'not a recognised password hash (plain-text passwords are refused)' };
  }
  const name = m[1]!.toUpperCase();
  const body = m[2]!;
  if (PLAIN_SCHEMES.has(name)) return { ok: false, error: `plain-text password ({${name}}) refused: import hashes only` };
  if (name in SSHA) {
    const raw = /^[A-Za-z0-9+/]+={0,2}$/.test(body) ? Buffer.from(body, 'base64') : null;
    if (!raw || raw.length <= SSHA[name]!.size) return { ok: false, error: `broken {${name}} hash (base64 of digest and salt expected)` };
    return { ok: true, scheme: name as HashScheme, hash: `{${name}}${body}` };
  }
  const scheme = cryptScheme(body);
  const expected: Record<string, HashScheme[]> = {
    'SHA512-CRYPT': ['SHA512-CRYPT'],
    'SHA256-CRYPT': ['SHA256-CRYPT'],
    'MD5-CRYPT': ['MD5-CRYPT'],
    CRYPT: ['SHA512-CRYPT', 'SHA256-CRYPT', 'MD5-CRYPT', 'BLF-CRYPT'],
    'BLF-CRYPT': ['BLF-CRYPT'],
    ARGON2ID: ['ARGON2ID'],
    ARGON2I: ['ARGON2I'],
  };
  if (!expected[name]) return { ok: false, error: `unknown password scheme {${name}}` };
  if (!scheme || !expected[name]!.includes(scheme)) return { ok: false, error: `broken {${name}} hash` };
  return { ok: true, scheme, hash: body };
}

/** Verifies a password against a hash of any supported scheme (a "{SCHEME}" prefix allowed). Unknown schemes never verify. */
export async function verifyStoredHash(stored: string, password: string): Promise<boolean> {
  const p = parseStoredHash(stored);
  if (!p.ok) return false;
  switch (p.scheme) {
    case 'ARGON2ID':
    case 'ARGON2I':
      try {
        return await argon2Verify(p.hash, password);
      } catch {
        return false;
      }
    case 'BLF-CRYPT':
      try {
        return await bcrypt.compare(password, p.hash); // $2y$ (PHP's and Dovecot's name) is $2b$
      } catch {
        return false;
      }
    case 'SHA512-CRYPT':
    case 'SHA256-CRYPT':
    case 'MD5-CRYPT':
      return verifyCrypt(p.hash, password);
    default: {
      const { algo, size } = SSHA[p.scheme]!;
      const raw = Buffer.from(p.hash.slice(p.hash.indexOf('}') + 1), 'base64');
      const digest = createHash(algo).update(password, 'utf8').update(raw.subarray(size)).digest();
      return sameText(digest.toString('hex'), raw.subarray(0, size).toString('hex'));
    }
  }
}

/** True when a verified hash should be replaced by Postern's own argon2id hash of the same password. */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith('$argon2id$');
}
