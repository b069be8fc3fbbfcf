/** What mailboxes did per clock hour in PostgreSQL, for compromise signals (the counts come with the enqueue). */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import type { ActivityRepo } from '../types.ts';

/** The counts of one mailbox ($1) and hour ($2); zeros when it sent nothing. */
const HOUR = `SELECT COALESCE(h.recipients, 0) AS recipients, COALESCE(h.delivered, 0) AS delivered,
    COALESCE(h.bad, 0) AS bad, COALESCE(h.spam, 0) AS spam,
    (SELECT COUNT(*) FROM mailbox_hour_domains WHERE mailbox_id = $1 AND hour_start = $2) AS domains,
    (SELECT COUNT(*) FROM mailbox_hour_networks WHERE mailbox_id = $1 AND hour_start = $2) AS networks
  FROM (SELECT 1) one LEFT JOIN mailbox_hours h ON h.mailbox_id = $1 AND h.hour_start = $2`;

/** Counts a spam verdict of mailbox $1 in hour $2; nothing for a mailbox that is gone. */
const SPAM = `INSERT INTO mailbox_hours (mailbox_id, hour_start, spam)
  SELECT $1::bigint, $2::bigint, 1 WHERE EXISTS (SELECT 1 FROM mailboxes WHERE id = $1::bigint)
  ON CONFLICT (mailbox_id, hour_start) DO UPDATE SET spam = mailbox_hours.spam + 1`;

export function createActivityRepo(pool: Pool, _deps: RepoDeps): ActivityRepo {
  return {
    async loginFrom(mailboxId, network, hourStart) {
      const seen = await pool.query('SELECT 1 FROM mailbox_hour_networks WHERE mailbox_id = $1 AND hour_start = $2 AND network = $3', [
        mailboxId,
        hourStart,
        network,
      ]);
      if (seen.rows.length) return; // most logins: a read, no write
      await pool.query('INSERT INTO mailbox_hour_networks (mailbox_id, hour_start, network) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
        mailboxId,
        hourStart,
        network,
      ]);
    },
    async hour(mailboxId, hourStart) {
      const r = (await pool.query<Record<string, number>>(HOUR, [mailboxId, hourStart])).rows[0];
      return { recipients: r.recipients, spam: r.spam, delivered: r.delivered, bad: r.bad, domains: r.domains, networks: r.networks };
    },
    async spam(mailboxId, hourStart) {
      try {
        await pool.query(SPAM, [mailboxId, hourStart]);
      } catch (err) {
        // the mailbox was removed between the check and the insert (another node): skipped, as for a gone one
        if ((err as { code?: string }).code !== '23503') throw err;
      }
    },
    async averageRecipients(mailboxId, from, to) {
      const hours = Math.max(1, Math.round((to - from) / 3_600_000));
      const { rows } = await pool.query<{ sum: number }>(
        'SELECT COALESCE(SUM(recipients), 0) AS sum FROM mailbox_hours WHERE mailbox_id = $1 AND hour_start >= $2 AND hour_start < $3',
        [mailboxId, from, to],
      );
      return rows[0].sum / hours;
    },
  };
}
