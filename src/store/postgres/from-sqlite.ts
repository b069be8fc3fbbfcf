/**
 * Moving a single-node install up: copies everything a SQLite store holds (tenants, logins,
 * grants, sites, DKIM keys, limits with their running counters, routes, the brute-force state,
 * the audit trail, the activity hours, webhook endpoints with their outbox, and the queue with
 * every body, spool files included) into
 * an empty PostgreSQL store, in one transaction: all of it or nothing. Not copied: the web
 * console's sign-in sessions (console_sessions): they are disposable, and a move is a good
 * moment for everyone to sign in again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SqliteDatabase as Database, type SqliteDb as Db } from '../sqlite/index.ts';
import { openDatabase } from '../sqlite/db.ts';
import { pgText, tx, type Client, type Pool } from './db.ts';

type Row = Record<string, unknown>;

/**
 * Tables in an order that satisfies the foreign keys, with the column renames and types.
 * console_sessions is left out on purpose (see above); --force empties it with the customers
 * it references (TRUNCATE ... CASCADE).
 */
const TABLES: { name: string; booleans?: string[]; rename?: Record<string, string> }[] = [
  { name: 'customers' },
  { name: 'domains' },
  { name: 'mailboxes', booleans: ['app_passwords_only'] },
  { name: 'app_passwords' },
  { name: 'sender_grants' },
  { name: 'sites' },
  { name: 'site_grants' },
  { name: 'site_hours' },
  { name: 'dkim_keys' },
  { name: 'routes' },
  { name: 'pool_assignments' },
  { name: 'blocklist_results' },
  { name: 'suppressions' },
  { name: 'limits', rename: { window: 'win' } },
  { name: 'limit_usage', rename: { window: 'win' } },
  { name: 'mailbox_logins' },
  { name: 'known_ips' },
  { name: 'ip_failures' },
  { name: 'ip_bans' },
  { name: 'audit' },
  { name: 'api_tokens' },
  { name: 'mailbox_hours' },
  { name: 'mailbox_hour_domains' },
  { name: 'mailbox_hour_networks' },
  { name: 'messages', booleans: ['eight_bit', 'smtputf8'] },
  { name: 'recipients', booleans: ['delay_notified'] },
  { name: 'attempts' },
  { name: 'tracked_messages' },
  { name: 'tracked_recipients' },
  { name: 'tracked_events' },
  { name: 'webhook_endpoints', booleans: ['enabled'] },
  { name: 'webhook_deliveries' },
];
const IDENTITY = [
  'customers',
  'domains',
  'mailboxes',
  'sites',
  'dkim_keys',
  'audit',
  'attempts',
  'tracked_events',
  'webhook_deliveries',
  'api_tokens',
  'app_passwords',
];
const FACT = 'copied-from-sqlite';

export class MoveRefused extends Error {}

export interface MoveReport {
  tables: Record<string, number>;
  bodiesFromSpool: number;
  replaced: boolean;
}

/** What the target holds already: a copy made before, or any tenant or queued message. */
async function occupied(c: Client): Promise<string | null> {
  const fact = await c.query('SELECT value, at FROM store_facts WHERE key = $1', [FACT]);
  if (fact.rows.length)
    return `this database was filled from ${fact.rows[0].value as string} on ${new Date(fact.rows[0].at as number).toISOString()}`;
  for (const t of ['customers', 'domains', 'mailboxes', 'sites', 'routes', 'messages']) {
    const { rows } = await c.query(`SELECT COUNT(*) AS n FROM ${t}`);
    if ((rows[0].n as number) > 0) return `the database is not empty (${t}: ${rows[0].n as number} rows)`;
  }
  return null;
}

/**
 * Copies the SQLite database at `file` (and the spool folder beside it) into the store behind
 * `pool`. Refuses a target that was filled before or holds data, unless `force` (which empties
 * it first). The SQLite file is brought to the newest schema first; it is not changed otherwise.
 */
