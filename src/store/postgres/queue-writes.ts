/**
 * The queue's write transactions in PostgreSQL, safe with several nodes at once:
 * - enqueue checks the sending limits with the counter rows locked (FOR UPDATE, in one order for
 *   the whole batch, so two nodes never deadlock on them): a burst split across nodes cannot
 *   pass a limit;
 * - claim takes due recipients with FOR UPDATE SKIP LOCKED and leases them in one statement;
 * - record locks the messages it touches first, so the last recipient's result of a message
 *   always sees the others' and removes the message exactly once.
 */
import { StoreError } from '../types.ts';
import { NEVER, type DeliveryJob, type NewMessage, type RecipientUpdate } from '../../core/index.ts';
import {
  admit,
  applicable,
  decide,
  holdReasonOf,
  needsHeldCount,
  type AdmissionFacts,
  type AppliedRule,
  type EnqueueVerdict,
  type LimitRule,
  type SenderFacts,
} from '../../limits/index.ts';
import { tx, isTransient, pgText, type Client, type Pool } from './db.ts';
import { jobsOf } from '../rows.ts';
import { updateEvents, type EventRow } from '../tracking.ts';
import { trackOutcomes, trackVerdicts } from './tracking-writes.ts';

type Row = Record<string, unknown>;
type Counter = AppliedRule['counter'];

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();
const counterKey = (c: Counter) => `${c.level}\u0000${c.target}\u0000${c.window}\u0000${c.start}`;
const HOUR = 3_600_000;

/** Runs a transaction again (a few times) when PostgreSQL reports a deadlock or a serialization failure. */
async function retrying<T>(pool: Pool, fn: (c: Client) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await tx(pool, fn);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 4 || !(code === '40P01' || code === '40001') || !isTransient(err)) throw err;
    }
  }
}

/** Locks the limit counters of a batch (made when missing) in one order; returns their usage. */
async function lockCounters(c: Client, counters: Counter[]): Promise<Map<string, { messages: number; recipients: number }>> {
  const usage = new Map<string, { messages: number; recipients: number }>();
  if (!counters.length) return usage;
  const sorted = [...new Map(counters.map((k) => [counterKey(k), k])).values()].sort((a, b) => (counterKey(a) < counterKey(b) ? -1 : 1));
  const cols = [sorted.map((k) => k.level), sorted.map((k) => k.target), sorted.map((k) => k.window), sorted.map((k) => k.start)];
  await c.query(
    `INSERT INTO limit_usage (level, target, win, window_start)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) ORDER BY 1, 2, 3, 4 ON CONFLICT DO NOTHING`,
    cols,
  );
  const { rows } = await c.query(
    `SELECT u.level, u.target, u.win, u.window_start, u.messages, u.recipients FROM limit_usage u
     JOIN unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS k(level, target, win, start)
       ON u.level = k.level AND u.target = k.target AND u.win = k.win AND u.window_start = k.start
     ORDER BY u.level, u.target, u.win, u.window_start FOR UPDATE OF u`,
    cols,
  );
  for (const r of rows) {
    usage.set(counterKey({ level: r.level, target: r.target, window: r.win, start: r.window_start } as Counter), {
      messages: r.messages as number,
      recipients: r.recipients as number,
    });
  }
  return usage;
}

/** A message's text as PostgreSQL can store it (no NUL), for every table it is written to. */
const storable = (m: NewMessage): NewMessage => ({
  ...m,
  sender: pgText(m.sender),
  messageIdHeader: pgText(m.messageIdHeader),
  authUser: pgText(m.authUser),
  dsnEnvid: pgText(m.dsnEnvid),
  topHeaders: pgText(m.topHeaders),
  subject: pgText(m.subject),
  recipients: m.recipients.map((r) => ({ ...r, address: pgText(r.address), orcpt: pgText(r.orcpt) })),
});

