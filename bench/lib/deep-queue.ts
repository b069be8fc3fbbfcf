/**
 * `--store`, part 3: the delivery claim with a deep deferred queue. A store is filled in bulk
 * (PostgreSQL: INSERT ... SELECT FROM generate_series; SQLite: INSERT ... WITH RECURSIVE) with
 * N messages of one recipient each, deferred into the future (1 to 25 hours, scattered), plus
 * D due recipients; then store.queue.claim({ owner, now, leaseMs, limit }) is timed through the
 * real store (createPostgresStore / createSqliteStore) over and over: each round claims the D
 * due recipients `limit` at a time (the last claim of a round finds nothing: the idle poll,
 * timed apart), then releaseLeases() makes them due again (not timed). The same is measured
 * before the deferred rows are added, so the table shows what the depth costs. The claim's own
 * statement is then run under EXPLAIN (ANALYZE, BUFFERS) (PostgreSQL, rolled back) or EXPLAIN
 * QUERY PLAN (SQLite) to show which index serves it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SqliteDatabase as Database } from '../../src/store/sqlite/index.ts';
import { createPostgresStore } from '../../src/store/postgres/index.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/types.ts';
import { percentile, machineTicks } from './report.ts';
import { makeSchema, dropSchema } from './pg-bench.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOUR = 3_600_000;
const LEASE_MS = 1_200_000; // delivery.leaseSeconds' default
const DOMAINS = 5000; // deferred recipients are spread over this many domains
// a body of a few hundred bytes (headers + a short text), the message's number in it
const BODY_HEAD = 'From: <alice@example.test>\r\nTo: <rcpt@remote.test>\r\nSubject: deferred bench message\r\nMessage-ID: <';
const BODY_TAIL =
  '.deep@bench.postern.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n' +
  'This message waits in the queue for a retry: its only recipient was deferred (greylisted).\r\n'.repeat(3);

export interface DeepOptions {
  deferred: number;
  due: number;
  claims: number; // timed claims that return rows (per depth)
  limit: number;
  log: (s: string) => void;
}

export interface ClaimTimes {
  depth: number; // deferred recipients in the queue
  claims: number;
  recipientsPerClaim: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  emptyP50: number | null; // a claim that finds nothing due (the idle poll)
  emptyP99: number | null;
  firstRoundP50: number | null;
  lastRoundP50: number | null;
  machineBusyPct: number | null; // the whole machine while the claims ran
  benchCpuPct: number | null; // of it, this process (the SQLite writer thread included), % of the machine
}

export interface DeepResult {
  store: 'postgres' | 'sqlite';
  base: ClaimTimes;
  deep: ClaimTimes;
  fillS: number;
  sizeText: string;
  plan: string[]; // the plan of the claim statement at depth N
  planSummary: string;
  planBeforeAnalyze?: string; // PostgreSQL: the plan chosen right after the bulk load, before ANALYZE
}

/** Claims the due recipients `limit` at a time, round after round (released in between); times each claim. */
async function timeClaims(store: Store, o: DeepOptions, depth: number, now: number): Promise<ClaimTimes> {
  const owner = `bench-claim-${process.pid}`;
  const full: number[] = [];
  const empty: number[] = [];
  const rounds: number[][] = [];
  let recipients = 0;
  let m0: ReturnType<typeof machineTicks> = null;
  let own0 = process.cpuUsage();
  // one untimed round first: the connection pool, prepared statements and caches are warm
  for (let r = -1; full.length < o.claims; r++) {
    const round: number[] = [];
    for (;;) {
      const t0 = performance.now();
      const jobs = await store.queue.claim({ owner, now, leaseMs: LEASE_MS, limit: o.limit });
      const ms = performance.now() - t0;
      const n = jobs.reduce((a, j) => a + j.recipients.length, 0);
      if (n === 0) {
        if (r >= 0) empty.push(ms);
        break;
      }
      if (r >= 0) {
        full.push(ms);
        round.push(ms);
        recipients += n;
      }
    }
    if (r >= 0) rounds.push(round);
    if (r === -1) {
      m0 = machineTicks();
      own0 = process.cpuUsage();
    }
    const back = await store.queue.releaseLeases(owner, now - 1);
    if (back !== o.due) throw new Error(`released ${back} recipients, expected ${o.due}`);
  }
  const m1 = machineTicks();
  const own = process.cpuUsage(own0);
  const total = m0 && m1 ? (m1.total - m0.total) * 10 : 0; // jiffies of 10 ms
  return {
    machineBusyPct: m0 && m1 && total > 0 ? (100 * (m1.busy - m0.busy) * 10) / total : null,
    benchCpuPct: total > 0 ? (100 * (own.user + own.system)) / 1000 / total : null,
    depth,
    claims: full.length,
    recipientsPerClaim: full.length ? recipients / full.length : 0,
    p50: percentile(full, 50),
    p99: percentile(full, 99),
    max: percentile(full, 100),
    emptyP50: percentile(empty, 50),
    emptyP99: percentile(empty, 99),
    firstRoundP50: percentile(rounds[0] ?? [], 50),
    lastRoundP50: percentile(rounds.at(-1) ?? [], 50),
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** The claim statement as the store sends it (text and values), seen on pg.Pool's query. */
function captureClaimStatement(): { get(): { text: string; values: unknown[] } | null; restore(): void } {
  const proto = pg.Pool.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  let seen: { text: string; values: unknown[] } | null = null;
  proto.query = function (this: unknown, ...args: unknown[]) {
    if (typeof args[0] === 'string' && /WITH due AS/.test(args[0]) && Array.isArray(args[1])) seen = { text: args[0], values: args[1] };
    return original.apply(this, args);
  };
  return { get: () => seen, restore: () => void (proto.query = original) };
}

async function pgFill(c: pg.Client, kind: 'due' | 'deferred', from: number, to: number, now: number, customerId: number): Promise<void> {
  const prefix = kind === 'due' ? 'bench-due-' : 'bench-deferred-';
  await c.query(
    `INSERT INTO messages (id, customer_id, mailbox_id, sender, size, body, state, message_id_header, client_ip, auth_user, listener, created_at)
     SELECT $1::text || lpad(g::text, 9, '0'), $7::bigint, NULL, 'newsletter@deep.test', length(b), b, 'queued', '<' || g || '.deep@bench.postern.test>',
       '127.0.0.1', 'newsletter@deep.test', 'submission', $4::bigint - (g % ${HOUR})
     FROM generate_series($2::int, $3::int) AS g, LATERAL (SELECT convert_to($5::text || g || $6::text, 'UTF8') AS b) AS x`,
    [prefix, from, to, now, BODY_HEAD, BODY_TAIL, customerId],
  );
  if (kind === 'due') {
    await c.query(
      `INSERT INTO recipients (message_id, idx, address, domain, state, attempts, next_attempt_at)
       SELECT $1::text || lpad(g::text, 9, '0'), 0, 'rcpt' || g || '@remote.test', 'remote.test', 'queued', 0, $4::bigint - 600000 + g
       FROM generate_series($2::int, $3::int) AS g`,
      [prefix, from, to, now],
    );
  } else {
    await c.query(
      `INSERT INTO recipients (message_id, idx, address, domain, state, attempts, next_attempt_at, last_reply, last_attempt_at, remote_host, category)
       SELECT $1::text || lpad(g::text, 9, '0'), 0, 'rcpt' || g || '@d' || (g % ${DOMAINS}) || '.remote.test', 'd' || (g % ${DOMAINS}) || '.remote.test',
         'deferred', 1 + g % 5, $4::bigint + ${HOUR} + (g::bigint * 7919) % (24 * ${HOUR}), '451 4.7.1 Greylisted, please try again later',
         $4::bigint - 60000, 'mx.d' || (g % ${DOMAINS}) || '.remote.test', 'greylisted'
       FROM generate_series($2::int, $3::int) AS g`,
      [prefix, from, to, now],
    );
  }
}

function planSummaryOf(lines: string[]): string {
  const scan = lines
    .map((l) => l.trim())
    .filter((l) => /Index Scan|Index Only Scan|Seq Scan|Bitmap/.test(l))
    .map((l) => l.replace(/^->\s*/, '').replace(/\s+\(cost=.*$/, ''));
  const time = lines.filter((l) => /Execution Time|Planning Time/.test(l)).map((l) => l.trim());
  return [...new Set(scan)].join('; ') + (time.length ? `; ${time.join(', ')}` : '');
}

/**
 * afterClaims: called with the schema (N deferred messages still in it, the due ones leased by
 * the bench's claims and released again) before it is dropped: `--parts deep` runs a node on it.
 */
export async function deepPostgres(url: string, o: DeepOptions, afterClaims?: (schema: string) => Promise<void>): Promise<DeepResult> {
  const schema = await makeSchema(url, 'claim');
  const capture = captureClaimStatement();
  const c = new pg.Client({ connectionString: url, application_name: 'postern bench fill', options: `-c search_path=${schema}` });
  let store: Store | null = null;
  try {
    o.log(`claim, PostgreSQL: schema ${schema}`);
    store = await createPostgresStore({ url, schema, applicationName: 'postern bench claim' }); // migrates
    await c.connect();
    // the queue's messages belong to a customer of their own (a node provisioned on this schema later adds "bench")
    const customerId = (
      await c.query<{ id: number }>("INSERT INTO customers (name, created_at) VALUES ('deep', 0) RETURNING id::int AS id")
    ).rows[0]!.id;
    const now = Date.now();
    await pgFill(c, 'due', 1, o.due, now, customerId);
    await c.query('VACUUM ANALYZE messages');
    await c.query('VACUUM ANALYZE recipients');
    const base = await timeClaims(store, o, 0, now);
    o.log(
      `claim, PostgreSQL, no deferred: p50 ${base.p50?.toFixed(2)} ms, p99 ${base.p99?.toFixed(2)} ms, machine ${base.machineBusyPct?.toFixed(0)}% busy`,
    );

    const t0 = performance.now();
    const chunk = 100_000;
    for (let from = 1; from <= o.deferred; from += chunk) {
      await pgFill(c, 'deferred', from, Math.min(o.deferred, from + chunk - 1), now, customerId);
      o.log(
        `claim, PostgreSQL: ${Math.min(o.deferred, from + chunk - 1)} deferred messages (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
    const fillS = (performance.now() - t0) / 1000;
    const claimSql = capture.get();
    if (!claimSql) throw new Error('the claim statement was not seen on pg.Pool.query');
    // what the planner picks right after the load, before any statistics of the new rows
    await c.query('BEGIN');
    const before = (await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${claimSql.text}`, claimSql.values)).rows.map((r) => r['QUERY PLAN']);
    await c.query('ROLLBACK');
    // what autovacuum would do soon: statistics, visibility map
    const a0 = performance.now();
    await c.query('VACUUM ANALYZE messages');
    await c.query('VACUUM ANALYZE recipients');
    o.log(`claim, PostgreSQL: filled in ${fillS.toFixed(0)} s, VACUUM ANALYZE ${((performance.now() - a0) / 1000).toFixed(0)} s`);
    const deep = await timeClaims(store, o, o.deferred, now);
    o.log(
      `claim, PostgreSQL, ${o.deferred} deferred: p50 ${deep.p50?.toFixed(2)} ms, p99 ${deep.p99?.toFixed(2)} ms, machine ${deep.machineBusyPct?.toFixed(0)}% busy`,
    );

    // the claim statement itself, due rows present, executed and rolled back
    await c.query('BEGIN');
    const plan = (
      await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${capture.get()!.text}`, capture.get()!.values)
    ).rows.map((r) => r['QUERY PLAN']);
    await c.query('ROLLBACK');
    const sizes = (
      await c.query<{ r: number; m: number; i: number; n: number }>(
        `SELECT pg_total_relation_size('recipients')::bigint AS r, pg_total_relation_size('messages')::bigint AS m,
         pg_relation_size('recipients_due')::bigint AS i, (SELECT count(*) FROM recipients)::bigint AS n`,
      )
    ).rows[0]!;
    if (afterClaims) {
      await store.close();
      store = null;
      // the due ones would be delivered by the node: only the deferred stay
      await c.query("DELETE FROM messages WHERE id LIKE 'bench-due-%'");
      await c.query('VACUUM ANALYZE recipients');
      await afterClaims(schema);
    }
    return {
      store: 'postgres',
      base,
      deep,
      fillS,
      plan,
      planSummary: planSummaryOf(plan),
      planBeforeAnalyze: planSummaryOf(before),
      sizeText: `${Number(sizes.n)} recipients; recipients ${mb(Number(sizes.r))}, messages ${mb(Number(sizes.m))} (indexes and TOAST included), recipients_due ${mb(Number(sizes.i))}`,
    };
  } finally {
    capture.restore();
    await store?.close().catch(() => undefined);
    await c.end().catch(() => undefined);
    await dropSchema(url, schema);
    o.log(`claim, PostgreSQL: schema ${schema} dropped`);
  }
}

// ---------------------------------------------------------------------------------------------
// SQLite

function sqliteFill(file: string, kind: 'due' | 'deferred', count: number, now: number): void {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF'); // the bulk load only: the store itself commits with FULL
    const prefix = kind === 'due' ? 'bench-due-' : 'bench-deferred-';
    const chunk = 100_000;
    for (let from = 1; from <= count; from += chunk) {
      const to = Math.min(count, from + chunk - 1);
      const p = { prefix, from, to, now, head: BODY_HEAD, tail: BODY_TAIL };
      db.transaction(() => {
        db.prepare(
          `INSERT INTO messages (id, customer_id, mailbox_id, sender, size, body_path, body, state, message_id_header, client_ip, auth_user, listener, created_at)
           WITH RECURSIVE g(n) AS (SELECT @from UNION ALL SELECT n + 1 FROM g WHERE n < @to)
           SELECT @prefix || printf('%09d', n), 1, NULL, 'newsletter@deep.test', length(CAST(@head || n || @tail AS BLOB)), NULL,
             CAST(@head || n || @tail AS BLOB), 'queued', '<' || n || '.deep@bench.postern.test>', '127.0.0.1', 'newsletter@deep.test', 'submission', @now - (n % ${HOUR})
           FROM g`,
        ).run(p);
        if (kind === 'due') {
          db.prepare(
            `INSERT INTO recipients (message_id, idx, address, domain, state, attempts, next_attempt_at)
             WITH RECURSIVE g(n) AS (SELECT @from UNION ALL SELECT n + 1 FROM g WHERE n < @to)
             SELECT @prefix || printf('%09d', n), 0, 'rcpt' || n || '@remote.test', 'remote.test', 'queued', 0, @now - 600000 + n FROM g`,
          ).run({ prefix, from, to, now });
        } else {
          db.prepare(
            `INSERT INTO recipients (message_id, idx, address, domain, state, attempts, next_attempt_at, last_reply, last_attempt_at, remote_host, category)
             WITH RECURSIVE g(n) AS (SELECT @from UNION ALL SELECT n + 1 FROM g WHERE n < @to)
             SELECT @prefix || printf('%09d', n), 0, 'rcpt' || n || '@d' || (n % ${DOMAINS}) || '.remote.test', 'd' || (n % ${DOMAINS}) || '.remote.test',
               'deferred', 1 + n % 5, @now + ${HOUR} + (n * 7919) % (24 * ${HOUR}), '451 4.7.1 Greylisted, please try again later', @now - 60000,
               'mx.d' || (n % ${DOMAINS}) || '.remote.test', 'greylisted' FROM g`,
          ).run({ prefix, from, to, now });
        }
      })();
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/** The store's due-recipients statement, read from its source (so the plan shown is the one it runs). */
function sqliteClaimSql(): string {
  const src = fs.readFileSync(path.join(ROOT, 'src/store/sqlite/queue-writes.ts'), 'utf8');
  const m = /const due = db\.prepare\(\s*`([^`]+)`/.exec(src);
  if (!m) throw new Error('the claim statement was not found in src/store/sqlite/queue-writes.ts');
  return m[1]!;
}

export async function deepSqlite(o: DeepOptions): Promise<DeepResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-bench-claim-'));
  const file = path.join(dir, 'postern.db');
  let store: Store | null = null;
  try {
    o.log(`claim, SQLite: ${file}`);
    store = createSqliteStore({ path: file }); // migrates
    await store.close();
    store = null;
    const now = Date.now();
    {
      const db = new Database(file);
      db.prepare("INSERT INTO customers (id, name, created_at) VALUES (1, 'deep', 0)").run();
      db.close();
    }
    sqliteFill(file, 'due', o.due, now);
    store = createSqliteStore({ path: file });
    const base = await timeClaims(store, o, 0, now);
    o.log(`claim, SQLite, no deferred: p50 ${base.p50?.toFixed(2)} ms, p99 ${base.p99?.toFixed(2)} ms`);
    await store.close();
    store = null;

    const t0 = performance.now();
    sqliteFill(file, 'deferred', o.deferred, now);
    const fillS = (performance.now() - t0) / 1000;
    o.log(`claim, SQLite: ${o.deferred} deferred messages filled in ${fillS.toFixed(0)} s`);
    store = createSqliteStore({ path: file });
    const deep = await timeClaims(store, o, o.deferred, now);
    o.log(`claim, SQLite, ${o.deferred} deferred: p50 ${deep.p50?.toFixed(2)} ms, p99 ${deep.p99?.toFixed(2)} ms`);
    await store.close();
    store = null;

    const db = new Database(file, { readonly: true });
    let plan: string[];
    try {
      plan = (db.prepare(`EXPLAIN QUERY PLAN ${sqliteClaimSql()}`).all({ now, limit: o.limit, exclude: '[]' }) as { detail: string }[]).map(
        (r) => r.detail,
      );
    } finally {
      db.close();
    }
    const size = fs.statSync(file).size + (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
    return {
      store: 'sqlite',
      base,
      deep,
      fillS,
      plan,
      planSummary: plan.join('; '),
      sizeText: `${o.deferred + o.due} recipients; database file ${mb(size)} (no ANALYZE: Postern never runs it)`,
    };
  } finally {
    await store?.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (v: number | null) => (v === null ? '-' : v.toFixed(2));

export function deepTable(results: DeepResult[], o: DeepOptions): string {
  const rows = results.flatMap((r) =>
    [r.base, r.deep].map(
      (t) =>
        `| ${r.store === 'postgres' ? 'PostgreSQL' : 'SQLite'} | ${t.depth.toLocaleString('en')} | ${t.claims} x ${t.recipientsPerClaim.toFixed(0)} | ${ms(t.p50)} | ${ms(t.p99)} | ${ms(t.max)} | ` +
        `${ms(t.firstRoundP50)} / ${ms(t.lastRoundP50)} | ${ms(t.emptyP50)} / ${ms(t.emptyP99)} | ${t.machineBusyPct?.toFixed(0) ?? '-'} (${t.benchCpuPct?.toFixed(0) ?? '-'}) |`,
    ),
  );
  const lines = [
    `Claim latency, store.queue.claim({ limit: ${o.limit} }) through the real store, ${o.due} due recipients claimed ${o.limit} at a time and released between rounds:`,
    '',
    '| store | deferred in queue | claims x recipients | p50 ms | p99 ms | max ms | p50 first / last round | empty claim p50 / p99 ms | machine busy % (this process) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ];
  for (const r of results) {
    lines.push(
      `${r.store === 'postgres' ? 'PostgreSQL' : 'SQLite'}: filled ${o.deferred.toLocaleString('en')} deferred in ${r.fillS.toFixed(0)} s; ${r.sizeText}.`,
    );
    if (r.planBeforeAnalyze) lines.push(`  plan right after the bulk load (no ANALYZE yet): ${r.planBeforeAnalyze}`);
    lines.push(`  plan of the claim at ${o.deferred.toLocaleString('en')} deferred: ${r.planSummary}`);
  }
  return lines.join('\n');
}