export async function copyFromSqlite(
  pool: Pool,
  file: string,
  opts: { spoolDir?: string; force?: boolean; now?: number } = {},
): Promise<MoveReport> {
  if (!fs.existsSync(file)) throw new MoveRefused(`no SQLite database at ${file}`);
  openDatabase(file).close(); // migrations, so the columns below exist
  const src = new Database(file, { readonly: true, fileMustExist: true });
  const spoolDir = opts.spoolDir ?? path.join(path.dirname(file), 'spool');
  try {
    return await tx(pool, async (c) => {
      const why = await occupied(c);
      if (why && !opts.force) throw new MoveRefused(`${why}; nothing was copied (--force replaces what it holds)`);
      if (why) await c.query(`TRUNCATE ${TABLES.map((t) => t.name).join(', ')}, store_facts RESTART IDENTITY CASCADE`);
      const report: MoveReport = { tables: {}, bodiesFromSpool: 0, replaced: !!why };
      for (const t of TABLES) {
        // the install's own limits replace the defaults a fresh schema starts with
        if (t.name === 'limits') await c.query('DELETE FROM limits');
        // rows are read one by one and written in batches: a deep queue never sits in memory whole
        const rows = src.prepare(`SELECT * FROM ${t.name}`).iterate() as IterableIterator<Row>;
        const counted = (function* () {
          for (const r of rows) {
            report.tables[t.name] = (report.tables[t.name] ?? 0) + 1;
            if (t.name !== 'messages') yield r;
            else {
              if (r.body_path != null) report.bodiesFromSpool++;
              yield withBody(r, spoolDir);
            }
          }
        })();
        report.tables[t.name] = 0;
        await insertAll(c, t, counted);
      }
      await resetIdentities(c, src);
      await c.query('INSERT INTO store_facts (key, value, at) VALUES ($1, $2, $3)', [FACT, path.resolve(file), opts.now ?? Date.now()]);
      return report;
    }).then(async (report) => {
      // statistics for the planner at once (the claim's index is chosen from them)
      await pool.query(`ANALYZE ${TABLES.map((t) => t.name).join(', ')}`);
      return report;
    });
  } finally {
    src.close();
  }
}

/** A message row with its body in the row: a spool file is read in (a missing one stops the move). */
function withBody(r: Row, spoolDir: string): Row {
  const { body_path: rel, ...rest } = r;
  if (rel == null) return rest;
  const file = path.join(spoolDir, rel as string);
  let body: Buffer;
  try {
    body = fs.readFileSync(file);
  } catch (err) {
    throw new MoveRefused(
      `message ${r.id as string}: its body ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); nothing was copied`,
    );
  }
  return { ...rest, body };
}

/** Inserts rows in batches (bounded by count and bytes). */
async function insertAll(c: Client, t: (typeof TABLES)[number], rows: Iterable<Row>): Promise<void> {
  let srcCols: string[] = [];
  let cols: string[] = [];
  // a NUL (which PostgreSQL text cannot hold) becomes U+FFFD, as the adapter does
  const value = (r: Row, k: string) =>
    t.booleans?.includes(k) ? r[k] === 1 || r[k] === true : typeof r[k] === 'string' ? pgText(r[k]) : (r[k] ?? null);
  let batch: Row[] = [];
  let bytes = 0;
  const flush = async () => {
    if (!batch.length) return;
    const params: unknown[] = [];
    const tuples = batch.map(
      (r) =>
        `(${srcCols
          .map((k) => {
            params.push(value(r, k));
            return `$${params.length}`;
          })
          .join(', ')})`,
    );
    await c.query(`INSERT INTO ${t.name} (${cols.join(', ')}) OVERRIDING SYSTEM VALUE VALUES ${tuples.join(', ')}`, params);
    batch = [];
    bytes = 0;
  };
  for (const r of rows) {
    if (!srcCols.length) {
      srcCols = Object.keys(r);
      cols = srcCols.map((k) => t.rename?.[k] ?? k);
    }
    batch.push(r);
    bytes += Buffer.isBuffer(r.body) ? r.body.length : 200;
    if (batch.length * srcCols.length >= 30_000 || bytes >= 32 * 1024 * 1024) await flush();
  }
  await flush();
}

/** Identity columns continue after the copied ids (sites: after every id SQLite ever gave, never reused). */
async function resetIdentities(c: Client, src: Db): Promise<void> {
  const seq = src.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'sites'").pluck().get() as number | undefined;
  for (const t of IDENTITY) {
    const floor = t === 'sites' ? (seq ?? 0) : 0;
    await c.query(
      `SELECT setval(pg_get_serial_sequence('${t}', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM ${t}), $1::bigint) + 1, false)`,
      [floor],
    );
  }
}
