import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database } from './driver.ts';
import { openDatabase } from './db.ts';
import { MIGRATIONS } from './migrations.ts';

/** A database migrated only up to `version`, as an older Postern left it. */
function databaseAt(version: number): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'postern-db-')), 'queue.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  for (let v = 1; v <= version; v++) {
    db.exec(MIGRATIONS[v - 1]!);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(v);
  }
  db.close();
  return file;
}

const INSERT = `INSERT INTO messages (id, sender, size, body_path, body, client_ip, listener, created_at, state, top_headers)
  VALUES (@id, 'a@example.com', @size, @path, @body, '127.0.0.1', 'submission', 1, 'queued', @top)`;

test('migration 23 moves an inline body to the end of its row; the queued mail, its recipients and attempts stay, and foreign keys still cascade', () => {
  const file = databaseAt(22);
  const old = new Database(file);
  old.pragma('foreign_keys = ON');
  const big = Buffer.alloc(100 * 1024, 'x');
  old.prepare(INSERT).run({ id: 'inline', size: big.length, path: null, body: big, top: 'DKIM-Signature: v=1\r\n' });
  old.prepare(INSERT).run({ id: 'spooled', size: 5, path: 'q/spooled', body: null, top: null });
  for (const id of ['inline', 'spooled']) {
    old
      .prepare(
        "INSERT INTO recipients (message_id, idx, address, domain, next_attempt_at) VALUES (?, 0, 'b@remote.test', 'remote.test', 0)",
      )
      .run(id);
    old
      .prepare(
        "INSERT INTO attempts (message_id, recipient_idx, at, outcome, category, reply) VALUES (?, 0, 1, 'deferred', 'transient', '451 later')",
      )
      .run(id);
  }
  old.close();

  const db = openDatabase(file);
  const columns = (db.pragma('table_info(messages)') as { name: string }[]).map((c) => c.name);
  assert.equal(columns.at(-1), 'body', 'the body is the last column');
  assert.ok(columns.indexOf('top_headers') < columns.indexOf('body_path'));
  const row = db.prepare('SELECT body, top_headers, state FROM messages WHERE id = ?').get('inline') as {
    body: Buffer;
    top_headers: string;
    state: string;
  };
  assert.ok(row.body.equals(big));
  assert.equal(row.top_headers, 'DKIM-Signature: v=1\r\n');
  assert.equal(row.state, 'queued');
  assert.equal(db.prepare('SELECT body_path FROM messages WHERE id = ?').pluck().get('spooled'), 'q/spooled');
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1, 'foreign keys are on again');
  assert.deepEqual(db.pragma('foreign_key_check'), []);
  const indexes = (
    db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' AND sql IS NOT NULL")
      .pluck()
      .all() as string[]
  ).sort();
  assert.deepEqual(indexes, ['messages_created', 'messages_customer', 'messages_mailbox_state', 'messages_sender', 'messages_site_state']);
  // the children still point at the messages table: deleting a message takes them along
  db.prepare('DELETE FROM messages WHERE id = ?').run('inline');
  assert.equal(db.prepare("SELECT COUNT(*) FROM recipients WHERE message_id = 'inline'").pluck().get(), 0);
  assert.equal(db.prepare("SELECT COUNT(*) FROM attempts WHERE message_id = 'inline'").pluck().get(), 0);
  assert.equal(db.prepare("SELECT COUNT(*) FROM recipients WHERE message_id = 'spooled'").pluck().get(), 1);
  assert.throws(() => db.prepare(INSERT).run({ id: 'both', size: 1, path: 'q/x', body: Buffer.from('x'), top: null }), /CHECK/);
  db.close();
});

test('a migration that leaves a broken foreign key is rolled back, and the database stays as it was', () => {
  const file = databaseAt(22);
  const old = new Database(file);
  old.pragma('foreign_keys = OFF');
  old
    .prepare(
      "INSERT INTO recipients (message_id, idx, address, domain, next_attempt_at) VALUES ('gone', 0, 'b@remote.test', 'remote.test', 0)",
    )
    .run();
  old.close();
  assert.throws(() => openDatabase(file), /breaks 1 foreign key/);
  const after = new Database(file);
  assert.equal(after.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get(), 22);
  after.close();
});
