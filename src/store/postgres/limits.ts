/** Sending limit rules and their counters in PostgreSQL (the column "window" is named win; the counting is in queue.ts). */
import type { Pool } from './db.ts';
import type { RepoDeps } from './deps.ts';
import type { LimitRepo, LimitUsage } from '../types.ts';
import { windowStart, type LimitRule } from '../../limits/index.ts';

const ORDER = `ORDER BY CASE level WHEN 'server' THEN 0 WHEN 'customer' THEN 1 WHEN 'domain' THEN 2 WHEN 'mailbox' THEN 3 ELSE 4 END,
  target COLLATE "C", CASE win WHEN 'minute' THEN 0 WHEN 'hour' THEN 1 WHEN 'day' THEN 2 ELSE 3 END, metric COLLATE "C"`;

export function createLimitRepo(pool: Pool, deps: RepoDeps): LimitRepo {
  return {
    async set(rule) {
      await pool.query(
        `INSERT INTO limits (level, target, win, metric, max, action) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (level, target, win, metric) DO UPDATE SET max = excluded.max, action = excluded.action`,
        [rule.level, rule.target, rule.window, rule.metric, rule.max, rule.action],
      );
      deps.changed('limits');
    },
    async list(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.level) {
        args.push(filter.level);
        where.push(`level = $${args.length}`);
      }
      if (filter.target) {
        args.push(filter.target);
        where.push(`target IN ($${args.length}, '*')`);
      }
      const sql = `SELECT level, target, win AS "window", metric, max, action FROM limits
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ${ORDER}`;
      return (await pool.query<LimitRule>(sql, args)).rows;
    },
    async clear(f) {
      const args: unknown[] = [f.level, f.target];
      const where = ['level = $1', 'target = $2'];
      if (f.window) {
        args.push(f.window);
        where.push(`win = $${args.length}`);
      }
      if (f.metric) {
        args.push(f.metric);
        where.push(`metric = $${args.length}`);
      }
      const n = (await pool.query(`DELETE FROM limits WHERE ${where.join(' AND ')}`, args)).rowCount ?? 0;
      if (n > 0) deps.changed('limits');
      return n;
    },
    async usage(level, target, window, now): Promise<LimitUsage> {
      const start = windowStart(window, now);
      const r = (
        await pool.query<{ messages: number; recipients: number }>(
          'SELECT messages, recipients FROM limit_usage WHERE level = $1 AND target = $2 AND win = $3 AND window_start = $4',
          [level, target, window, start],
        )
      ).rows[0];
      return { level, target, window, start, messages: r?.messages ?? 0, recipients: r?.recipients ?? 0 };
    },
  };
}