async function enqueueIn(c: Client, batch: NewMessage[]): Promise<EnqueueVerdict[]> {
  const messages = batch.map(storable);
  for (const m of messages) {
    if (m.bodyPath !== null || !m.body) {
      throw new StoreError(
        'invalid',
        'the PostgreSQL store keeps message bodies in the database (every node must read them): a spool file cannot be queued',
      );
    }
  }
  // a customer removed since its session logged in (a submission: onSenderHold): its messages
  // cannot be stored (the foreign key) and must not fail the others of the batch; KEY SHARE
  // holds off a removal until commit. Any other unknown customer still fails the batch.
  const customers = [...new Set(messages.flatMap((m) => (m.customerId === null || !m.onSenderHold ? [] : [m.customerId])))];
  const present = new Set(
    customers.length
      ? (await c.query<{ id: string }>('SELECT id FROM customers WHERE id = ANY($1::bigint[]) FOR KEY SHARE', [customers])).rows.map((r) =>
          Number(r.id),
        )
      : [],
  );
  const gone = (m: NewMessage) => Boolean(m.onSenderHold) && m.customerId !== null && !present.has(Number(m.customerId));
  // the bodies go in first, before any limit counter is locked: a large body's write never
  // makes another node's limit check wait
  await insertMessages(
    c,
    messages.filter((m) => !gone(m)),
  );
  const rules = messages.some((m) => m.limitScope)
    ? ((await c.query('SELECT level, target, win AS window, metric, max, action FROM limits')).rows as LimitRule[])
    : [];
  const appliedOf = new Map(messages.map((m) => [m.id, m.limitScope && rules.length ? applicable(rules, m.limitScope, m.createdAt) : []]));
  const usage = await lockCounters(
    c,
    [...appliedOf.values()].flat().map((a) => a.counter),
  );
  await lockSenders(
    c,
    messages.filter((m) => m.heldCap !== undefined),
  );

  const verdicts: EnqueueVerdict[] = [];
  const stored: { m: NewMessage; held: boolean; reason: string | null }[] = [];
  const decided: { m: NewMessage; v: EnqueueVerdict }[] = [];
  for (const m of messages) {
    const applied = appliedOf.get(m.id)!;
    const facts: AdmissionFacts = {
      sender: gone(m) ? { customer: null, mailbox: null, held: false } : await senderFacts(c, m),
      limits: applied.length
        ? decide(applied, (a) => usage.get(counterKey(a.counter)) ?? { messages: 0, recipients: 0 }, m.recipients.length)
        : null,
      heldCount: null,
    };
    let v = admit(m, facts);
    if (needsHeldCount(m, v)) v = admit(m, { ...facts, heldCount: await heldCount(c, m, stored) });
    verdicts.push(v);
    decided.push({ m, v });
    if (v.outcome === 'refused') continue;
    if (v.outcome === 'queued') count(applied, usage, m.recipients.length);
    stored.push({ m, held: v.outcome === 'held', reason: holdReasonOf(v) });
  }
  await writeCounters(c, usage);
  const refused = verdicts.filter((v) => v.outcome === 'refused').map((v) => v.id);
  if (refused.length) await c.query('DELETE FROM messages WHERE id = ANY($1::text[])', [refused]);
  const held = stored.filter((x) => x.held);
  if (held.length) {
    await c.query(
      `UPDATE messages m SET state = 'held', hold_reason = h.reason FROM unnest($1::text[], $2::text[]) AS h(id, reason) WHERE m.id = h.id`,
      [held.map((x) => x.m.id), held.map((x) => x.reason)],
    );
  }
  await insertRecipients(c, stored);
  await countActivity(
    c,
    stored.map((x) => x.m),
  );
  await trackVerdicts(c, decided);
  return verdicts;
}

/** Locks the mailboxes and sites whose held mail is capped, in one order, before they are counted. */
async function lockSenders(c: Client, messages: NewMessage[]): Promise<void> {
  const mailboxes = [...new Set(messages.flatMap((m) => (m.mailboxId ? [m.mailboxId] : [])))].sort((a, b) => a - b);
  const sites = [...new Set(messages.flatMap((m) => (!m.mailboxId && m.siteId ? [m.siteId] : [])))].sort((a, b) => a - b);
  // NO KEY UPDATE: the rows' foreign-key references (activity counters) are not blocked
  if (mailboxes.length) await c.query('SELECT id FROM mailboxes WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE', [mailboxes]);
  if (sites.length) await c.query('SELECT id FROM sites WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE', [sites]);
}

