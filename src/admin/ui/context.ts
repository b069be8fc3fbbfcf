/** What every console page gets: the session, its tenant scope, the admin service acting for it, and the posted form. */
import type { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import type { Logger } from 'pino';
import type { Clock, ConsoleSession } from '../../core/index.ts';
import type { Authenticator, LockoutPolicy, SecretBox } from '../../credentials/index.ts';
import type { Metrics } from '../../observability/index.ts';
import type { Store } from '../../store/index.ts';
import type { AdminService } from '../service.ts';
import type { TenantScope } from '../errors.ts';
import type { SessionPolicy } from './session.ts';

export interface ConsoleVars {
  session: ConsoleSession;
  /** undefined: an operator (every customer); else the session's customer. */
  scope: TenantScope | undefined;
  /** The admin service acting for the session (its changes are audited as console:SUBJECT). */
  svc: AdminService;
  /** The fields of a POSTed form (checked for its CSRF token before the handler runs). */
  form: Record<string, string>;
}

export type ConsoleEnv = { Bindings: HttpBindings; Variables: ConsoleVars };
export type ConsoleApp = Hono<ConsoleEnv>;

export interface ConsoleDeps {
  store: Store;
  /** The admin service acting for `actor`. */
  service(actor: string): AdminService;
  /** Mailbox logins (counted and locked like SMTP AUTH). */
  authenticator: Authenticator;
  lockout: LockoutPolicy;
  clock: Clock;
  logger: Logger;
  failureDelayMs: number;
  metrics?: Metrics;
  /** Removes a spool file (message deletion, hold purge). */
  removeBody(relPath: string): Promise<void>;
  sessions: SessionPolicy;
  /** The metrics registry of this process, read by the dashboard (the same figures /metrics serves). */
  registry?: import('prom-client').Registry;
  /** Seals the TOTP secrets and the cookie of a sign-in waiting for its second factor. */
  secrets: () => SecretBox;
  /** console.twoFactor: the roles that must use a second factor, and the name apps show. */
  twoFactor?: { required: readonly ('operator' | 'customer' | 'mailbox')[]; issuer: string };
}
