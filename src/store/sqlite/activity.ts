/** What mailboxes did per clock hour, for compromise signals (the counts come with the enqueue). */
import type { Db } from './db.ts';
import type { ActivityRepo } from '../types.ts';

export function createActivityRepo(db: Db): ActivityRepo {
  const login = db.prepare('INSERT OR IGNORE INTO mailbox_hour_networks (mailbox_id, hour_start, network) VALUES (?, ?, ?)');
  const seen = db.prepare('SELECT 1 FROM mailbox_hour_networks WHERE mailbox_id = ? AND hour_start = ? AND network = ?').pluck();
  const counts = db.prepare('SELECT recipients, delivered, bad, spam FROM mailbox_hours WHERE mailbox_id = ? AND hour_start = ?');
  const spam = db.prepare(
    `INSERT INTO mailbox_hours (mailbox_id, hour_start, spam) SELECT ?, ?, 1 WHERE EXISTS (SELECT 1 FROM mailboxes WHERE id = ?)
     ON CONFLICT (mailbox_id, hour_start) DO UPDATE SET spam = spam + 1`,
  );
  const domains = db.prepare('SELECT COUNT(*) FROM mailbox_hour_domains WHERE mailbox_id = ? AND hour_start = ?').pluck();
  const networks = db.prepare('SELECT COUNT(*) FROM mailbox_hour_networks WHERE mailbox_id = ? AND hour_start = ?').pluck();
  const sum = db
    .prepare('SELECT COALESCE(SUM(recipients), 0) FROM mailbox_hours WHERE mailbox_id = ? AND hour_start >= ? AND hour_start < ?')
    .pluck();
  return {
    async loginFrom(mailboxId, network, hourStart) {
      if (seen.get(mailboxId, hourStart, network)) return; // most logins: a read, no write
      login.run(mailboxId, hourStart, network);
    },
    async hour(mailboxId, hourStart) {
      const c = counts.get(mailboxId, hourStart) as { recipients: number; delivered: number; bad: number; spam: number } | undefined;
      return {
        recipients: c?.recipients ?? 0,
        spam: c?.spam ?? 0,
        delivered: c?.delivered ?? 0,
        bad: c?.bad ?? 0,
        domains: domains.get(mailboxId, hourStart) as number,
        networks: networks.get(mailboxId, hourStart) as number,
      };
    },
    async spam(mailboxId, hourStart) {
      spam.run(mailboxId, hourStart, mailboxId);
    },
    async averageRecipients(mailboxId, from, to) {
      const hours = Math.max(1, Math.round((to - from) / 3_600_000));
      return (sum.get(mailboxId, from, to) as number) / hours;
    },
  };
}
