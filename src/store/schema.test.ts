/**
 * The two migration lists (sqlite/migrations.ts, postgres/migrations.ts) must build the same
 * schema: both are built from scratch (SQLite in a temporary file, PostgreSQL in a fresh schema
 * of the test database) and compared table by table: columns with their type class and
 * nullability, primary keys, and indexes by columns, uniqueness and partiality. Differences
 * that are meant are listed in INTENDED, each with why; anything else fails with a readable diff.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from './sqlite/db.ts';
import { createPool, migrate } from './postgres/db.ts';
import { makeSchema } from '../../test/helpers/pg.ts';

/** One schema, flattened into comparable lines ("table.column: integer not null", "index table(a, b) unique"). */
type Shape = Set<string>;

/**
 * The class of a declared type, by SQLite's affinity rules and PostgreSQL's type names. SQLite
 * has no boolean: its flags are INTEGER 0/1, so a PostgreSQL boolean is of the integer class.
 */
function typeClass(declared: string): string {
  const t = declared.toLowerCase();
  if (t === 'boolean' || t.includes('int')) return 'integer';
  if (/char|clob|text/.test(t)) return 'text';
  if (t === '' || t.includes('blob') || t === 'bytea') return 'blob';
  if (/real|floa|doub/.test(t)) return 'real';
  if (t.startsWith('json')) return 'json';
  return `numeric (${t})`;
}

/** PostgreSQL's names for the columns SQLite names otherwise: WINDOW is a reserved word there. */
const PG_RENAMED: Record<string, string> = { win: 'window' };
const pgName = (column: string): string => PG_RENAMED[column] ?? column;

/** The column list of a CREATE INDEX statement: what is inside the parentheses after "ON table". */
function indexColumns(sql: string): string {
  const open = sql.indexOf('(', /\bON\s+\w+\s*/i.exec(sql)!.index);
  let depth = 0;
  for (let i = open; i < sql.length; i++) {
    depth += sql[i] === '(' ? 1 : sql[i] === ')' ? -1 : 0;
    if (depth === 0) return sql.slice(open + 1, i);
  }
  throw new Error(`unbalanced index statement: ${sql}`);
}

const normalize = (cols: string): string =>
  cols.toLowerCase().replace(/\s+/g, ' ').replace(/\(\s+/g, '(').replace(/\s+\)/g, ')').replace(/"/g, '').trim();

function sqliteShape(file: string): Shape {
  const db = openDatabase(file);
  try {
    const out: Shape = new Set();
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
    for (const t of tables) {
      const cols = db.prepare(`PRAGMA table_info(${t})`).all() as { name: string; type: string; notnull: number; pk: number }[];
      for (const c of cols) out.add(`${t}.${c.name}: ${typeClass(c.type)}${c.notnull || c.pk ? ' not null' : ''}`);
      const pk = cols
        .filter((c) => c.pk)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name);
      if (pk.length) out.add(`primary key ${t}(${pk.join(', ')})`);
      const indexes = db.prepare(`PRAGMA index_list(${t})`).all() as { name: string; unique: number; origin: string; partial: number }[];
      for (const ix of indexes) {
        if (ix.origin === 'pk') continue;
        const sql = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").pluck().get(ix.name) as string | null;
        // an expression index names no column in index_info: its columns are read from its CREATE statement
        const columns = sql
          ? normalize(indexColumns(sql))
          : (db.prepare(`PRAGMA index_info(${ix.name})`).all() as { name: string }[]).map((c) => c.name).join(', ');
        out.add(`index ${t}(${columns})${ix.unique ? ' unique' : ''}${ix.partial ? ' partial' : ''}`);
      }
    }
    return out;
  } finally {
    db.close();
  }
}

