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
 *
 * Which secret is checked: on submission, an app password of the mailbox first (only its SHA-256
 * is stored; never cached, so a revocation takes effect at once); then, unless the mailbox is
 * "app passwords only", its own password: a stored hash of any supported scheme (a legacy one is
 * replaced by argon2id once it verified), or, for a mailbox without a hash (made from Dovecot),
 * Dovecot's answer, remembered for at most the Dovecot cache time. An address Postern does not
 * know, at a hosted domain, is asked of Dovecot and becomes a mailbox of the domain's customer
 * when Dovecot accepts it. Dovecot not answering rejects (the caller answers 454).
 */
import { createHash } from 'node:crypto';
import type { MailboxRepo, AuthGuardRepo, AppPasswordRepo, DomainRepo, AuditRepo } from '../store/index.ts';
import { StoreError } from '../store/index.ts';
import { addressKey, clientKey, domainOf, loginNetwork, type Clock, type Mailbox } from '../core/index.ts';
import type { LoginCache } from './cache.ts';
import { verifyPassword, dummyPasswordHash, hashPassword } from './hash.ts';
import { needsRehash } from './schemes.ts';
import type { DovecotAuth } from './dovecot.ts';
import { createSprayTracker } from './spray.ts';

export type AuthResult =
  | { ok: true; mailbox: Mailbox; cached: boolean; via: 'password' | 'app-password' | 'dovecot'; created?: boolean }
  | {
      ok: false;
      reason: 'unknown' | 'bad-password' | 'suspended' | 'locked' | 'banned';
      mailbox?: Mailbox;
      lockedUntil?: number | null;
      /** This failure banned the address. */
      ipBanned?: boolean;
      /** reason 'banned': when the ban of the client address ends. */
      bannedUntil?: number;
    };

/** What a refused login is told when it is suspended: the mailbox itself, or its customer account (the password was right). */
export function suspendedWhat(mailbox: Mailbox | undefined): 'mailbox' | 'account' {
  return mailbox && mailbox.status === 'active' && mailbox.customerStatus !== 'active' ? 'account' : 'mailbox';
}

export interface AuthContext {
  localIp?: string;
  /** The session runs over TLS (told to Dovecot as `secured`). */
  secured?: boolean;
  /** submission (default): app passwords count and "app passwords only" holds; console: the mailbox's own password only. */
  purpose?: 'submission' | 'console';
}

export interface Authenticator {
  authenticate(login: string, password: string, clientIp?: string, ctx?: AuthContext): Promise<AuthResult>;
}

export interface DovecotBackend {
  auth: DovecotAuth;
  /** Dovecot's verified logins, kept for at most auth.dovecot.cacheSeconds (0: none). */
  cache: LoginCache;
  domains: DomainRepo;
  audit: AuditRepo;
}

