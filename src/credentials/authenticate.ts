/** Checking a login: mailbox lookup, status, cached or full password verification. */
import type { MailboxRepo, Mailbox } from '../store/index.ts';
import { addressKey } from '../core/index.ts';
import type { LoginCache } from './cache.ts';
import { verifyPassword, dummyPasswordHash } from './hash.ts';

export type AuthResult =
  | { ok: true; mailbox: Mailbox; cached: boolean }
  | { ok: false; reason: 'unknown' | 'bad-password' | 'suspended'; mailbox?: Mailbox };

export interface Authenticator {
  authenticate(login: string, password: string): Promise<AuthResult>;
}

export function createAuthenticator(deps: { mailboxes: MailboxRepo; cache: LoginCache }): Authenticator {
  return {
    async authenticate(login, password) {
      const key = addressKey(login);
      // The store is read on every login (cheap), so a suspension or a password change made by
      // the CLI in another process takes effect at once, cache or not.
      const mailbox = key ? await deps.mailboxes.get(key) : null;
      if (!mailbox) {
        await verifyPassword(await dummyPasswordHash(), password); // same cost as a wrong password
        return { ok: false, reason: 'unknown' };
      }
      const cached = deps.cache.check(key!, password, mailbox.id, mailbox.credentialVersion);
      const valid = cached || (await verifyPassword(mailbox.passwordHash, password));
      if (!valid) return { ok: false, reason: 'bad-password', mailbox };
      // Suspension is told only to someone who knows the password.
      if (mailbox.status !== 'active') return { ok: false, reason: 'suspended', mailbox };
      if (!cached) deps.cache.remember(key!, password, mailbox.id, mailbox.credentialVersion);
      return { ok: true, mailbox, cached };
    },
  };
}
