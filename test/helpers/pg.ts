/**
 * A private PostgreSQL schema per test: POSTERN_TEST_PG_URL (default: the project's database on
 * 127.0.0.1:5432) with a fresh schema, dropped by drop().
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.POSTERN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  url: string;
  schema: string;
  drop(): Promise<void>;
}

export async function makeSchema(label = 't'): Promise<TestSchema> {
  const schema = `${label}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return {
    url: PG_URL,
    schema,
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}
