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

/**
 * Runs the migrations not yet applied, in one transaction. Foreign keys are off meanwhile (a
 * migration may rebuild a table others refer to, as SQLite's documentation describes; dropping
 * the old table would otherwise cascade to its children) and are checked before the commit.
 */
function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const applied = () => (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  if (applied() === MIGRATIONS.length) return;
  const run = db.transaction(() => {
    const from = applied();
    if (from > MIGRATIONS.length) {
      throw new Error(`database schema version ${from} is newer than this Postern (${MIGRATIONS.length}); upgrade Postern`);
    }
    for (let v = from + 1; v <= MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v - 1]);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(v, Date.now());
    }
    const broken = db.pragma('foreign_key_check') as unknown[];
    if (broken.length)
      throw new Error(`the migrated database breaks ${broken.length} foreign key(s): ${JSON.stringify(broken.slice(0, 3))}`);
  });
  db.pragma('foreign_keys = OFF'); // a no-op inside a transaction: set before it
  try {
    run.immediate();
  } finally {
    db.pragma('foreign_keys = ON');
  }
}
