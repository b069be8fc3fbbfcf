/** Brute-force defence state in PostgreSQL: each count is one atomic upsert, a ban one locked transaction. */
import { tx, type Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import type { AuthGuardRepo } from '../types.ts';
import type { IpBan, LoginState } from '../../core/index.ts';

type Row = Record<string, unknown>;

/** A known address is refreshed at most once a day, so a successful login rarely writes. */
const REFRESH_MS = 86_400_000;

const toBan = (r: Row): IpBan => ({
  ip: r.ip as string,
  reason: r.reason as string,
  failures: r.failures as number,
  bannedUntil: r.banned_until as number,
  createdAt: r.created_at as number,
});

/**
 * Counts a failure ($1 mailbox, $2 now, $3 maxFailures, $4 lockMs); the count that reaches the
 * limit locks and starts again at 0, in the same statement (the row lock of the upsert orders
 * concurrent callers, each sees the other's count).
 */
const FAIL = `INSERT INTO mailbox_logins AS l (mailbox_id, failures, locked_until)
  VALUES ($1, CASE WHEN 1 >= $3::numeric THEN 0 ELSE 1 END, CASE WHEN 1 >= $3::numeric THEN $2::bigint + $4::bigint END)
  ON CONFLICT (mailbox_id) DO UPDATE SET
    failures = CASE WHEN l.failures + 1 >= $3::numeric THEN 0 ELSE l.failures + 1 END,
    locked_until = CASE WHEN l.failures + 1 >= $3::numeric THEN $2::bigint + $4::bigint ELSE l.locked_until END
  RETURNING failures, locked_until`;

/** Counts a failure of address $1 at $2 in a fixed window of $3 ms; returns the window's count. */
const IP_FAIL = `INSERT INTO ip_failures AS f (ip, window_start, count) VALUES ($1, $2, 1)
  ON CONFLICT (ip) DO UPDATE SET
    count = CASE WHEN f.window_start <= $2::bigint - $3::numeric THEN 1 ELSE f.count + 1 END,
    window_start = CASE WHEN f.window_start <= $2::bigint - $3::numeric THEN $2::bigint ELSE f.window_start END
  RETURNING count`;

const BAN = `INSERT INTO ip_bans (ip, reason, failures, banned_until, created_at) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (ip) DO UPDATE SET reason = excluded.reason, failures = excluded.failures,
    banned_until = excluded.banned_until, created_at = excluded.created_at`;

export function createAuthGuardRepo(pool: Pool, deps: RepoDeps): AuthGuardRepo {
  const rowCount = async (sql: string, args: unknown[]) => (await pool.query(sql, args)).rowCount ?? 0;

  /** Counts an address's failure and, at the limit, bans it: the upsert's row lock is held until the ban commits. */
  const banAtLimit = (ip: string, now: number, windowMs: number, limit: number, banMs: number) =>
    tx(pool, async (c) => {
      const count = (await c.query<{ count: number }>(IP_FAIL, [ip, now, windowMs])).rows[0].count;
      if (count < limit) return false;
      await c.query(BAN, [ip, `${count} failed logins within ${Math.round(windowMs / 60_000)} min`, count, now + banMs, now]);
      await c.query('DELETE FROM ip_failures WHERE ip = $1', [ip]);
      return true;
    });

  return {
    async loginState(mailboxId) {
      const r = (await pool.query<Row>('SELECT failures, locked_until FROM mailbox_logins WHERE mailbox_id = $1', [mailboxId])).rows[0];
      return { failures: (r?.failures as number | undefined) ?? 0, lockedUntil: (r?.locked_until as number | null | undefined) ?? null };
    },
    async isKnownIp(mailboxId, ip, since, maxFailures) {
      const r = (
        await pool.query<Row>('SELECT last_success_at, failures FROM known_ips WHERE mailbox_id = $1 AND ip = $2', [mailboxId, ip])
      ).rows[0];
      return r !== undefined && (r.last_success_at as number) >= since && (r.failures as number) < maxFailures;
    },
    async recordKnownFailure(mailboxId, ip) {
      await pool.query('UPDATE known_ips SET failures = failures + 1 WHERE mailbox_id = $1 AND ip = $2', [mailboxId, ip]);
    },
    async recordFailure(mailboxId, now, maxFailures, lockMs): Promise<LoginState> {
      const r = (await pool.query<Row>(FAIL, [mailboxId, now, maxFailures, lockMs])).rows[0];
      const state = { failures: r.failures as number, lockedUntil: (r.locked_until as number | null) ?? null };
      if (state.failures === 0) deps.changed('mailboxes'); // this failure locked it
      return state;
    },
    async recordSuccess(mailboxId, ip, now) {
      // most logins change nothing: read first, write only when something is to be cleared or refreshed
      const s = (
        await pool.query<Row>(
          `SELECT (SELECT failures FROM mailbox_logins WHERE mailbox_id = $1) AS failures, k.last_success_at, k.failures AS known_failures
         FROM (SELECT 1) one LEFT JOIN known_ips k ON k.mailbox_id = $1 AND k.ip = $2`,
          [mailboxId, ip],
        )
      ).rows[0];
      const last = s.last_success_at as number | null;
      const stale = last === null || last < now - REFRESH_MS;
      const failures = (s.failures as number | null) ?? 0;
      const knownFailures = (s.known_failures as number | null) ?? 0;
      if (!stale && failures === 0 && knownFailures === 0) return;
      await tx(pool, async (c) => {
        // the count resets, a lock stays: a site that logs in every minute must not hand an attacker fresh guesses
        await c.query('UPDATE mailbox_logins SET failures = 0 WHERE mailbox_id = $1 AND failures > 0', [mailboxId]);
        await c.query('UPDATE known_ips SET failures = 0 WHERE mailbox_id = $1 AND ip = $2 AND failures > 0', [mailboxId, ip]);
        if (!stale) return;
        await c.query(
          `INSERT INTO known_ips (mailbox_id, ip, last_success_at) VALUES ($1, $2, $3)
           ON CONFLICT (mailbox_id, ip) DO UPDATE SET last_success_at = excluded.last_success_at, failures = 0`,
          [mailboxId, ip, now],
        );
      });
    },
    async unlock(mailboxId) {
      const n = await rowCount(
        'UPDATE mailbox_logins SET failures = 0, locked_until = NULL WHERE mailbox_id = $1 AND (failures > 0 OR locked_until IS NOT NULL)',
        [mailboxId],
      );
      if (n > 0) deps.changed('mailboxes');
      return n > 0;
    },
    async recordIpFailure(ip, now, windowMs, limit, banMs) {
      const banned = await banAtLimit(ip, now, windowMs, limit, banMs);
      if (banned) deps.changed('bans');
      return banned;
    },
    async banOf(ip, now) {
      const r = (await pool.query<Row>('SELECT * FROM ip_bans WHERE ip = $1 AND banned_until > $2', [ip, now])).rows[0];
      return r ? toBan(r) : null;
    },
    async bans(now) {
      return (await pool.query<Row>('SELECT * FROM ip_bans WHERE banned_until > $1 ORDER BY created_at, ip COLLATE "C"', [now])).rows.map(
        toBan,
      );
    },
    async unban(ip) {
      const n = await rowCount('DELETE FROM ip_bans WHERE ip = $1', [ip]);
      if (n > 0) deps.changed('bans');
      return n > 0;
    },
  };
}
