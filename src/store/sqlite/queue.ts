/** The queue tables in SQLite: batched enqueue in one synchronous transaction, listing. */
import type { Db } from './db.ts';
import type { NewMessage, QueueRepo, QueuedMessage, QueuedRecipient, MessageState, RecipientState } from '../types.ts';

type Row = Record<string, unknown>;

const MESSAGE_SELECT = `SELECT m.id, m.customer_id, m.sender, m.size, m.body_path, m.state, m.message_id_header, m.client_ip,
  m.auth_user, m.listener, m.created_at, c.name AS customer_name FROM messages m LEFT JOIN customers c ON c.id = m.customer_id`;

/** The enqueue transaction, shared by the main thread and the writer worker. */
export function prepareEnqueue(db: Db): (messages: NewMessage[]) => void {
  const insertMessage = db.prepare(
    `INSERT INTO messages (id, customer_id, mailbox_id, sender, size, body_path, body, message_id_header, client_ip,
       auth_user, listener, dsn_ret, dsn_envid, created_at)
     VALUES (@id, @customerId, @mailboxId, @sender, @size, @bodyPath, @body, @messageIdHeader, @clientIp,
       @authUser, @listener, @dsnRet, @dsnEnvid, @createdAt)`,
  );
  const insertRecipient = db.prepare(
    'INSERT INTO recipients (message_id, idx, address, next_attempt_at, notify, orcpt) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const enqueue = db.transaction((messages: NewMessage[]) => {
    for (const m of messages) {
      const { recipients, body, ...row } = m;
      // A body that crossed a thread boundary arrives as a plain Uint8Array.
      insertMessage.run({ ...row, body: body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : null });
      recipients.forEach((r, i) => insertRecipient.run(m.id, i, r.address, m.createdAt, r.notify ?? null, r.orcpt ?? null));
    }
  });
  // IMMEDIATE takes the write lock up front, so a concurrent CLI writer cannot deadlock the upgrade.
  return (messages) => enqueue.immediate(messages);
}

/**
 * The queue repository. Reads run on the caller's connection; enqueueBatch goes to `commit`,
 * which the adapter points at the writer worker so that the synchronous commit's fsync never
 * blocks the event loop.
 */
export function createQueueRepo(db: Db, commit: (messages: NewMessage[]) => Promise<void>): QueueRepo {
  const recipientsOf = db.prepare('SELECT * FROM recipients WHERE message_id = ? ORDER BY idx');

  const toRecipient = (r: Row): QueuedRecipient => ({
    address: r.address as string,
    state: r.state as RecipientState,
    attempts: r.attempts as number,
    nextAttemptAt: r.next_attempt_at as number,
    lastReply: (r.last_reply as string | null) ?? null,
  });
  const toMessage = (r: Row): QueuedMessage => ({
    id: r.id as string,
    customerName: (r.customer_name as string | null) ?? null,
    sender: r.sender as string,
    size: r.size as number,
    state: r.state as MessageState,
    bodyPath: (r.body_path as string | null) ?? null,
    messageIdHeader: (r.message_id_header as string | null) ?? null,
    authUser: (r.auth_user as string | null) ?? null,
    clientIp: r.client_ip as string,
    listener: r.listener as string,
    createdAt: r.created_at as number,
    recipients: (recipientsOf.all(r.id) as Row[]).map(toRecipient),
  });

  return {
    enqueueBatch: commit,
    async list(filter = {}) {
      const rows = db.prepare(`${MESSAGE_SELECT} ORDER BY m.created_at, m.id LIMIT ?`).all(filter.limit ?? 1000) as Row[];
      return rows.map(toMessage);
    },
    async get(id) {
      const r = db.prepare(`${MESSAGE_SELECT} WHERE m.id = ?`).get(id) as Row | undefined;
      return r ? toMessage(r) : null;
    },
    async count() {
      return (db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n;
    },
    async bodyPaths() {
      return new Set(db.prepare('SELECT body_path FROM messages WHERE body_path IS NOT NULL').pluck().all() as string[]);
    },
    async inlineBody(id) {
      return (db.prepare('SELECT body FROM messages WHERE id = ?').pluck().get(id) as Buffer | null | undefined) ?? null;
    },
  };
}
