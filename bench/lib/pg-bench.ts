/**
 * PostgreSQL for `--store`: private schemas (made fresh, dropped at the end however the run
 * ends), the postmaster's pid (its process tree is PostgreSQL's CPU: every backend, the WAL
 * writer, the checkpointer, and the backends that exited, through its cutime/cstime) and a
 * look at who else uses the server (other clients' work would be counted as ours).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';

export const PG_URL = process.env.POSTERN_BENCH_PG_URL ?? process.env.POSTERN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Only a PostgreSQL on loopback (or a Unix socket) is measured. */
export function checkLoopbackUrl(url: string): void {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const ok = host === '' || host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host.startsWith('%2F');
  if (!ok) throw new Error(`refusing PostgreSQL at ${host}: only loopback`);
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, application_name: 'postern bench' });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The schemas this run made; dropSchemas() removes them (called on every way out). */
const made = new Set<string>();

export async function makeSchema(url: string, label: string): Promise<string> {
  const schema = `bench_${label}_${process.pid}_${randomBytes(3).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  made.add(schema);
  await withClient(url, (c) => c.query(`CREATE SCHEMA ${schema}`));
  return schema;
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  await withClient(url, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  made.delete(schema);
}

export async function dropSchemas(url: string, log: (s: string) => void): Promise<void> {
  for (const s of [...made]) {
    try {
      await dropSchema(url, s);
      log(`schema ${s} dropped`);
    } catch (err) {
      log(`could not drop schema ${s}: ${(err as Error).message}`);
    }
  }
}

export const schemasLeft = () => [...made];

/** The postmaster's pid: the parent of our own backend (null when /proc does not show it). */
export async function postmasterPid(url: string): Promise<number | null> {
  // read while our backend lives: it exits when the connection closes
  return withClient(url, async (c) => {
    const backend = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    try {
      const stat = fs.readFileSync(`/proc/${backend}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return null;
    }
  });
}

/** Client connections to the server that are not this bench's (application_name "postern bench*"). */
export async function otherClients(url: string): Promise<{ app: string; state: string | null; n: number }[]> {
  return withClient(
    url,
    async (c) =>
      (
        await c.query<{ app: string; state: string | null; n: number }>(
          `SELECT application_name AS app, state, count(*)::int AS n FROM pg_stat_activity
     WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name NOT LIKE 'postern bench%'
     GROUP BY 1, 2 ORDER BY 3 DESC`,
        )
      ).rows,
  );
}

export async function serverFacts(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const v = (await c.query<{ v: string }>("SELECT split_part(version(), ' on ', 1) AS v")).rows[0]!.v;
    const s = (
      await c.query<{ name: string; setting: string; unit: string | null }>(
        "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', 'wal_level', 'max_connections') ORDER BY name",
      )
    ).rows;
    return `${v}; ${s.map((r) => `${r.name}=${r.setting}${r.unit && r.name === 'shared_buffers' ? `x${r.unit}` : ''}`).join(', ')}`;
  });
}

export interface PgProc {
  pid: number;
  app: string;
  type: string;
  cpuMs: number;
}
export interface PgSnapshot {
  commits: number;
  walBytes: number;
  procs: PgProc[];
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function procCpuMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/**
 * On one connection of its own: committed transactions of this database and WAL bytes written
 * so far (both server-wide: other clients' work included; PostgreSQL 15 publishes a backend's
 * counts when it goes idle, at most about a second late), and the CPU of every PostgreSQL
 * process with its application_name and backend_type (pg_stat_activity + /proc).
 */
export async function statsReader(url: string): Promise<{ read(): Promise<PgSnapshot | null>; close(): Promise<void> }> {
  const c = new pg.Client({ connectionString: url, application_name: 'postern bench stats' });
  await c.connect();
  return {
    async read() {
      try {
        await c.query('SELECT pg_stat_clear_snapshot()');
        const r = (
          await c.query<{ commits: string; wal: string }>(
            `SELECT xact_commit::text AS commits, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint::text AS wal
           FROM pg_stat_database WHERE datname = current_database()`,
          )
        ).rows[0];
        const a = (
          await c.query<{ pid: number; app: string | null; type: string | null }>(
            'SELECT pid, application_name AS app, backend_type AS type FROM pg_stat_activity WHERE pid <> pg_backend_pid()',
          )
        ).rows;
        const procs: PgProc[] = [];
        for (const x of a) {
          const cpuMs = procCpuMs(x.pid);
          if (cpuMs !== null) procs.push({ pid: x.pid, app: x.app ?? '', type: x.type ?? '', cpuMs });
        }
        return r ? { commits: Number(r.commits), walBytes: Number(r.wal), procs } : null;
      } catch {
        return null;
      }
    },
    close: () => c.end(),
  };
}

/**
 * CPU ms between two snapshots of the backends whose application_name is one of `apps` (the
 * nodes under test) plus PostgreSQL's own background processes (WAL writer, checkpointer,
 * background writer, autovacuum), which work for every client. A backend that appeared in
 * between counts from zero; one that ended in between is lost (a pool keeps its connections
 * under load).
 */
export function pgCpuBetween(a: PgSnapshot, b: PgSnapshot, apps: string[]): number {
  const before = new Map(a.procs.map((p) => [p.pid, p.cpuMs]));
  let ms = 0;
  for (const p of b.procs) {
    const ours = p.type === 'client backend' ? apps.includes(p.app) : p.type !== '';
    if (ours) ms += p.cpuMs - (before.get(p.pid) ?? 0);
  }
  return ms;
}