async function postgresShape(url: string, schema: string): Promise<Shape> {
  const pool = createPool({ url, schema, max: 1 });
  try {
    await migrate(pool, { schema });
    const out: Shape = new Set();
    const cols = await pool.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
      'SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1',
      [schema],
    );
    for (const c of cols.rows)
      out.add(`${c.table_name}.${pgName(c.column_name)}: ${typeClass(c.data_type)}${c.is_nullable === 'NO' ? ' not null' : ''}`);
    const pks = await pool.query<{ table_name: string; columns: string }>(
      `SELECT tc.table_name, string_agg(k.column_name, ', ' ORDER BY k.ordinal_position) AS columns
       FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema
       WHERE tc.table_schema = $1 AND tc.constraint_type = 'PRIMARY KEY' GROUP BY tc.table_name`,
      [schema],
    );
    for (const p of pks.rows) out.add(`primary key ${p.table_name}(${p.columns.split(', ').map(pgName).join(', ')})`);
    const ixs = await pool.query<{ tablename: string; indexname: string; indexdef: string; primary: boolean }>(
      `SELECT i.tablename, i.indexname, i.indexdef, x.indisprimary AS primary FROM pg_indexes i
       JOIN pg_class c ON c.relname = i.indexname JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname
       JOIN pg_index x ON x.indexrelid = c.oid WHERE i.schemaname = $1`,
      [schema],
    );
    for (const ix of ixs.rows) {
      if (ix.primary) continue;
      const m = /USING \w+ \(([\s\S]*?)\)(?: WHERE ([\s\S]*))?$/.exec(ix.indexdef)!;
      out.add(`index ${ix.tablename}(${normalize(m[1]!)})${/^CREATE UNIQUE/.test(ix.indexdef) ? ' unique' : ''}${m[2] ? ' partial' : ''}`);
    }
    return out;
  } finally {
    await pool.end();
  }
}

/** Differences that are meant: the line, the side that has it alone, and why. */
const INTENDED: { line: string; only: 'sqlite' | 'postgres'; why: string }[] = [
  ...['change_versions.topic: text not null', 'change_versions.version: integer not null', 'primary key change_versions(topic)'].map(
    (line) => ({
      line,
      only: 'sqlite' as const,
      why: "SQLite's watch polls the versions its triggers keep; PostgreSQL announces changes with NOTIFY",
    }),
  ),
  ...[
    'store_facts.key: text not null',
    'store_facts.value: text not null',
    'store_facts.at: integer not null',
    'primary key store_facts(key)',
  ].map((line) => ({
    line,
    only: 'postgres' as const,
    why: 'where a PostgreSQL database was copied from (migrate --from-sqlite, which only PostgreSQL has)',
  })),
  {
    line: 'messages.body_path: text',
    only: 'sqlite',
    why: 'PostgreSQL keeps every body in the database (every node must read it); SQLite may point at a spool file',
  },
  { line: 'messages.body: blob', only: 'sqlite', why: 'nullable in SQLite: a body in a spool file leaves it empty' },
  { line: 'messages.body: blob not null', only: 'postgres', why: 'PostgreSQL keeps every body in the database' },
];

test('indexColumns and typeClass read what both databases print', () => {
  assert.equal(
    indexColumns("CREATE INDEX recipients_due ON recipients(next_attempt_at) WHERE state IN ('queued', 'deferred')"),
    'next_attempt_at',
  );
  assert.equal(
    normalize(indexColumns('CREATE INDEX tracked_sender ON tracked_messages( lower(sender), created_at )')),
    'lower(sender), created_at',
  );
  assert.deepEqual(
    ['INTEGER', 'bigint', 'boolean', 'SMALLINT', 'TEXT', 'text', 'BLOB', 'bytea', 'REAL', 'double precision'].map(typeClass),
    ['integer', 'integer', 'integer', 'integer', 'text', 'text', 'blob', 'blob', 'real', 'real'],
  );
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-schema-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the SQLite and PostgreSQL migrations build the same schema (tables, columns, type classes, nullability, keys, indexes)', async () => {
  const pg = await makeSchema('schema');
  try {
    const lite = sqliteShape(path.join(tmp, 'postern.db'));
    const post = await postgresShape(pg.url, pg.schema);
    const intended = new Set(INTENDED.map((i) => `${i.only}: ${i.line}`));
    const drift = [
      ...[...lite].filter((l) => !post.has(l)).map((l) => `sqlite: ${l}`),
      ...[...post].filter((l) => !lite.has(l)).map((l) => `postgres: ${l}`),
    ]
      .filter((d) => !intended.has(d))
      .sort((a, b) => a.slice(a.indexOf(' ')).localeCompare(b.slice(b.indexOf(' '))) || a.localeCompare(b));
    assert.deepEqual(drift, [], `the schemas differ (each line exists on that side only):\n  ${drift.join('\n  ')}`);
    const has = (side: string, line: string) => (side === 'sqlite' ? lite.has(line) && !post.has(line) : post.has(line) && !lite.has(line));
    const stale = INTENDED.filter((i) => !has(i.only, i.line)).map((i) => `${i.only}: ${i.line}`);
    assert.deepEqual(stale, [], 'an INTENDED difference no longer exists: remove it from the list');
  } finally {
    await pg.drop();
  }
});
