/**
 * Who calls the admin API: a Bearer token of `postern token add`. Unknown, malformed and revoked
 * tokens answer 401 (with WWW-Authenticate) and count toward the client address's ban like a
 * failed login anywhere else; a banned address gets 429 before its token is looked at.
 */
import type { Logger } from 'pino';
import { clientKey, type Clock, type ApiToken } from '../../core/index.ts';
import type { LockoutPolicy } from '../../credentials/index.ts';
import type { Store } from '../../store/index.ts';
import type { AuthOutcome, Metrics } from '../../observability/index.ts';
import { problem, type Problem } from '../../inject/index.ts';

export interface AuthDeps {
  store: Store;
  lockout: LockoutPolicy;
  clock: Clock;
  logger: Logger;
  failureDelayMs: number;
  metrics?: Metrics;
  /** The live token of a Bearer value, or null (see the token service). */
  authenticate(value: string): Promise<ApiToken | null>;
}

export const WWW_AUTHENTICATE = 'Bearer realm="postern-admin"';

/** The token of a request from `ip`, or the problem to answer. */
export async function authenticateRequest(deps: AuthDeps, ip: string, header: string | undefined): Promise<ApiToken | Problem> {
  const count = (result: AuthOutcome) => deps.metrics?.auth.inc({ channel: 'admin', result });
  const now = deps.clock.now();
  const trusted = deps.lockout.isTrusted(ip);
  const ban = trusted ? null : await deps.store.authGuard.banOf(clientKey(ip), now);
  if (ban) {
    count('banned');
    const at = new Date(ban.bannedUntil).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return problem('auth', 429, `Too many failed logins from your address; refused until ${at}`, {
      retryAfter: Math.max(1, Math.ceil((ban.bannedUntil - now) / 1000)),
    });
  }
  const [scheme, value = ''] = (header ?? '').trim().split(/\s+/, 2);
  if (!/^bearer$/i.test(scheme ?? '')) return problem('auth', 401, 'Give an API token: Authorization: Bearer pat_...');
  const token = await deps.authenticate(value);
  if (token && token.customerStatus !== null && token.customerStatus !== 'active') {
    count('suspended');
    deps.logger.warn(
      {
        evt: 'auth',
        listener: 'admin-api',
        ip,
        method: 'token',
        user: token.name,
        customer: token.customerName,
        result: 'fail',
        reason: 'suspended',
      },
      'authentication refused: customer account suspended',
    );
    return problem('forbidden', 403, 'This customer account is suspended; its tokens are refused until it is resumed');
  }
  if (token) {
    count('success');
    return token;
  }
  count('failure');
  deps.logger.warn(
    { evt: 'auth', listener: 'admin-api', ip, method: 'token', result: 'fail', reason: 'unknown-token' },
    'authentication failed',
  );
  const l = deps.lockout;
  if (!trusted && (await deps.store.authGuard.recordIpFailure(clientKey(ip), now, l.ipWindowMs, l.ipFailures, l.ipBanMs))) {
    deps.metrics?.bans.inc();
    deps.logger.warn({ evt: 'ban', ip, result: 'banned' }, 'client address banned after too many failed logins');
  }
  if (deps.failureDelayMs) await new Promise((r) => setTimeout(r, deps.failureDelayMs));
  return problem('auth', 401, 'The API token is not valid (unknown or revoked)');
}