/** The sender's state for a message that checks it (onSenderHold), in one statement: its customer's and mailbox's status, and its hold. */
async function senderFacts(c: Client, m: NewMessage): Promise<SenderFacts | undefined> {
  if (!m.onSenderHold) return undefined;
  const { rows } = await c.query(
    `SELECT (SELECT status FROM customers WHERE id = $1) AS customer, (SELECT status FROM mailboxes WHERE id = $2) AS mailbox,
       CASE WHEN $2::bigint IS NOT NULL THEN (SELECT held_since FROM mailboxes WHERE id = $2) ELSE (SELECT held_since FROM sites WHERE id = $3) END AS held_since`,
    [m.customerId, m.mailboxId || null, m.siteId || null],
  );
  return { customer: rows[0]?.customer ?? null, mailbox: rows[0]?.mailbox ?? null, held: rows[0]?.held_since != null };
}

/** Counts a queued message once per (level, target, window) counter. */
function count(applied: AppliedRule[], usage: Map<string, { messages: number; recipients: number }>, recipients: number): void {
  const seen = new Set<string>();
  for (const a of applied) {
    const k = counterKey(a.counter);
    if (seen.has(k)) continue;
    seen.add(k);
    const u = usage.get(k)!;
    u.messages += 1;
    u.recipients += recipients;
  }
}

async function writeCounters(c: Client, usage: Map<string, { messages: number; recipients: number }>): Promise<void> {
  if (!usage.size) return;
  const keys = [...usage.keys()].map((k) => k.split('\u0000'));
  await c.query(
    `UPDATE limit_usage u SET messages = k.messages, recipients = k.recipients
     FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::int[], $6::int[]) AS k(level, target, win, start, messages, recipients)
     WHERE u.level = k.level AND u.target = k.target AND u.win = k.win AND u.window_start = k.start`,
    [
      keys.map((k) => k[0]),
      keys.map((k) => k[1]),
      keys.map((k) => k[2]),
      keys.map((k) => Number(k[3])),
      [...usage.values()].map((u) => u.messages),
      [...usage.values()].map((u) => u.recipients),
    ],
  );
}

/** Messages of its mailbox (or site) held so far: those committed, and those held earlier in this batch. */
async function heldCount(c: Client, m: NewMessage, batch: { m: NewMessage; held: boolean }[]): Promise<number> {
  // held earlier in this batch counts too (its state is set at the end of the transaction)
  const sameSender = (o: NewMessage) => (m.mailboxId ? o.mailboxId === m.mailboxId : !o.mailboxId && o.siteId === m.siteId);
  const inBatch = batch.filter((b) => b.held && sameSender(b.m)).length;
  // the sender's row was locked by lockSenders; this statement's snapshot is taken after that
  // lock, so it sees what another node held and committed meanwhile
  const { rows } = m.mailboxId
    ? await c.query(`SELECT COUNT(*) AS n FROM messages WHERE mailbox_id = $1 AND state = 'held'`, [m.mailboxId])
    : await c.query(`SELECT COUNT(*) AS n FROM messages WHERE site_id = $1 AND state = 'held'`, [m.siteId]);
  return (rows[0].n as number) + inBatch;
}

const MESSAGE_COLUMNS = `id, customer_id, mailbox_id, site_id, sender, size, body, message_id_header, client_ip, auth_user, listener,
  dsn_ret, dsn_envid, created_at, eight_bit, smtputf8, state, top_headers, hold_reason`;
const STATEMENT_BYTES = 16 * 1024 * 1024;

