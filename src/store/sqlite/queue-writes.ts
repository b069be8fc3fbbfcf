/**
 * The queue's write transactions (enqueue, claim, record, lease release), prepared once per
 * connection. They run in the writer worker so that their synchronous commits never block the
 * event loop; ':memory:' databases (tests) run them on the main connection.
 */
import type { Db } from './db.ts';
import { jobsOf } from '../rows.ts';
import {
  NEVER,
  type CustomerStatus,
  type DeliveryJob,
  type MailboxStatus,
  type NewMessage,
  type RecipientUpdate,
} from '../../core/index.ts';
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
import { updateEvents, type EventRow } from '../tracking.ts';
import { prepareTrackingWrites } from './tracking-writes.ts';

type Row = Record<string, unknown>;

export interface QueueWrites {
  enqueue(messages: NewMessage[]): EnqueueVerdict[];
  claim(opts: { owner: string; now: number; leaseMs: number; limit: number; excludeDomains?: string[] }): DeliveryJob[];
  record(updates: RecipientUpdate[]): { finished: { id: string; bodyPath: string | null }[] };
  releaseLeases(owner: string, now: number): number;
}

/** The domain of an address (after the last '@'), lower-case. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

export function prepareQueueWrites(db: Db): QueueWrites {
  const tracking = prepareTrackingWrites(db);
  const insertMessage = db.prepare(
    `INSERT INTO messages (id, customer_id, mailbox_id, site_id, sender, size, body_path, body, message_id_header, client_ip,
       auth_user, listener, dsn_ret, dsn_envid, created_at, eight_bit, smtputf8, state, top_headers, hold_reason)
     VALUES (@id, @customerId, @mailboxId, @siteId, @sender, @size, @bodyPath, @body, @messageIdHeader, @clientIp,
       @authUser, @listener, @dsnRet, @dsnEnvid, @createdAt, @eightBit, @smtputf8, @state, @topHeaders, @holdReason)`,
  );
  const insertRecipient = db.prepare(
    'INSERT INTO recipients (message_id, idx, address, domain, next_attempt_at, notify, orcpt) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const allRules = db.prepare('SELECT level, target, window, metric, max, action FROM limits');
  const usageOf = db.prepare(
    'SELECT messages, recipients FROM limit_usage WHERE level = ? AND target = ? AND window = ? AND window_start = ?',
  );
  const count = db.prepare(
    `INSERT INTO limit_usage (level, target, window, window_start, messages, recipients) VALUES (?, ?, ?, ?, 1, ?)
     ON CONFLICT (level, target, window, window_start) DO UPDATE SET messages = messages + 1, recipients = recipients + excluded.recipients`,
  );
  /** The rules that apply to a message, and what they say given its counters' usage so far. */
  const limitFacts = (m: NewMessage, rules: LimitRule[]): { applied: AppliedRule[]; decision: AdmissionFacts['limits'] } => {
    if (!m.limitScope || !rules.length) return { applied: [], decision: null };
    const applied = applicable(rules, m.limitScope, m.createdAt);
    const usage = (a: AppliedRule) =>
      (usageOf.get(a.counter.level, a.counter.target, a.counter.window, a.counter.start) as
        | { messages: number; recipients: number }
        | undefined) ?? { messages: 0, recipients: 0 };
    return { applied, decision: decide(applied, usage, m.recipients.length) };
  };
  /** A queued message goes up one counter per (level, target, window): a window with both metrics is counted once. */
  const countLimits = (m: NewMessage, applied: AppliedRule[]) => {
    const counters = new Map(applied.map((a) => [`${a.counter.level}|${a.counter.target}|${a.counter.window}`, a.counter]));
    for (const c of counters.values()) count.run(c.level, c.target, c.window, c.start, m.recipients.length);
  };
  const heldSince = db.prepare('SELECT held_since FROM mailboxes WHERE id = ?').pluck();
  const siteHeldSince = db.prepare('SELECT held_since FROM sites WHERE id = ?').pluck();
  // Activity rows refer to the mailbox; one removed meanwhile (its mail still queued) is skipped,
  // never a foreign-key error that would fail the whole batch.
  const hourCount = db.prepare(
    `INSERT INTO mailbox_hours (mailbox_id, hour_start, recipients) SELECT @mailbox, @hour, @n WHERE EXISTS (SELECT 1 FROM mailboxes WHERE id = @mailbox)
     ON CONFLICT (mailbox_id, hour_start) DO UPDATE SET recipients = recipients + excluded.recipients`,
  );
  const hourDomain = db.prepare(
    `INSERT OR IGNORE INTO mailbox_hour_domains (mailbox_id, hour_start, domain) SELECT @mailbox, @hour, @domain
     WHERE EXISTS (SELECT 1 FROM mailboxes WHERE id = @mailbox)`,
  );
  const customerStatus = db.prepare('SELECT status FROM customers WHERE id = ?').pluck();
  const mailboxStatus = db.prepare('SELECT status FROM mailboxes WHERE id = ?').pluck();
  /** The sender's state for a message that checks it (onSenderHold): its customer's and mailbox's status, and its hold. */
  const senderFacts = (m: NewMessage): SenderFacts | undefined => {
    if (!m.onSenderHold) return undefined;
    const held = m.mailboxId ? heldSince.get(m.mailboxId) : m.siteId ? siteHeldSince.get(m.siteId) : null;
    return {
      customer: m.customerId !== null ? ((customerStatus.get(m.customerId) as CustomerStatus | undefined) ?? null) : null,
      mailbox: m.mailboxId ? ((mailboxStatus.get(m.mailboxId) as MailboxStatus | undefined) ?? null) : null,
      held: held != null,
    };
  };
  /** What the mailbox sent this hour (recipients, their domains): the compromise signals. */
  const activity = (m: NewMessage) => {
    if (!m.mailboxId) return;
    const hour = m.createdAt - (m.createdAt % 3_600_000);
    hourCount.run({ mailbox: m.mailboxId, hour, n: m.recipients.length });
    for (const d of new Set(m.recipients.map((r) => domainOf(r.address)))) hourDomain.run({ mailbox: m.mailboxId, hour, domain: d });
  };
  const heldCount = db.prepare("SELECT COUNT(*) FROM messages WHERE mailbox_id = ? AND state = 'held'").pluck();
  const heldCountOfSite = db.prepare("SELECT COUNT(*) FROM messages WHERE site_id = ? AND state = 'held'").pluck();
  /** Messages of its mailbox (or site) held so far (earlier ones of the batch are already written). */
  const heldCountOf = (m: NewMessage): number => (m.mailboxId ? heldCount.get(m.mailboxId) : heldCountOfSite.get(m.siteId)) as number;
  const enqueue = db.transaction((messages: NewMessage[]) => {
    const rules = messages.some((m) => m.limitScope) ? (allRules.all() as LimitRule[]) : [];
    const verdicts: EnqueueVerdict[] = [];
    for (const m of messages) {
      const { applied, decision } = limitFacts(m, rules);
      const facts: AdmissionFacts = { sender: senderFacts(m), limits: decision, heldCount: null };
      let verdict = admit(m, facts);
      if (needsHeldCount(m, verdict)) verdict = admit(m, { ...facts, heldCount: heldCountOf(m) });
      verdicts.push(verdict);
      if (m.track) tracking.verdict(m, verdict);
      if (verdict.outcome === 'refused') continue;
      if (verdict.outcome === 'queued') countLimits(m, applied);
      activity(m);
      const held = verdict.outcome === 'held';
      const {
        recipients,
        body,
        limitScope: _scope,
        onSenderHold: _hold,
        heldCap: _cap,
        contentHold: _content,
        track: _track,
        subject: _subject,
        ...row
      } = m;
      // A body that crossed a thread boundary arrives as a plain Uint8Array.
      insertMessage.run({
        ...row,
        siteId: m.siteId ?? null,
        topHeaders: m.topHeaders ?? null,
        holdReason: holdReasonOf(verdict),
        eightBit: m.eightBit ? 1 : 0,
        smtputf8: m.smtputf8 ? 1 : 0,
        state: held ? 'held' : 'queued',
        body: body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : null,
      });
      const due = held ? NEVER : m.createdAt;
      recipients.forEach((r, i) => insertRecipient.run(m.id, i, r.address, domainOf(r.address), due, r.notify ?? null, r.orcpt ?? null));
    }
    return verdicts;
  });

  // The partial index recipients_due serves the WHERE; held messages' recipients are due NEVER.
  const due = db.prepare(
    `SELECT r.message_id, r.idx, r.address, r.domain, r.attempts, r.notify, r.orcpt, r.delay_notified,
       m.customer_id, m.site_id, m.sender, m.size, m.body_path, m.message_id_header, m.listener, m.dsn_ret, m.dsn_envid, m.created_at, m.state, m.eight_bit, m.smtputf8, m.top_headers
     FROM recipients r JOIN messages m ON m.id = r.message_id
     WHERE r.state IN ('queued', 'deferred') AND r.next_attempt_at <= @now AND m.state IN ('queued', 'cancelled')
       AND r.domain NOT IN (SELECT value FROM json_each(@exclude))
     ORDER BY r.next_attempt_at LIMIT @limit`,
  );
  const setLease = db.prepare('UPDATE recipients SET next_attempt_at = ?, lease_owner = ? WHERE message_id = ? AND idx = ?');
  // domains the caller has enough of are left out, so one domain's backlog cannot fill the window
  const claim = db.transaction((o: { owner: string; now: number; leaseMs: number; limit: number; excludeDomains?: string[] }) => {
    const rows = due.all({ now: o.now, limit: o.limit, exclude: JSON.stringify(o.excludeDomains ?? []) }) as Row[];
    const lease = { owner: o.owner, until: o.now + o.leaseMs };
    for (const r of rows) setLease.run(lease.until, lease.owner, r.message_id, r.idx);
    return jobsOf(rows, lease);
  });

  // A deferred recipient of a message cancelled meanwhile is due at once (to be bounced); of a
  // message held meanwhile, never (until it is released: the claim need not look at it again).
  const update = db.prepare(
    `UPDATE recipients SET state = @state,
       next_attempt_at = CASE WHEN @state <> 'deferred' THEN @nextAttemptAt
         ELSE CASE (SELECT state FROM messages WHERE id = @messageId) WHEN 'cancelled' THEN @at WHEN 'held' THEN ${NEVER} ELSE @nextAttemptAt END END,
       last_reply = @reply, category = @category,
       remote_host = @remoteHost, last_attempt_at = CASE WHEN @attempted THEN @at ELSE last_attempt_at END,
       attempts = attempts + @attempted, lease_owner = NULL, delay_notified = MAX(delay_notified, @delayNotified)
     WHERE message_id = @messageId AND idx = @idx AND state IN ('queued', 'deferred')
       AND (@leaseOwner IS NULL OR (lease_owner = @leaseOwner AND next_attempt_at = @leaseUntil))`,
  );
  const insertAttempt = db.prepare(
    'INSERT INTO attempts (message_id, recipient_idx, at, outcome, category, reply, remote_host) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const mailboxOf = db.prepare('SELECT mailbox_id FROM messages WHERE id = ?').pluck();
  const outcome = db.prepare(
    `INSERT INTO mailbox_hours (mailbox_id, hour_start, recipients, delivered, bad)
     SELECT @mailbox, @hour, 0, @delivered, @bad WHERE EXISTS (SELECT 1 FROM mailboxes WHERE id = @mailbox)
     ON CONFLICT (mailbox_id, hour_start) DO UPDATE SET delivered = delivered + excluded.delivered, bad = bad + excluded.bad`,
  );
  const attemptsOf = db.prepare('SELECT attempts FROM recipients WHERE message_id = ? AND idx = ?').pluck();
  const addressOf = db.prepare('SELECT address FROM recipients WHERE message_id = ? AND idx = ?').pluck();
  const pendingCount = db.prepare("SELECT COUNT(*) FROM recipients WHERE message_id = ? AND state NOT IN ('delivered', 'failed')").pluck();
  const bodyPathOf = db.prepare('SELECT body_path FROM messages WHERE id = ?').pluck();
  const deleteMessage = db.prepare('DELETE FROM messages WHERE id = ?');
  const record = db.transaction((updates: RecipientUpdate[]) => {
    const touched = new Set<string>();
    const tracked: EventRow[] = [];
    const attempts: [messageId: string, ...rest: unknown[]][] = [];
    for (const u of updates) {
      const { lease, notice: _notice, ...rest } = u;
      const res = update.run({
        ...rest,
        attempted: u.attempted ? 1 : 0,
        delayNotified: u.delayNotified ? 1 : 0,
        nextAttemptAt: u.state === 'deferred' ? u.nextAttemptAt : u.at,
        leaseOwner: lease?.owner ?? null,
        leaseUntil: lease?.until ?? null,
      });
      if (!res.changes) continue; // deleted meanwhile (queue delete), or no longer this claim's
      tracked.push(...updateEvents(u, addressOf.get(u.messageId, u.idx) as string));
      if (u.attempted) {
        attempts.push([u.messageId, u.idx, u.at, u.state, u.category, u.reply, u.remoteHost]);
        // each recipient counts once: delivered, failed, or its first deferral (not every retry)
        const mailbox = mailboxOf.get(u.messageId) as number | null | undefined;
        const first = u.state !== 'deferred' || (attemptsOf.get(u.messageId, u.idx) as number) === 1;
        if (mailbox && first) {
          outcome.run({
            mailbox,
            hour: u.at - (u.at % 3_600_000),
            delivered: u.state === 'delivered' ? 1 : 0,
            bad: u.state === 'delivered' ? 0 : 1,
          });
        }
      }
      touched.add(u.messageId);
    }
    tracking.outcomes(tracked);
    const finished: { id: string; bodyPath: string | null }[] = [];
    const gone = new Set<string>();
    for (const id of touched) {
      if ((pendingCount.get(id) as number) > 0) continue;
      finished.push({ id, bodyPath: (bodyPathOf.get(id) as string | null) ?? null });
      deleteMessage.run(id);
      gone.add(id);
    }
    // a finished message's attempts would go with it (ON DELETE CASCADE): written only for the rest
    for (const a of attempts) if (!gone.has(a[0])) insertAttempt.run(...a);
    return { finished };
  });

  const release = db.prepare(
    `UPDATE recipients SET next_attempt_at = ?, lease_owner = NULL
     WHERE lease_owner = ? AND state IN ('queued', 'deferred')`,
  );
  const releaseLeases = db.transaction((owner: string, now: number) => release.run(now, owner).changes);

  // IMMEDIATE takes the write lock up front, so a concurrent writer cannot deadlock the upgrade.
  return {
    enqueue: (m) => enqueue.immediate(m),
    claim: (o) => claim.immediate(o),
    record: (u) => record.immediate(u),
    releaseLeases: (owner, now) => releaseLeases.immediate(owner, now),
  };
}
