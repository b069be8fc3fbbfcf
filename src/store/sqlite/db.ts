/** Opening the SQLite database: WAL, synchronous commits, busy timeout, migrations. */
import fs from 'node:fs';
import path from 'node:path';
import { Database, type Db } from './driver.ts';
import { MIGRATIONS } from './migrations.ts';

export type { Db };

export function openDatabase(file: string): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: every commit fsyncs the WAL, so a committed queue row survives power loss.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const run = db.transaction(() => {
    const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number };
    if (row.v > MIGRATIONS.length) {
      throw new Error(`database schema version ${row.v} is newer than this Postern (${MIGRATIONS.length}); upgrade Postern`);
    }
    for (let v = row.v + 1; v <= MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v - 1]);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(v, Date.now());
    }
  });
  run.immediate();
}