/** The rows of a batch, in state queued (held and refused ones are settled later in the transaction). */
async function insertMessages(c: Client, messages: NewMessage[]): Promise<void> {
  // each body is its own parameter, sent in binary (an array literal would hex-encode them all
  // into one string); statements are cut at a few megabytes
  for (let i = 0; i < messages.length; ) {
    const params: unknown[] = [];
    const tuples: string[] = [];
    let bytes = 0;
    for (; i < messages.length && (tuples.length === 0 || (bytes < STATEMENT_BYTES && tuples.length < 1000)); i++) {
      const m = messages[i];
      const body = Buffer.from(m.body!.buffer, m.body!.byteOffset, m.body!.byteLength);
      bytes += body.length;
      const row = [
        m.id,
        m.customerId,
        m.mailboxId,
        m.siteId ?? null,
        pgText(m.sender),
        m.size,
        body,
        pgText(m.messageIdHeader),
        m.clientIp,
        pgText(m.authUser),
        m.listener,
        m.dsnRet,
        pgText(m.dsnEnvid),
        m.createdAt,
        !!m.eightBit,
        !!m.smtputf8,
        'queued',
        pgText(m.topHeaders ?? null),
        null,
      ];
      tuples.push(
        `(${row
          .map((v) => {
            params.push(v);
            return `$${params.length}`;
          })
          .join(', ')})`,
      );
    }
    await c.query(`INSERT INTO messages (${MESSAGE_COLUMNS}) VALUES ${tuples.join(', ')}`, params);
  }
}

async function insertRecipients(c: Client, stored: { m: NewMessage; held: boolean }[]): Promise<void> {
  const r = stored.flatMap((s) => s.m.recipients.map((rc, i) => ({ id: s.m.id, i, rc, due: s.held ? NEVER : s.m.createdAt })));
  if (!r.length) return;
  await c.query(
    `INSERT INTO recipients (message_id, idx, address, domain, next_attempt_at, notify, orcpt)
     SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[])`,
    [
      r.map((x) => x.id),
      r.map((x) => x.i),
      r.map((x) => pgText(x.rc.address)),
      r.map((x) => pgText(domainOf(x.rc.address))),
      r.map((x) => x.due),
      r.map((x) => x.rc.notify ?? null),
      r.map((x) => pgText(x.rc.orcpt ?? null)),
    ],
  );
}

/** The mailboxes of `ids` that still exist, locked against removal until the commit (their counters refer to them). */
async function existingMailboxes(c: Client, ids: number[]): Promise<Set<number>> {
  if (!ids.length) return new Set();
  const { rows } = await c.query('SELECT id FROM mailboxes WHERE id = ANY($1::bigint[]) ORDER BY id FOR KEY SHARE', [
    [...new Set(ids)].sort((a, b) => a - b),
  ]);
  return new Set(rows.map((r) => r.id as number));
}

/** What each mailbox sent this hour (recipients, their domains): the compromise signals. */
async function countActivity(c: Client, messages: NewMessage[]): Promise<void> {
  const hours = new Map<string, { mailbox: number; hour: number; n: number; domains: Set<string> }>();
  for (const m of messages) {
    if (!m.mailboxId) continue;
    const hour = m.createdAt - (m.createdAt % HOUR);
    const k = `${m.mailboxId}|${hour}`;
    const h = hours.get(k) ?? { mailbox: m.mailboxId, hour, n: 0, domains: new Set<string>() };
    h.n += m.recipients.length;
    for (const r of m.recipients) h.domains.add(domainOf(r.address));
    hours.set(k, h);
  }
  // a mailbox removed meanwhile (its mail still queued) is skipped, never a foreign-key error;
  // the ones that exist are locked against removal until the commit
  const alive = await existingMailboxes(
    c,
    [...hours.values()].map((h) => h.mailbox),
  );
  for (const h of [...hours.values()].filter((x) => alive.has(x.mailbox)).sort((a, b) => a.mailbox - b.mailbox || a.hour - b.hour)) {
    await c.query(
      `INSERT INTO mailbox_hours (mailbox_id, hour_start, recipients) VALUES ($1, $2, $3)
       ON CONFLICT (mailbox_id, hour_start) DO UPDATE SET recipients = mailbox_hours.recipients + excluded.recipients`,
      [h.mailbox, h.hour, h.n],
    );
    await c.query(
      `INSERT INTO mailbox_hour_domains (mailbox_id, hour_start, domain) SELECT $1, $2, d FROM unnest($3::text[]) AS d
       ON CONFLICT DO NOTHING`,
      [h.mailbox, h.hour, [...h.domains].sort().map(pgText)],
    );
  }
}

