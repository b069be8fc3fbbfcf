/** Sending limit rules and their counters in SQLite (the counting is in queue-writes.ts). */
import type { Db } from './db.ts';
import type { LimitRepo, LimitUsage } from '../types.ts';
import { windowStart, type LimitRule } from '../../limits/index.ts';

export function createLimitRepo(db: Db): LimitRepo {
  const upsert = db.prepare(
    `INSERT INTO limits (level, target, window, metric, max, action) VALUES (@level, @target, @window, @metric, @max, @action)
     ON CONFLICT (level, target, window, metric) DO UPDATE SET max = excluded.max, action = excluded.action`,
  );
  const usage = db.prepare(
    'SELECT messages, recipients FROM limit_usage WHERE level = ? AND target = ? AND window = ? AND window_start = ?',
  );
  return {
    async set(rule) {
      upsert.run(rule);
    },
    async list(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.level) {
        where.push('level = ?');
        args.push(filter.level);
      }
      if (filter.target) {
        where.push("target IN (?, '*')");
        args.push(filter.target);
      }
      const sql = `SELECT level, target, window, metric, max, action FROM limits ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY CASE level WHEN 'server' THEN 0 WHEN 'customer' THEN 1 WHEN 'domain' THEN 2 WHEN 'mailbox' THEN 3 ELSE 4 END, target,
          CASE window WHEN 'minute' THEN 0 WHEN 'hour' THEN 1 WHEN 'day' THEN 2 ELSE 3 END, metric`;
      return db.prepare(sql).all(...args) as LimitRule[];
    },
    async clear(f) {
      const where = ['level = ?', 'target = ?'];
      const args: unknown[] = [f.level, f.target];
      if (f.window) {
        where.push('window = ?');
        args.push(f.window);
      }
      if (f.metric) {
        where.push('metric = ?');
        args.push(f.metric);
      }
      return db.prepare(`DELETE FROM limits WHERE ${where.join(' AND ')}`).run(...args).changes;
    },
    async usage(level, target, window, now): Promise<LimitUsage> {
      const start = windowStart(window, now);
      const r = usage.get(level, target, window, start) as { messages: number; recipients: number } | undefined;
      return { level, target, window, start, messages: r?.messages ?? 0, recipients: r?.recipients ?? 0 };
    },
  };
}
