/** Rows of either adapter as the store's types: the columns are named alike in SQLite and PostgreSQL. */
import type {
  BlocklistResult,
  PoolAssignment,
  PoolTarget,
  AppPassword,
  MailboxSource,
  ConsoleSession,
  ConsoleTotp,
  Customer,
  CustomerStatus,
  Suppression,
  SuppressionSource,
  DeliveryJob,
  Domain,
  HoldReason,
  Lease,
  Mailbox,
  MailboxStatus,
  MessageState,
  QueuedMessage,
  QueuedRecipient,
  RecipientState,
} from '../core/index.ts';

export type Row = Record<string, unknown>;

/** What tracking says of a message held by an operator action (QueueRepo.hold). */
export const HELD_BY = { postmaster: 'held by the postmaster', customer: 'held: its customer account is suspended' } as const;

export const toCustomer = (r: Row): Customer => ({
  id: r.id as number,
  name: r.name as string,
  contact: (r.contact as string | null) ?? null,
  status: (r.status as CustomerStatus | undefined) ?? 'active',
  suspendedAt: r.suspended_at == null ? null : Number(r.suspended_at),
  createdAt: r.created_at as number,
});

/** The customer columns that a mailbox, site or token carries (c: customers). */
export const CUSTOMER_OF = 'c.name AS customer_name, c.status AS customer_status';

export const toDomain = (r: Row): Domain => ({
  id: r.id as number,
  name: r.name as string,
  customerId: r.customer_id as number,
  customerName: r.customer_name as string,
  createdAt: r.created_at as number,
});