export async function enqueue(pool: Pool, messages: NewMessage[]): Promise<EnqueueVerdict[]> {
  if (!messages.length) return [];
  return retrying(pool, (c) => enqueueIn(c, messages));
}

export interface ClaimOptions {
  owner: string;
  now: number;
  leaseMs: number;
  limit: number;
  excludeDomains?: string[];
}

/**
 * Due recipients, leased in one statement. SKIP LOCKED: a node never waits for another's claim
 * and never gets the same rows; the partial index recipients_due serves the WHERE and the order.
 */
export async function claim(pool: Pool, o: ClaimOptions): Promise<DeliveryJob[]> {
  const lease = { owner: o.owner, until: o.now + o.leaseMs };
  const { rows } = await pool.query(
    `WITH due AS (
       SELECT r.message_id, r.idx, r.next_attempt_at AS due_at FROM recipients r JOIN messages m ON m.id = r.message_id
       WHERE r.state IN ('queued', 'deferred') AND r.next_attempt_at <= $1 AND m.state IN ('queued', 'cancelled')
         AND NOT (r.domain = ANY($2::text[]))
       ORDER BY r.next_attempt_at LIMIT $3
       FOR UPDATE OF r SKIP LOCKED)
     UPDATE recipients r SET next_attempt_at = $4, lease_owner = $5
     FROM due, messages m
     WHERE r.message_id = due.message_id AND r.idx = due.idx AND m.id = r.message_id
     RETURNING due.due_at, r.message_id, r.idx, r.address, r.domain, r.attempts, r.notify, r.orcpt, r.delay_notified,
       m.customer_id, m.site_id, m.sender, m.size, m.message_id_header, m.listener, m.dsn_ret, m.dsn_envid, m.created_at, m.state,
       m.eight_bit, m.smtputf8, m.top_headers`,
    [o.now, o.excludeDomains ?? [], o.limit, lease.until, lease.owner],
  );
  // the byte order of ids, as SQLite sorts them (not the collation's)
  (rows as Row[]).sort(
    (a, b) =>
      (a.due_at as number) - (b.due_at as number) ||
      (a.message_id === b.message_id ? 0 : (a.message_id as string) < (b.message_id as string) ? -1 : 1) ||
      (a.idx as number) - (b.idx as number),
  );
  return jobsOf(rows as Row[], lease);
}

