/**
 * Console sessions: a random 256-bit value in a __Host- cookie (Secure, HttpOnly,
 * SameSite=Strict, Path=/), of which the store keeps only the SHA-256 (as for API tokens). A
 * session ends at its absolute end (console.sessionHours), after console.idleMinutes without a
 * request, at sign-out, when its token is revoked, its mailbox is suspended or removed, or the
 * mailbox's password changes (the admin service ends them). Each session carries the anti-CSRF
 * token its forms must send back.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import type { Store } from '../../store/index.ts';
import type { ConsoleSession } from '../../core/index.ts';
import type { TenantScope } from '../errors.ts';

export const SESSION_COOKIE = 'postern-console';
/** seenAt is written at most this often per session. */
const TOUCH_MS = 30_000;

export interface SessionPolicy {
  sessionMs: number;
  idleMs: number;
}

export const hashOf = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');
const SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The scope of a session: none for an operator, its customer otherwise. */
export const scopeOfSession = (s: ConsoleSession): TenantScope | undefined =>
  s.customerId === null ? undefined : { customerId: s.customerId, customerName: s.customerName ?? '' };

export function createSessions(store: Store, policy: SessionPolicy) {
  return {
    /** Starts a session and sets its cookie. */
    async start(c: Context, who: Pick<ConsoleSession, 'via' | 'subject' | 'customerId'>, now: number): Promise<ConsoleSession> {
      const value = randomBytes(32).toString('base64url');
      const session = await store.consoleSessions.add({
        idHash: hashOf(value),
        ...who,
        csrf: randomBytes(32).toString('base64url'),
        createdAt: now,
        seenAt: now,
        expiresAt: now + policy.sessionMs,
      });
      setCookie(c, SESSION_COOKIE, value, {
        prefix: 'host',
        path: '/',
        secure: true,
        httpOnly: true,
        sameSite: 'Strict',
        maxAge: Math.floor(policy.sessionMs / 1000),
      });
      return session;
    },
    /** The live session of the request's cookie, or null (none, unknown, expired, idle: then it is deleted). */
    async current(c: Context, now: number): Promise<ConsoleSession | null> {
      const value = getCookie(c, SESSION_COOKIE, 'host');
      if (!value || !SHAPE.test(value)) return null;
      const s = await store.consoleSessions.get(hashOf(value));
      if (!s) return null;
      if (s.expiresAt <= now || s.seenAt < now - policy.idleMs) {
        await store.consoleSessions.remove(s.idHash);
        return null;
      }
      await store.consoleSessions.touch(s.idHash, now, TOUCH_MS);
      return s;
    },
    /** Ends the request's session (if any) and clears the cookie. */
    async end(c: Context, s: ConsoleSession | null): Promise<void> {
      if (s) await store.consoleSessions.remove(s.idHash);
      deleteCookie(c, SESSION_COOKIE, { prefix: 'host', path: '/', secure: true });
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
