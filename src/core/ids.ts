/** Identifiers: queue ids are time-ordered (sortable) with randomness, safe as file names. */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789BCDFGHJKLMNPQRSTVWXZbcdfghjkmnpqrstvwxz'; // no vowels: no words

function encode(n: bigint, width: number): string {
  const base = BigInt(ALPHABET.length);
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[Number(n % base)] + out;
    n /= base;
  }
  return out;
}

/** A 20-character queue id: 9 characters of milliseconds, then 11 random characters. */
export function newQueueId(nowMs: number = Date.now()): string {
  const rnd = BigInt('0x' + randomBytes(8).toString('hex'));
  return encode(BigInt(nowMs), 9) + encode(rnd, 11);
}

export function isQueueId(s: string): boolean {
  return /^[0-9A-Za-z]{20}$/.test(s);
}
