/** Brute-force defence state in SQLite: each count is one UPSERT ... RETURNING (atomic). */
import type { Db } from './db.ts';
import type { AuthGuardRepo } from '../types.ts';
import type { IpBan } from '../../core/index.ts';

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

export function createAuthGuardRepo(db: Db): AuthGuardRepo {
  const state = db.prepare('SELECT failures, locked_until FROM mailbox_logins WHERE mailbox_id = ?');
  const known = db.prepare('SELECT last_success_at FROM known_ips WHERE mailbox_id = ? AND ip = ?').pluck();
  const knownRow = db.prepare('SELECT last_success_at, failures FROM known_ips WHERE mailbox_id = ? AND ip = ?');
  const knownFail = db.prepare('UPDATE known_ips SET failures = failures + 1 WHERE mailbox_id = ? AND ip = ?');
  const knownReset = db.prepare('UPDATE known_ips SET failures = 0 WHERE mailbox_id = ? AND ip = ? AND failures > 0');
  const fail = db.prepare(
    `INSERT INTO mailbox_logins (mailbox_id, failures) VALUES (?, 1)
     ON CONFLICT (mailbox_id) DO UPDATE SET failures = failures + 1 RETURNING failures, locked_until`,
  );
  const lock = db.prepare('UPDATE mailbox_logins SET failures = 0, locked_until = ? WHERE mailbox_id = ?');
  // a success (from an address the lock spares) resets the count but never lifts a lock: a site
  // that logs in every minute must not hand an attacker fresh guesses
  const clear = db.prepare('UPDATE mailbox_logins SET failures = 0 WHERE mailbox_id = ? AND failures > 0');
  const remember = db.prepare(
    `INSERT INTO known_ips (mailbox_id, ip, last_success_at) VALUES (?, ?, ?)
     ON CONFLICT (mailbox_id, ip) DO UPDATE SET last_success_at = excluded.last_success_at, failures = 0`,
  );
  const ipFail = db
    .prepare(
      `INSERT INTO ip_failures (ip, window_start, count) VALUES (@ip, @now, 1)
     ON CONFLICT (ip) DO UPDATE SET
       count = CASE WHEN window_start <= @now - @windowMs THEN 1 ELSE count + 1 END,
       window_start = CASE WHEN window_start <= @now - @windowMs THEN @now ELSE window_start END
     RETURNING count`,
    )
    .pluck();
  const ban = db.prepare(
    `INSERT INTO ip_bans (ip, reason, failures, banned_until, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (ip) DO UPDATE SET reason = excluded.reason, failures = excluded.failures, banned_until = excluded.banned_until, created_at = excluded.created_at`,
  );
  const resetIp = db.prepare('DELETE FROM ip_failures WHERE ip = ?');
  const banByIp = db.prepare('SELECT * FROM ip_bans WHERE ip = ? AND banned_until > ?');

  const recordFailure = db.transaction((mailboxId: number, now: number, maxFailures: number, lockMs: number) => {
    const r = fail.get(mailboxId) as { failures: number; locked_until: number | null };
    if (r.failures < maxFailures) return { failures: r.failures, lockedUntil: r.locked_until };
    lock.run(now + lockMs, mailboxId);
    return { failures: 0, lockedUntil: now + lockMs };
  });
  const recordSuccess = db.transaction((mailboxId: number, ip: string, now: number, last: number | undefined) => {
    clear.run(mailboxId);
    knownReset.run(mailboxId, ip);
    if (last === undefined || last < now - REFRESH_MS) remember.run(mailboxId, ip, now);
  });
  const recordIpFailure = db.transaction((ip: string, now: number, windowMs: number, limit: number, banMs: number) => {
    const count = ipFail.get({ ip, now, windowMs }) as number;
    if (count < limit) return false;
    ban.run(ip, `${count} failed logins within ${Math.round(windowMs / 60_000)} min`, count, now + banMs, now);
    resetIp.run(ip);
    return true;
  });

  return {
    async loginState(mailboxId) {
      const r = state.get(mailboxId) as { failures: number; locked_until: number | null } | undefined;
      return { failures: r?.failures ?? 0, lockedUntil: r?.locked_until ?? null };
    },
    async isKnownIp(mailboxId, ip, since, maxFailures) {
      const r = knownRow.get(mailboxId, ip) as { last_success_at: number; failures: number } | undefined;
      return r !== undefined && r.last_success_at >= since && r.failures < maxFailures;
    },
    async recordKnownFailure(mailboxId, ip) {
      knownFail.run(mailboxId, ip);
    },
    recordFailure: async (mailboxId, now, maxFailures, lockMs) => recordFailure.immediate(mailboxId, now, maxFailures, lockMs),
    async recordSuccess(mailboxId, ip, now) {
      // most logins change nothing: read first, write only when something is to be cleared or refreshed
      const s = state.get(mailboxId) as { failures: number; locked_until: number | null } | undefined;
      const last = known.get(mailboxId, ip) as number | undefined;
      const stale = last === undefined || last < now - REFRESH_MS;
      const knownFailures = (knownRow.get(mailboxId, ip) as { failures: number } | undefined)?.failures ?? 0;
      if (!stale && !(s && s.failures > 0) && knownFailures === 0) return;
      recordSuccess.immediate(mailboxId, ip, now, last);
    },
    async unlock(mailboxId) {
      return (
        db
          .prepare(
            'UPDATE mailbox_logins SET failures = 0, locked_until = NULL WHERE mailbox_id = ? AND (failures > 0 OR locked_until IS NOT NULL)',
          )
          .run(mailboxId).changes > 0
      );
    },
    recordIpFailure: async (ip, now, windowMs, limit, banMs) => recordIpFailure.immediate(ip, now, windowMs, limit, banMs),
    async banOf(ip, now) {
      const r = banByIp.get(ip, now) as Row | undefined;
      return r ? toBan(r) : null;
    },
    async bans(now) {
      return (db.prepare('SELECT * FROM ip_bans WHERE banned_until > ? ORDER BY created_at').all(now) as Row[]).map(toBan);
    },
    async unban(ip) {
      return db.prepare('DELETE FROM ip_bans WHERE ip = ?').run(ip).changes > 0;
    },
  };
}
