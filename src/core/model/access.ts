/** Who may get in and what they did: login guard state, bans, a mailbox's hour of activity, the audit trail, API tokens and console sessions. */
import type { CustomerStatus } from './tenants.ts';

/** Failed logins of a mailbox since its last success, and its lock. */
export interface LoginState {
  failures: number;
  lockedUntil: number | null;
}

export interface IpBan {
  ip: string;
  reason: string;
  failures: number;
  bannedUntil: number;
  createdAt: number;
}

/** What a mailbox did in one clock hour (compromise signals). */
export interface MailboxHour {
  recipients: number;
  domains: number;
  networks: number;
  /** Delivery attempts of its mail in the hour that were delivered, or deferred / failed. */
  delivered: number;
  bad: number;
  /** Messages the content scanner held or refused as spam (or for a virus). */
  spam: number;
}

/** One administrative change: who, what, on what, and the state before and after (JSON). */
export interface AuditRecord {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

/**
 * A token of the admin HTTP API: an operator token (customerId null: every customer) or a
 * customer token (that customer only). Only the SHA-256 of the token is kept.
 */
export interface ApiToken {
  id: number;
  name: string;
  customerId: number | null;
  customerName: string | null;
  /** Its customer's status (null: an operator token): a customer token of a customer not active is refused. */
  customerStatus: CustomerStatus | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/**
 * A signed-in session of the web console. Only the SHA-256 of the cookie's value is stored
 * (like API tokens): a copy of the store does not sign anyone in.
 */
export interface ConsoleSession {
  idHash: string;
  /** How it signed in: an API token (subject: the token's name) or a mailbox login (subject: its address). */
  via: 'token' | 'mailbox';
  subject: string;
  /** null: an operator (every customer); else the one customer it may see. */
  customerId: number | null;
  customerName: string | null;
  /** The anti-CSRF token its forms carry. */
  csrf: string;
  createdAt: number;
  /** The last request (the idle timeout counts from here). */
  seenAt: number;
  /** The absolute end of the session. */
  expiresAt: number;
}

/**
 * The second factor (TOTP, RFC 6238) of a console sign-in subject (an API token's name or a
 * mailbox address, as sessions name it). The secret is sealed (credentials' SecretBox); the
 * recovery codes are kept as SHA-256 hashes, each usable once.
 */
export interface ConsoleTotp {
  via: 'token' | 'mailbox';
  subject: string;
  /** The sealed shared secret. */
  secret: string;
  /** null while enrolment waits for the first code; then when it was confirmed. */
  confirmedAt: number | null;
  /** The last time step a code was accepted for (a code is never accepted twice); 0 before any. */
  lastStep: number;
  recoveryHashes: string[];
  createdAt: number;
}
