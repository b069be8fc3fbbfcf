/**
 * Site tokens: 32 random bytes, shown once as "pst_" + base64url. Only their SHA-256 is
 * stored: a token has 256 bits of entropy, so a fast hash cannot be brute-forced, and a
 * lookup by hash stays one indexed query per message.
 */
import { createHash, randomBytes } from 'node:crypto';

export const SITE_TOKEN_PREFIX = 'pst_';
const SHAPE = /^pst_[A-Za-z0-9_-]{43}$/;

export function newSiteToken(): string {
  return SITE_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Looks like a site token (cheap check before any lookup). */
export function isSiteToken(s: string): boolean {
  return SHAPE.test(s);
}

export function siteTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
