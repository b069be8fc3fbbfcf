/**
 * The PostgreSQL connection pool: BIGINT read back as numbers, an optional schema (search_path),
 * transactions, and the migrations (run under an advisory lock, so nodes starting together
 * migrate once).
 */
import pg from 'pg';
import { PG_MIGRATIONS } from './migrations.ts';

export type Pool = pg.Pool;
export type Client = pg.PoolClient;
/** What a repository runs a statement on: the pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

const INT8 = 20;
const NUMERIC = 1700;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    // every BIGINT Postern stores (ids, times in ms, sizes) fits a double exactly
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/** A schema name PostgreSQL accepts unquoted (the test suites make one per run). */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name "${schema}": lower-case letters, digits and _`);
  return schema;
}

export interface PoolOptions {
  url: string;
  schema?: string;
  max?: number;
  applicationName?: string;
}

export function connectionConfig(o: PoolOptions): pg.ClientConfig {
  const schema = o.schema ? checkSchemaName(o.schema) : null;
  return {
    connectionString: o.url,
    types,
    application_name: o.applicationName ?? 'postern',
    // a statement that hangs (a lock held by a dead node's session) must not hang SMTP: the
    // caller turns the error into 4xx
    statement_timeout: 30_000,
    // a node that froze (or lost its network) inside a transaction must not hold the others'
    // row locks for long; a statement waiting for a lock gives up and its caller answers 4xx
    idle_in_transaction_session_timeout: 60_000,
    lock_timeout: 10_000,
    // a connection dropped silently (a firewall, a NAT) is noticed
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  };
}

export function createPool(o: PoolOptions): Pool {
  const pool = new pg.Pool({ ...connectionConfig(o), max: o.max ?? 10, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  // an idle client's connection that drops (database restart) is replaced on the next query
  pool.on('error', () => undefined);
  return pool;
}

/** Runs fn in one transaction (committed, or rolled back when it throws). */
export async function tx<T>(pool: Pool, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  // a checked-out client has no error listener of the pool's: a connection that drops in the
  // middle would otherwise be an unhandled 'error' event and end the process
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken ??= err;
  };
  c.on('error', onError);
  try {
    await c.query('BEGIN');
    const r = await fn(c);
    await c.query('COMMIT');
    return r;
  } catch (err) {
    await c.query('ROLLBACK').catch((e: Error) => {
      broken ??= e;
    });
    throw err;
  } finally {
    c.off('error', onError);
    c.release(broken); // a broken connection is closed, never handed out again
  }
}

/** Text PostgreSQL can store: a NUL (which a remote server's reply may carry) becomes U+FFFD. */
export function pgText<T extends string | null | undefined>(v: T): T {
  return (typeof v === 'string' && v.includes('\u0000') ? v.replace(/\u0000/g, '\ufffd') : v) as T;
}

// Any constant both sides agree on: the advisory lock every node takes to migrate.
const MIGRATION_LOCK = 0x706f7374; // 'post'

/**
 * Brings the schema to the newest version, in one transaction under an advisory lock (a node
 * that waits for it finds the work done). Returns the versions applied. Refuses a database
 * whose schema is newer than this Postern.
 */
export async function migrate(pool: Pool, opts: { schema?: string } = {}): Promise<number[]> {
  return tx(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    if (opts.schema) await c.query(`CREATE SCHEMA IF NOT EXISTS ${checkSchemaName(opts.schema)}`);
    await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const { rows } = await c.query<{ v: number }>('SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_migrations');
    const current = rows[0].v;
    if (current > PG_MIGRATIONS.length) {
      throw new Error(`database schema version ${current} is newer than this Postern (${PG_MIGRATIONS.length}); upgrade Postern`);
    }
    const applied: number[] = [];
    for (let v = current + 1; v <= PG_MIGRATIONS.length; v++) {
      await c.query(PG_MIGRATIONS[v - 1]);
      await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [v, Date.now()]);
      applied.push(v);
    }
    return applied;
  });
}

/** True for errors that mean "try again" (serialization failure, deadlock, connection lost). */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code === '40001' || code === '40P01' || code.startsWith('08') || code === '57P01';
}