/** The SHA-256 under which an app password is stored. */
export const appPasswordHash = (password: string): string => createHash('sha256').update(password, 'utf8').digest('base64');

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
  /** App passwords of mailboxes (without: none are checked). */
  appPasswords?: AppPasswordRepo;
  /** Dovecot as the password back end for mailboxes without a hash, and for first logins. */
  dovecot?: DovecotBackend;
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

  /** Dovecot's verdict on an unknown address of a hosted domain: a new mailbox of that domain's customer, or a failure. */
  async function firstLogin(key: string, password: string, ip: string | undefined, ctx: AuthContext): Promise<AuthResult> {
    const dv = deps.dovecot!;
    const domain = await dv.domains.get(domainOf(key)!);
    if (!domain) {
      // a domain Postern does not host: refused whatever Dovecot would say, at the cost of a wrong password
      await verifyPassword(await dummyPasswordHash(), password);
      return failed({ ok: false, reason: 'unknown' }, ip, false);
    }
    const v = await dv.auth.check(key, password, { rip: ip, lip: ctx.localIp, secured: ctx.secured });
    if (!v.ok) return failed({ ok: false, reason: 'unknown' }, ip, false);
    const mailbox = await deps.mailboxes
      .add({ address: key, domainId: domain.id, customerId: domain.customerId, passwordHash: '', source: 'dovecot' })
      .catch((err) => {
        if (err instanceof StoreError && err.kind === 'conflict') return null; // made meanwhile (a parallel login, an operator)
        throw err;
      });
    // the mailbox that exists now decides, with its own rules (its hash, its status, its lock)
    if (!mailbox) return authenticator.authenticate(key, password, ip, ctx);
    await dv.audit.add({
      at: now(),
      actor: 'dovecot',
      action: 'addMailbox',
      target: key,
      before: null,
      after: { address: key, customer: mailbox.customerName, status: mailbox.status, source: 'dovecot', clientIp: ip ?? null },
    });
    dv.cache.remember(`${key}\0${mailbox.createdAt}`, password, mailbox.id, mailbox.credentialVersion);
    if (mailbox.customerStatus !== 'active') return { ok: false, reason: 'suspended', mailbox }; // its account is suspended
    if (deps.guard && ip) await deps.guard.recordSuccess(mailbox.id, loginNetwork(ip), now());
    return { ok: true, mailbox, cached: false, via: 'dovecot', created: true };
  }

  /** The mailbox's own password: its hash, or Dovecot for a mailbox without one. */
  async function ownPassword(
    mailbox: Mailbox,
    cacheKey: string,
    password: string,
    ip: string | undefined,
    ctx: AuthContext,
  ): Promise<{ valid: boolean; cached: boolean }> {
    if (!mailbox.passwordHash) {
      const dv = deps.dovecot;
      if (!dv) return { valid: false, cached: false };
      if (dv.cache.check(cacheKey, password, mailbox.id, mailbox.credentialVersion)) return { valid: true, cached: true };
      const v = await dv.auth.check(mailbox.address, password, { rip: ip, lip: ctx.localIp, secured: ctx.secured });
      if (v.ok) dv.cache.remember(cacheKey, password, mailbox.id, mailbox.credentialVersion);
      return { valid: v.ok, cached: false };
    }
    if (deps.cache.check(cacheKey, password, mailbox.id, mailbox.credentialVersion)) return { valid: true, cached: true };
    const valid = await verifyPassword(mailbox.passwordHash, password);
    if (valid) {
      deps.cache.remember(cacheKey, password, mailbox.id, mailbox.credentialVersion);
      // an imported hash gives way to argon2id of the same password; a lost race or a store
      // hiccup only leaves the old (still valid) hash for the next login to replace
      if (needsRehash(mailbox.passwordHash)) {
        await deps.mailboxes.rehash(mailbox.id, mailbox.passwordHash, await hashPassword(password)).catch(() => false);
      }
    }
    return { valid, cached: false };
  }

  const authenticator: Authenticator = {
    async authenticate(login, password, ip, ctx = {}) {
      const key = addressKey(login);
      // The store is read on every login (cheap), so a suspension or a password change made by
      // the CLI in another process takes effect at once, cache or not.
      const mailbox = key ? await deps.mailboxes.get(key) : null;
      const t = now();
      const ban = bannable(ip) ? await deps.guard!.banOf(clientKey(ip), t) : null;
      if (!mailbox) {
        if (ban) return { ok: false, reason: 'banned', bannedUntil: ban.bannedUntil };
        if (key && deps.dovecot) return firstLogin(key, password, ip, ctx);
        await verifyPassword(await dummyPasswordHash(), password); // same cost as a wrong password
        return failed({ ok: false, reason: 'unknown' }, ip, false);
      }
      // known by network (/24, /64): dynamic and privacy addresses of the same line stay known
      const known = Boolean(
        ip &&
          deps.guard &&
          deps.policy &&
          (await deps.guard.isKnownIp(mailbox.id, loginNetwork(ip), t - deps.policy.knownIpMs, deps.policy.knownMaxFailures)),
      );
      // a banned address may still log in to a mailbox known there; nothing else is checked
      if (ban && !known) return { ok: false, reason: 'banned', mailbox, bannedUntil: ban.bannedUntil };
      if (deps.guard && !known) {
        const s = await deps.guard.loginState(mailbox.id);
        if (s.lockedUntil !== null && s.lockedUntil > t)
          return failed({ ok: false, reason: 'locked', mailbox, lockedUntil: s.lockedUntil }, ip, known);
      }
      const submission = (ctx.purpose ?? 'submission') === 'submission';
      let via: 'password' | 'app-password' | 'dovecot' = mailbox.passwordHash ? 'password' : 'dovecot';
      let valid = false;
      let cached = false;
      const app = submission && deps.appPasswords ? await deps.appPasswords.byHash(mailbox.id, appPasswordHash(password)) : null;
      if (app) {
        valid = true;
        via = 'app-password';
      } else if (!(submission && mailbox.appPasswordsOnly)) {
        // the creation time is part of the cache key: a mailbox removed and added again (SQLite
        // may give it the same id, and its version starts at 1 again) never matches an old entry
        ({ valid, cached } = await ownPassword(mailbox, `${key!}\0${mailbox.createdAt}`, password, ip, ctx));
      }
      if (!valid) return failed({ ok: false, reason: 'bad-password', mailbox }, ip, known);
      // Suspension (of the mailbox or of its whole customer account) is told only to someone who knows the password.
      if (mailbox.status !== 'active' || mailbox.customerStatus !== 'active') return { ok: false, reason: 'suspended', mailbox };
      if (app) await deps.appPasswords!.used(app.id, t, ip ?? null);
      if (deps.guard && ip) await deps.guard.recordSuccess(mailbox.id, loginNetwork(ip), t);
      return { ok: true, mailbox, cached, via };
    },
  };
  return authenticator;
}
