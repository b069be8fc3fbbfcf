/**
 * Verified-login cache. The key is an HMAC of login and password under a random per-process
 * key, so the cache never holds anything that logs in; each entry remembers the mailbox's
 * credential version, and a password change, suspension or resumption bumps that version,
 * which makes the entry useless at once.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../core/index.ts';

interface Entry {
  mailboxId: number;
  credentialVersion: number;
  expiresAt: number;
}

export interface LoginCache {
  /** True when this login+password was verified before for this credential version. */
  check(login: string, password: string, mailboxId: number, credentialVersion: number): boolean;
  remember(login: string, password: string, mailboxId: number, credentialVersion: number): void;
  size(): number;
  /** Forgets every verified login (another node changed mailboxes). */
  clear(): void;
}

export function createLoginCache(opts: { ttlMs: number; maxEntries: number; clock: Clock }): LoginCache {
  const secret = randomBytes(32);
  const entries = new Map<string, Entry>();
  const keyOf = (login: string, password: string) =>
    createHmac('sha256', secret).update(login).update('\0').update(password).digest('base64');
  const enabled = opts.ttlMs > 0 && opts.maxEntries > 0;

  return {
    check(login, password, mailboxId, credentialVersion) {
      if (!enabled) return false;
      const key = keyOf(login, password);
      const e = entries.get(key);
      if (!e) return false;
      if (e.expiresAt <= opts.clock.now() || e.mailboxId !== mailboxId || e.credentialVersion !== credentialVersion) {
        entries.delete(key);
        return false;
      }
      return true;
    },
    remember(login, password, mailboxId, credentialVersion) {
      if (!enabled) return;
      const key = keyOf(login, password);
      entries.delete(key);
      entries.set(key, { mailboxId, credentialVersion, expiresAt: opts.clock.now() + opts.ttlMs });
      while (entries.size > opts.maxEntries) entries.delete(entries.keys().next().value as string);
    },
    size: () => entries.size,
    clear: () => entries.clear(),
  };
}