export const toMailbox = (r: Row): Mailbox => ({
  id: r.id as number,
  address: r.address as string,
  domainId: r.domain_id as number,
  customerId: r.customer_id as number,
  customerName: r.customer_name as string,
  passwordHash: r.password_hash as string,
  credentialVersion: r.credential_version as number,
  status: r.status as MailboxStatus,
  customerStatus: (r.customer_status as CustomerStatus | undefined) ?? 'active',
  heldSince: (r.held_since as number | null) ?? null,
  holdReason: (r.hold_reason as string | null) ?? null,
  releasedAt: (r.released_at as number | null) ?? null,
  source: (r.source as MailboxSource | undefined) ?? 'postern',
  importedHash: (r.imported_hash as string | null) ?? null,
  appPasswordsOnly: r.app_passwords_only === 1 || r.app_passwords_only === true,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

export const toAppPassword = (r: Row): AppPassword => ({
  id: r.id as number,
  mailboxId: r.mailbox_id as number,
  name: r.name as string,
  createdAt: r.created_at as number,
  lastUsedAt: (r.last_used_at as number | null) ?? null,
  lastIp: (r.last_ip as string | null) ?? null,
});

export const toRecipient = (r: Row): QueuedRecipient => ({
  idx: r.idx as number,
  address: r.address as string,
  domain: r.domain as string,
  state: r.state as RecipientState,
  attempts: r.attempts as number,
  nextAttemptAt: r.next_attempt_at as number,
  lastReply: (r.last_reply as string | null) ?? null,
  lastAttemptAt: (r.last_attempt_at as number | null) ?? null,
  remoteHost: (r.remote_host as string | null) ?? null,
  category: (r.category as string | null) ?? null,
  notify: (r.notify as string | null) ?? null,
  orcpt: (r.orcpt as string | null) ?? null,
  leaseOwner: (r.lease_owner as string | null) ?? null,
});

export const toQueuedMessage = (r: Row, recipients: QueuedRecipient[]): QueuedMessage => ({
  id: r.id as string,
  customerId: (r.customer_id as number | null) ?? null,
  customerName: (r.customer_name as string | null) ?? null,
  sender: r.sender as string,
  size: r.size as number,
  state: r.state as MessageState,
  holdReason: r.state === 'held' ? ((r.hold_reason as HoldReason | null) ?? null) : null,
  bodyPath: (r.body_path as string | null) ?? null, // PostgreSQL: never (bodies live in the rows)
  messageIdHeader: (r.message_id_header as string | null) ?? null,
  authUser: (r.auth_user as string | null) ?? null,
  siteName: (r.site_name as string | null) ?? null,
  clientIp: r.client_ip as string,
  listener: r.listener as string,
  dsnRet: (r.dsn_ret as string | null) ?? null,
  dsnEnvid: (r.dsn_envid as string | null) ?? null,
  createdAt: r.created_at as number,
  recipients,
});

/** Claimed recipient rows (joined with their message) grouped into jobs by message and domain, in row order. */
export function jobsOf(rows: Row[], lease: Lease): DeliveryJob[] {
  // SQLite answers booleans as 0/1, PostgreSQL as true/false
  const yes = (v: unknown) => v === 1 || v === true;
  const jobs = new Map<string, DeliveryJob>();
  for (const r of rows) {
    const key = `${r.message_id as string}\0${r.domain as string}`;
    let job = jobs.get(key);
    if (!job) {
      job = {
        message: {
          id: r.message_id as string,
          customerId: (r.customer_id as number | null) ?? null,
          siteId: (r.site_id as number | null) ?? null,
          sender: r.sender as string,
          size: r.size as number,
          bodyPath: (r.body_path as string | null) ?? null,
          messageIdHeader: (r.message_id_header as string | null) ?? null,
          listener: r.listener as string,
          dsnRet: (r.dsn_ret as string | null) ?? null,
          dsnEnvid: (r.dsn_envid as string | null) ?? null,
          createdAt: r.created_at as number,
          cancelled: r.state === 'cancelled',
          eightBit: yes(r.eight_bit),
          smtputf8: yes(r.smtputf8),
          topHeaders: (r.top_headers as string | null) ?? null,
        },
        domain: r.domain as string,
        recipients: [],
        lease,
      };
      jobs.set(key, job);
    }
    job.recipients.push({
      idx: r.idx as number,
      address: r.address as string,
      attempts: r.attempts as number,
      notify: (r.notify as string | null) ?? null,
      orcpt: (r.orcpt as string | null) ?? null,
      delayNotified: yes(r.delay_notified),
    });
  }
  return [...jobs.values()];
}

/** A console session with its customer's name (s: console_sessions, c: customers). */
export const CONSOLE_SESSION_SELECT =
  'SELECT s.*, c.name AS customer_name FROM console_sessions s LEFT JOIN customers c ON c.id = s.customer_id';

export const toConsoleSession = (r: Row): ConsoleSession => ({
  idHash: r.id_hash as string,
  via: r.via as ConsoleSession['via'],
  subject: r.subject as string,
  customerId: (r.customer_id as number | null) ?? null,
  customerName: (r.customer_name as string | null) ?? null,
  csrf: r.csrf as string,
  createdAt: r.created_at as number,
  seenAt: r.seen_at as number,
  expiresAt: r.expires_at as number,
});

/** A console second factor from its row and its recovery hashes (both adapters). */
export const toConsoleTotp = (r: Row, recoveryHashes: string[]): ConsoleTotp => ({
  via: r.via as ConsoleTotp['via'],
  subject: r.subject as string,
  secret: r.secret as string,
  confirmedAt: r.confirmed_at === null || r.confirmed_at === undefined ? null : Number(r.confirmed_at),
  lastStep: Number(r.last_step),
  recoveryHashes: [...recoveryHashes].sort(),
  createdAt: Number(r.created_at),
});

/** A suppression with its customer's name (both adapters). */
export const SUPPRESSION_SELECT = 'SELECT s.*, c.name AS customer_name FROM suppressions s JOIN customers c ON c.id = s.customer_id';

export const toSuppression = (r: Row): Suppression => ({
  customerId: r.customer_id as number,
  customerName: r.customer_name as string,
  address: r.address as string,
  reason: r.reason as string,
  source: r.source as SuppressionSource,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
  until: r.until as number,
});

/** A pool assignment row (p: pool_assignments, c: customers). */
export const toPoolAssignment = (r: Row): PoolAssignment => ({
  kind: r.kind as PoolTarget,
  name: r.name as string,
  customerId: Number(r.customer_id),
  customerName: r.customer_name as string,
  pool: r.pool as string,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export const POOL_ASSIGNMENT_SELECT =
  'SELECT p.*, c.name AS customer_name FROM pool_assignments p JOIN customers c ON c.id = p.customer_id';

/** The most specific of a customer's assignments that apply to a message: site, then domain, then customer. */
export function mostSpecificPool(rows: { kind: string; pool: string }[]): string | null {
  for (const kind of ['site', 'domain', 'customer']) {
    const hit = rows.find((r) => r.kind === kind);
    if (hit) return hit.pool;
  }
  return null;
}

/** A blocklist result row (listed is 0/1 in both adapters). */
export const toBlocklistResult = (r: Row): BlocklistResult => ({
  address: r.address as string,
  zone: r.zone as string,
  pool: r.pool as string,
  listed: Number(r.listed) === 1,
  codes: (r.codes as string) ? (r.codes as string).split(',') : [],
  meaning: (r.meaning as string | null) ?? null,
  checkedAt: Number(r.checked_at),
  listedSince: r.listed_since === null || r.listed_since === undefined ? null : Number(r.listed_since),
});

/** What record() writes for a new result given the row before (listed_since kept while listed). */
export function nextBlocklistRow(before: BlocklistResult | undefined, r: Omit<BlocklistResult, 'listedSince'>): BlocklistResult {
  const listedSince = r.listed ? (before?.listed ? (before.listedSince ?? r.checkedAt) : r.checkedAt) : null;
  return { ...r, listedSince };
}