async function recordIn(c: Client, results: RecipientUpdate[]): Promise<{ finished: { id: string; bodyPath: string | null }[] }> {
  // a remote server's reply may carry a NUL, which PostgreSQL text cannot hold
  const updates = results.map((u) => ({ ...u, reply: pgText(u.reply), category: pgText(u.category), remoteHost: pgText(u.remoteHost) }));
  const ids = [...new Set(updates.map((u) => u.messageId))].sort();
  // one order for every node: two results of one message wait for each other, never deadlock
  await c.query('SELECT id FROM messages WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [ids]);
  const touched = new Set<string>();
  const hours = new Map<string, { mailbox: number; hour: number; delivered: number; bad: number }>();
  const tracked: EventRow[] = [];
  for (const u of updates) {
    // a deferred recipient of a message cancelled meanwhile is due at once (to be bounced); of a
    // message held meanwhile, never (until it is released)
    const { rows } = await c.query(
      `UPDATE recipients r SET state = $3,
         next_attempt_at = CASE WHEN $3 = 'deferred' AND m.state = 'cancelled' THEN $4::bigint
           WHEN $3 = 'deferred' AND m.state = 'held' THEN $13::bigint ELSE $5::bigint END,
         last_reply = $6, category = $7, remote_host = $8,
         last_attempt_at = CASE WHEN $9::boolean THEN $4::bigint ELSE r.last_attempt_at END,
         attempts = r.attempts + (CASE WHEN $9::boolean THEN 1 ELSE 0 END), lease_owner = NULL,
         delay_notified = r.delay_notified OR $10::boolean
       FROM messages m
       WHERE m.id = r.message_id AND r.message_id = $1 AND r.idx = $2 AND r.state IN ('queued', 'deferred')
         AND ($11::text IS NULL OR (r.lease_owner = $11 AND r.next_attempt_at = $12::bigint))
       RETURNING r.attempts, r.address, m.mailbox_id`,
      [
        u.messageId,
        u.idx,
        u.state,
        u.at,
        u.state === 'deferred' ? u.nextAttemptAt : u.at,
        pgText(u.reply),
        pgText(u.category),
        pgText(u.remoteHost),
        u.attempted,
        !!u.delayNotified,
        u.lease?.owner ?? null,
        u.lease?.until ?? null,
        NEVER,
      ],
    );
    if (!rows.length) continue; // deleted meanwhile (queue delete), or no longer this claim's
    touched.add(u.messageId);
    tracked.push(...updateEvents(u, rows[0].address as string));
    if (!u.attempted) continue;
    await c.query(
      'INSERT INTO attempts (message_id, recipient_idx, at, outcome, category, reply, remote_host) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [u.messageId, u.idx, u.at, u.state, pgText(u.category), pgText(u.reply), pgText(u.remoteHost)],
    );
    // each recipient counts once: delivered, failed, or its first deferral (not every retry)
    const mailbox = rows[0].mailbox_id as number | null;
    if (mailbox && (u.state !== 'deferred' || rows[0].attempts === 1)) {
      const hour = u.at - (u.at % HOUR);
      const h = hours.get(`${mailbox}|${hour}`) ?? { mailbox, hour, delivered: 0, bad: 0 };
      if (u.state === 'delivered') h.delivered++;
      else h.bad++;
      hours.set(`${mailbox}|${hour}`, h);
    }
  }
  await countOutcomes(c, [...hours.values()]);
  if (!touched.size) return { finished: [] };
  await trackOutcomes(c, tracked);
  const { rows } = await c.query(
    `DELETE FROM messages m WHERE m.id = ANY($1::text[])
       AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state NOT IN ('delivered', 'failed'))
     RETURNING m.id`,
    [[...touched].sort()],
  );
  return { finished: rows.map((r) => ({ id: r.id as string, bodyPath: null })) };
}

/**
 * The mailboxes' delivered / bad counts of a batch, one upsert per (mailbox, hour) in the
 * order enqueue uses too: two nodes recording results of the same mailboxes never deadlock.
 */
async function countOutcomes(c: Client, hours: { mailbox: number; hour: number; delivered: number; bad: number }[]): Promise<void> {
  const alive = await existingMailboxes(
    c,
    hours.map((h) => h.mailbox),
  );
  for (const h of hours.filter((x) => alive.has(x.mailbox)).sort((a, b) => a.mailbox - b.mailbox || a.hour - b.hour)) {
    await c.query(
      `INSERT INTO mailbox_hours (mailbox_id, hour_start, recipients, delivered, bad) VALUES ($1, $2, 0, $3, $4)
       ON CONFLICT (mailbox_id, hour_start) DO UPDATE SET delivered = mailbox_hours.delivered + excluded.delivered, bad = mailbox_hours.bad + excluded.bad`,
      [h.mailbox, h.hour, h.delivered, h.bad],
    );
  }
}

export async function record(pool: Pool, updates: RecipientUpdate[]): Promise<{ finished: { id: string; bodyPath: string | null }[] }> {
  if (!updates.length) return { finished: [] };
  return retrying(pool, (c) => recordIn(c, updates));
}

export async function releaseLeases(pool: Pool, owner: string, now: number): Promise<number> {
  const r = await pool.query(
    `UPDATE recipients SET next_attempt_at = $1, lease_owner = NULL WHERE lease_owner = $2 AND state IN ('queued', 'deferred')`,
    [now, owner],
  );
  return r.rowCount ?? 0;
}
