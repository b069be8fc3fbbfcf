/**
 * Checking a login: mailbox lookup, the brute-force lock, status, cached or full password
 * verification, and the failure counts (per mailbox, per client address).
 *
 * A mailbox is locked after `maxFailures` consecutive failures, but the lock does not apply to
 * client networks (/24, /64) from which it logged in successfully within `knownIpDays`, so an attacker
 * cannot lock the real user out. A locked login is refused without checking the password
 * (nothing is learnt from a guess).
 *
 * A client address is banned for spraying (spray.ts: failures for unknown logins, or across
 * several mailboxes), never for failures from a network known for that very mailbox, and never
 * when it is in auth.trustedNetworks. A ban refuses logins from the address, except a login to
 * a mailbox that logged in successfully from that network before (the office behind a NAT):
 * its password is checked as usual.
 */
import type { MailboxRepo, Mailbox, AuthGuardRepo } from '../store/index.ts';
import { addressKey, clientKey, loginNetwork, type Clock } from '../core/index.ts';
import type { LoginCache } from './cache.ts';
import { verifyPassword, dummyPasswordHash } from './hash.ts';
import { createSprayTracker } from './spray.ts';

export type AuthResult =
  | { ok: true; mailbox: Mailbox; cached: boolean }
  | {
    ok: false; reason: 'unknown' | 'bad-password' | 'suspended' | 'locked' | 'banned'; mailbox?: Mailbox; lockedUntil?: number | null;
    /** This failure banned the address. */
    ipBanned?: boolean;
    /** reason 'banned': when the ban of the client address ends. */
    bannedUntil?: number;
  };

/** What a refused login is told when it is suspended: the mailbox itself, or its customer account (the password was right). */
export function suspendedWhat(mailbox: Mailbox | undefined): 'mailbox' | 'account' {
  return mailbox && mailbox.status === 'active' && mailbox.customerStatus !== 'active' ? 'account' : 'mailbox';
}

export interface Authenticator {
  authenticate(login: string, password: string, clientIp?: string): Promise<AuthResult>;
}

export interface LockoutPolicy {
  maxFailures: number;
  lockMs: number;
  knownIpMs: number;
  ipFailures: number;
  ipWindowMs: number;
  ipBanMs: number;
  /** Failed logins after which a known network is no longer spared (until its next success). */
  knownMaxFailures: number;
  /** Failures for this many different mailboxes from one address count as spraying. */
  sprayAccounts: number;
  /** auth.trustedNetworks: never banned, their failures never count toward a ban. */
  isTrusted(ip: string): boolean;
}

export interface AuthenticatorDeps {
  mailboxes: MailboxRepo;
  cache: LoginCache;
  /** Without a guard (tests of the password path) nothing is counted or locked. */
  guard?: AuthGuardRepo;
  policy?: LockoutPolicy;
  clock?: Clock;
}

export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const now = () => deps.clock?.now() ?? Date.now();
  const spray = deps.policy ? createSprayTracker({ accounts: deps.policy.sprayAccounts, windowMs: deps.policy.ipWindowMs }) : null;
  const bannable = (ip: string | undefined): ip is string => Boolean(ip && deps.guard && deps.policy && !deps.policy.isTrusted(ip));

  async function failed(result: Extract<AuthResult, { ok: false }>, ip: string | undefined, known: boolean): Promise<AuthResult> {
    const { guard, policy } = deps;
    if (!guard || !policy) return result;
    const t = now();
    if (result.mailbox && result.reason === 'bad-password') {
      const s = await guard.recordFailure(result.mailbox.id, t, policy.maxFailures, policy.lockMs);
      result.lockedUntil = s.lockedUntil;
      if (known && ip) await guard.recordKnownFailure(result.mailbox.id, loginNetwork(ip));
    }
    if (bannable(ip) && !known && spray!.counts(clientKey(ip), result.mailbox?.id ?? null, t)) {
      result.ipBanned = await guard.recordIpFailure(clientKey(ip), t, policy.ipWindowMs, policy.ipFailures, policy.ipBanMs);
    }
    return result;
  }

  return {
    async authenticate(login, password, ip) {
      const key = addressKey(login);
      // The store is read on every login (cheap), so a suspension or a password change made by
      // the CLI in another process takes effect at once, cache or not.
      const mailbox = key ? await deps.mailboxes.get(key) : null;
      const t = now();
      const ban = bannable(ip) ? await deps.guard!.banOf(clientKey(ip), t) : null;
      if (!mailbox) {
        if (ban) return { ok: false, reason: 'banned', bannedUntil: ban.bannedUntil };
        await verifyPassword(await dummyPasswordHash(), password); // same cost as a wrong password
        return failed({ ok: false, reason: 'unknown' }, ip, false);
      }
      // known by network (/24, /64): dynamic and privacy addresses of the same line stay known
      const known = Boolean(ip && deps.guard && deps.policy && (await deps.guard.isKnownIp(mailbox.id, loginNetwork(ip), t - deps.policy.knownIpMs, deps.policy.knownMaxFailures)));
      // a banned address may still log in to a mailbox known there; nothing else is checked
      if (ban && !known) return { ok: false, reason: 'banned', mailbox, bannedUntil: ban.bannedUntil };
      if (deps.guard && !known) {
        const s = await deps.guard.loginState(mailbox.id);
        if (s.lockedUntil !== null && s.lockedUntil > t) return failed({ ok: false, reason: 'locked', mailbox, lockedUntil: s.lockedUntil }, ip, known);
      }
      // the creation time is part of the cache key: a mailbox removed and added again (SQLite
      // may give it the same id, and its version starts at 1 again) never matches an old entry
      const cacheKey = `${key!}\0${mailbox.createdAt}`;
      const cached = deps.cache.check(cacheKey, password, mailbox.id, mailbox.credentialVersion);
      const valid = cached || (await verifyPassword(mailbox.passwordHash, password));
      if (!valid) return failed({ ok: false, reason: 'bad-password', mailbox }, ip, known);
      // Suspension (of the mailbox or of its whole customer account) is told only to someone who knows the password.
      if (mailbox.status !== 'active' || mailbox.customerStatus !== 'active') return { ok: false, reason: 'suspended', mailbox };
      if (!cached) deps.cache.remember(cacheKey, password, mailbox.id, mailbox.credentialVersion);
      if (deps.guard && ip) await deps.guard.recordSuccess(mailbox.id, loginNetwork(ip), t);
      return { ok: true, mailbox, cached };
    },
  };
}
