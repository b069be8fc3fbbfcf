/** The store's interfaces: every persistent thing Postern keeps, reached only asynchronously. */
import type { Exceeded, LimitLevel, LimitMetric, LimitRule, LimitScope, LimitWindow } from '../limits/index.ts';

/**
 * active; suspended: every mailbox, site and token of it is refused, its queued mail held;
 * removing: refused like suspended while its queued mail is delivered before it is removed.
 */
export type CustomerStatus = 'active' | 'suspended' | 'removing';

export interface Customer {
  id: number;
  name: string;
  /** Where notices about this customer's account go (a mailbox put on hold), or null. */
  contact: string | null;
  status: CustomerStatus;
  /** Since when it is suspended (or being removed), or null. */
  suspendedAt: number | null;
  createdAt: number;
}

export interface Domain {
  id: number;
  name: string; // lower-case A-label
  customerId: number;
  customerName: string;
  createdAt: number;
}

export type MailboxStatus = 'active' | 'suspended';
/** Where a mailbox came from: added in Postern, imported with its hash, or made at its first login through Dovecot. */
export type MailboxSource = 'postern' | 'import' | 'dovecot';

export interface Mailbox {
  id: number;
  address: string; // canonical key: lower-case
  domainId: number;
  customerId: number;
  customerName: string;
  passwordHash: string;
  credentialVersion: number; // bumped on every password change, suspension and resumption
  status: MailboxStatus;
  /** Its customer's status: a mailbox of a customer not active is refused like a suspended one. */
  customerStatus: CustomerStatus;
  /** On hold (suspected compromise) since, with why; null when not held. */
  heldSince: number | null;
  holdReason: string | null;
  /** When a hold was last released: the signals of that hour no longer count. */
  releasedAt: number | null;
  source: MailboxSource;
  /** The hash as last brought in by `mailbox import` (a re-import compares with it), or null. */
  importedHash: string | null;
  /** The mailbox's own password is refused on submission: only its app passwords log in. */
  appPasswordsOnly: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A named app password of a mailbox (only its SHA-256 is stored), with its last use. */
export interface AppPassword {
  id: number;
  mailboxId: number;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  lastIp: string | null;
}

export interface AppPasswordRepo {
  /** Throws StoreError('conflict') when the mailbox has an app password of that name. */
  add(input: { mailboxId: number; name: string; tokenHash: string }): Promise<AppPassword>;
  /** Oldest first. */
  list(mailboxId: number): Promise<AppPassword[]>;
  /** The mailbox's app password with this hash, or null. */
  byHash(mailboxId: number, tokenHash: string): Promise<AppPassword | null>;
  /** Deletes it (the next login with it fails); false when there was none. */
  revoke(mailboxId: number, name: string): Promise<boolean>;
  /** Records a successful login with it. */
  used(id: number, now: number, ip: string | null): Promise<void>;
}

/** cancelled: deleted by an operator with a bounce; the delivering node fails and reports it. */
export type MessageState = 'queued' | 'held' | 'cancelled';
/** Why a message is held: a sending limit, its mailbox or site is on hold, the content scanner, or the postmaster. */
export type HoldReason = 'limit' | 'sender' | 'content' | 'postmaster' | 'customer';
export type RecipientState = 'queued' | 'delivered' | 'deferred' | 'failed';

export interface NewRecipient {
  address: string;
  notify?: string | null; // DSN NOTIFY, comma separated
  orcpt?: string | null;
}

export interface NewMessage {
  id: string;
  customerId: number | null;
  mailboxId: number | null;
  /** The site that sent it (sendmail, the send API with a site token), or null. */
  siteId?: number | null;
  sender: string; // '' is the null sender
  size: number;
  /** Exactly one of these: a spool file (relative to the spool root) or the body itself,
   *  stored in the queue row (small messages: one commit makes them durable). */
  bodyPath: string | null;
  body: Uint8Array | null;
  messageIdHeader: string | null;
  clientIp: string;
  authUser: string | null;
  listener: string;
  dsnRet: string | null;
  dsnEnvid: string | null;
  createdAt: number;
  recipients: NewRecipient[];
  /** The body has bytes above 127 (sent with BODY=8BITMIME). */
  eightBit?: boolean;
  /** The client asked for SMTPUTF8: the next hop must offer it. */
  smtputf8?: boolean;
  /** Whom the message counts for under the sending limits (none: not limited, e.g. bounces). */
  limitScope?: LimitScope;
  /**
   * What to do when the message's mailbox or site is on hold (unset: the hold is not checked).
   * Set, the message is also refused when its customer is not active (suspended or removed
   * meanwhile), or its mailbox is suspended or gone (a session that logged in before).
   */
  onSenderHold?: 'hold' | 'refuse';
  /** Most held messages of its mailbox (or site); one more that would be held is deferred (451) instead. */
  heldCap?: number;
  /** Header fields (CRLF-terminated: DKIM-Signature, scan results) that delivery puts on top of the body, or null. */
  topHeaders?: string | null;
  /** The content scanner asked to hold it for the postmaster. */
  contentHold?: boolean;
  /** Keep its life for message tracking (the tracked row and its first events are written in the enqueue transaction). */
  track?: boolean;
  /** Its Subject (decoded, at most 200 characters) for message tracking, or null. */
  subject?: string | null;
}

/** What the enqueue did with one message under the sending limits. */
export type EnqueueVerdict =
  | { id: string; outcome: 'queued' }
  | { id: string; outcome: 'held'; exceeded: Exceeded[]; reason?: 'mailbox-held' | 'content' }
  | { id: string; outcome: 'refused'; action: 'defer' | 'reject'; exceeded: Exceeded[]; reason?: 'mailbox-held' | 'held-full' | 'customer-suspended' | 'mailbox-suspended' };

export interface LimitUsage { level: LimitLevel; target: string; window: LimitWindow; start: number; messages: number; recipients: number }

export interface LimitRepo {
  /** Adds or replaces the rule of (level, target, window, metric). */
  set(rule: LimitRule): Promise<void>;
  list(filter?: { level?: LimitLevel; target?: string }): Promise<LimitRule[]>;
  /** Removes the matching rules; returns how many. */
  clear(filter: { level: LimitLevel; target: string; window?: LimitWindow; metric?: LimitMetric }): Promise<number>;
  /** The counter of a rule's window that contains `now`, for a concrete target. */
  usage(level: LimitLevel, target: string, window: LimitWindow, now: number): Promise<LimitUsage>;
}

export interface QueuedRecipient {
  idx: number;
  address: string;
  domain: string;
  state: RecipientState;
  attempts: number;
  /** When the next attempt is due; while an attempt runs, when its lease ends. */
  nextAttemptAt: number;
  lastReply: string | null;
  lastAttemptAt: number | null;
  remoteHost: string | null;
  category: string | null;
  notify: string | null;
  orcpt: string | null;
  /** The node whose attempt is in flight (a lease), or null. */
  leaseOwner: string | null;
}

/** One delivery attempt of one recipient, as `queue show` lists them. */
export interface AttemptRecord {
  recipientIdx: number;
  at: number;
  outcome: 'delivered' | 'deferred' | 'failed';
  category: string;
  reply: string;
  remoteHost: string | null;
}

/** What the scheduler hands to delivery: the recipients of one message at one domain. */
export interface DeliveryJob {
  message: {
    id: string;
    customerId: number | null;
    /** The site that sent it, or null (its egress pool may be the site's). */
    siteId?: number | null;
    sender: string;
    size: number;
    bodyPath: string | null;
    messageIdHeader: string | null;
    listener: string;
    dsnRet: string | null;
    dsnEnvid: string | null;
    createdAt: number;
    /** Deleted by an operator who asked for a bounce: fail every recipient without an attempt. */
    cancelled: boolean;
    eightBit: boolean;
    smtputf8: boolean;
    /** Header fields to put on top of the body (DKIM-Signature, scan results), or null. */
    topHeaders: string | null;
  };
  domain: string;
  recipients: { idx: number; address: string; attempts: number; notify: string | null; orcpt: string | null; delayNotified: boolean }[];
  /** The claim: results are written only while it still holds (see RecipientUpdate.lease). */
  lease: Lease;
}

export interface Lease { owner: string; until: number }

/** The result of an attempt for one recipient, written back by `record`. */
export interface RecipientUpdate {
  messageId: string;
  idx: number;
  state: 'delivered' | 'deferred' | 'failed';
  /** Defer to this time (ignored for final states). */
  nextAttemptAt: number;
  at: number;
  reply: string;
  category: string;
  remoteHost: string | null;
  /** False when nothing was tried (e.g. given back at shutdown): the attempt count stays. */
  attempted: boolean;
  delayNotified?: boolean;
  /**
   * The claim this result belongs to: it is written only if the recipient is still pending and
   * leased by it (a late result of an attempt whose lease ran out, and was claimed again, is
   * dropped instead of overwriting the newer one). Without it the update always applies.
   */
  lease?: Lease;
  /** The delivery status notification queued about this result (message tracking records it), with its queue id. */
  notice?: { kind: 'failure' | 'delay' | 'success'; queueId: string };
}

export interface QueuedMessage {
  id: string;
  customerId: number | null;
  customerName: string | null;
  dsnRet: string | null;
  dsnEnvid: string | null;
  sender: string;
  size: number;
  state: MessageState;
  /** Why it is held (null when it is not, or was held before this was recorded). */
  holdReason: HoldReason | null;
  bodyPath: string | null; // null: the body is stored inline (see inlineBody)
  messageIdHeader: string | null;
  authUser: string | null;
  /** The site that sent it, or null. */
  siteName: string | null;
  clientIp: string;
  listener: string;
  createdAt: number;
  recipients: QueuedRecipient[];
}

export interface QueueFilter {
  /** 'held', or a recipient state: messages with at least one recipient in it. */
  state?: RecipientState | 'held';
  domain?: string; // a recipient domain
  sender?: string;
  customer?: string;
  /** The mailbox (login) that submitted it. */
  authUser?: string;
  /** The site that submitted it. */
  site?: string;
  limit?: number;
}

/** Far in the future: the due time of a held message's recipients. */
export const NEVER = 8_640_000_000_000_000;

export type RouteTls = 'none' | 'opportunistic' | 'required';

/** A per-domain next hop that overrides the MX lookup. */
export interface Route {
  domain: string; // lower-case A-label
  host: string; // name or IP address (no brackets)
  port: number;
  tls: RouteTls;
  /** Login at the next hop (AUTH, only over TLS), or null. */
  authUser: string | null;
  /** The password, sealed by credentials' secret box; never stored in clear. */
  authSecret: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface RouteRepo {
  /** Adds or replaces the route of a domain. */
  set(route: { domain: string; host: string; port: number; tls: RouteTls; authUser?: string | null; authSecret?: string | null }): Promise<Route>;
  get(domain: string): Promise<Route | null>;
  list(): Promise<Route[]>;
  remove(domain: string): Promise<boolean>;
}

/** What an egress pool is assigned to: a customer's mail, a hosted domain's (as sender), or a site's. */
export type PoolTarget = 'customer' | 'domain' | 'site';
export const POOL_TARGETS: readonly PoolTarget[] = ['customer', 'domain', 'site'];

/** The egress pool (a name in delivery.pools) of a customer, hosted domain or site. */
export interface PoolAssignment {
  kind: PoolTarget;
  /** The customer's, domain's (lower-case A-label) or site's name. */
  name: string;
  customerId: number;
  customerName: string;
  pool: string;
  createdAt: number;
  updatedAt: number;
}

export interface PoolRepo {
  /**
   * Adds or replaces the pool of a target (keeping createdAt). domainId / siteId name the row
   * the assignment goes with: removing that domain or site (or the customer) removes it too.
   */
  assign(a: { kind: PoolTarget; name: string; customerId: number; domainId?: number | null; siteId?: number | null; pool: string }): Promise<PoolAssignment>;
  unassign(kind: PoolTarget, name: string): Promise<boolean>;
  get(kind: PoolTarget, name: string): Promise<PoolAssignment | null>;
  /** By kind, then name; only one pool's or one customer's when asked. */
  list(filter?: { pool?: string; customerId?: number }): Promise<PoolAssignment[]>;
  /**
   * The pool a message of this customer leaves from: its site's, else its sender domain's,
   * else its customer's; null when none of them has one. Reads only the customer's rows.
   */
  poolFor(m: { customerId: number; senderDomain: string | null; siteId: number | null }): Promise<string | null>;
}

/** The latest answer of one DNS blocklist about one egress address. */
export interface BlocklistResult {
  address: string;
  zone: string;
  pool: string;
  listed: boolean;
  /** The answers (return codes) and what the configuration says they mean. */
  codes: string[];
  meaning: string | null;
  checkedAt: number;
  /** Listed since (the first check that found it listed), or null. */
  listedSince: number | null;
}

export interface BlocklistRepo {
  /** Keeps the newest results (one per address and zone); returns those that were not listed before and are now. */
  record(results: Omit<BlocklistResult, 'listedSince'>[]): Promise<BlocklistResult[]>;
  /** By pool, address, zone. */
  list(): Promise<BlocklistResult[]>;
}

export interface CustomerRepo {
  add(name: string, contact?: string | null): Promise<Customer>;
  setContact(name: string, contact: string | null): Promise<Customer | null>;
  get(name: string): Promise<Customer | null>;
  list(): Promise<Customer[]>;
  /** Sets the status (suspendedAt: now, or null when active); null when there is no such customer. */
  setStatus(name: string, status: CustomerStatus, now: number): Promise<Customer | null>;
  /**
   * Renames a customer and, in the same transaction, its customer-level limits and their
   * counters (keyed by name). Everything else refers to its id. A taken name is a conflict.
   */
  rename(name: string, to: string): Promise<Customer | null>;
  /**
   * Removes a customer with everything of it, in one transaction (see RemovalPlan): its domains
   * as DomainRepo.remove does, sites, limits, webhooks, tokens, suppressions, console sessions.
   * Its tracked messages stay (retention prunes them), detached from the id and marked
   * `customer:NAME`. Its notices with the null sender still queued are detached and delivered;
   * any other queued message of it is a conflict (nothing removed). False: no such customer.
   */
  remove(name: string): Promise<boolean>;
}

/** A sender grant of a mailbox or a site that a domain move would take across customers. */
export interface GrantRef { holder: 'mailbox' | 'site'; id: number; name: string; kind: GrantKind; value: string }

export interface DomainRepo {
  add(name: string, customerId: number): Promise<Domain>;
  get(name: string): Promise<Domain | null>;
  list(customerName?: string): Promise<Domain[]>;
  /**
   * Removes a domain in one transaction: its mailboxes (with their grants, logins and
   * activity), DKIM keys, route, domain and mailbox limits with their counters, every grant of
   * the customer's other mailboxes and sites on it, and the console sessions of its mailboxes.
   * Tracked messages of its mailboxes stay, marked `domain:NAME`. False: no such domain.
   */
  remove(name: string): Promise<boolean>;
  /**
   * Gives a domain and its mailboxes to another customer in one transaction, dropping the
   * given grants (those that would cross customers) and the console sessions of its mailboxes.
   */
  move(name: string, customerId: number, drop: GrantRef[]): Promise<Domain | null>;
}

/**
 * What a mailbox may send as besides its own address: one address (an alias such as
 * orders@shop.example), every address of a domain, or the null sender. Values are lower-case.
 */
export type GrantKind = 'address' | 'domain' | 'null-sender';

export interface SenderGrant {
  mailboxId: number;
  kind: GrantKind;
  value: string; // the address, the domain, or '' for the null sender
  createdAt: number;
}

export interface GrantRepo {
  /** Adds a grant; false when the mailbox already has it. */
  add(grant: { mailboxId: number; kind: GrantKind; value: string }): Promise<boolean>;
  remove(grant: { mailboxId: number; kind: GrantKind; value: string }): Promise<boolean>;
  list(mailboxId: number): Promise<SenderGrant[]>;
}

/**
 * A site: a website (or any local program) of a customer that sends without SMTP AUTH, through
 * `postern sendmail` or the HTTP send API, identified by a token (only its SHA-256 is kept).
 */
export interface Site {
  id: number;
  name: string;
  customerId: number;
  customerName: string;
  /** Its customer's status: a site of a customer not active is refused. */
  customerStatus: CustomerStatus;
  /** The unix user its website runs as (recorded in Received), or null. */
  unixUser: string | null;
  /** On hold (suspected misuse) since, with why; null when not held. */
  heldSince: number | null;
  holdReason: string | null;
  /** When a hold was last released: the signals of that hour no longer count. */
  releasedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What a site may send as: an address or every address of a domain (of its customer). */
export interface SiteGrant { siteId: number; kind: 'address' | 'domain'; value: string; createdAt: number }

export interface SiteRepo {
  add(input: { name: string; customerId: number; unixUser: string | null; tokenHash: string }): Promise<Site>;
  get(name: string): Promise<Site | null>;
  byId(id: number): Promise<Site | null>;
  byTokenHash(hash: string): Promise<Site | null>;
  /** Puts a site on hold (no-op when it already is); true when it was not held before. */
  hold(id: number, reason: string, now: number): Promise<boolean>;
  unhold(id: number, now: number): Promise<boolean>;
  held(): Promise<Site[]>;
  /** Counts a message of the site the scanner held or refused as spam in the hour; returns the hour's count. */
  spam(id: number, hourStart: number): Promise<number>;
  list(customerName?: string): Promise<Site[]>;
  remove(name: string): Promise<boolean>;
  setTokenHash(name: string, hash: string): Promise<Site | null>;
  addGrant(g: { siteId: number; kind: SiteGrant['kind']; value: string }): Promise<boolean>;
  removeGrant(g: { siteId: number; kind: SiteGrant['kind']; value: string }): Promise<boolean>;
  grants(siteId: number): Promise<SiteGrant[]>;
}

export type DkimKeyState = 'pending' | 'active' | 'retiring' | 'retired';

/**
 * A DKIM key of a domain. pending: made, its record is to be published; active: signs;
 * retiring: no longer signs, its record must stay published (mail in flight and in mailboxes
 * still refers to it); retired: its record may go.
 */
export interface DkimKey {
  id: number;
  domainId: number;
  domain: string;
  selector: string;
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  /** Sealed by the secret box (credentials/secrets). */
  privateKey: string;
  /** The p= value of its DNS record. */
  publicKey: string;
  state: DkimKeyState;
  createdAt: number;
  activatedAt: number | null;
  retiringAt: number | null;
  retiredAt: number | null;
}

export interface DkimKeyRepo {
  add(k: Pick<DkimKey, 'domainId' | 'selector' | 'algorithm' | 'privateKey' | 'publicKey' | 'state'>): Promise<DkimKey>;
  /** The keys of a domain, newest first (retired ones too). */
  list(domain: string): Promise<DkimKey[]>;
  /** Keys in the given states, of every domain. */
  inStates(states: DkimKeyState[]): Promise<DkimKey[]>;
  /** Moves a key to a state and stamps when; false when it was not in one of `from`. */
  setState(id: number, to: DkimKeyState, from: DkimKeyState[], now: number): Promise<boolean>;
  /**
   * In one transaction: a pending key becomes active and every other active key of its domain
   * and algorithm retiring. Returns the keys that started retiring, or null when the key was no
   * longer pending (someone else promoted it).
   */
  promote(id: number, now: number): Promise<DkimKey[] | null>;
}

/** Failed logins of a mailbox since its last success, and its lock. */
export interface LoginState { failures: number; lockedUntil: number | null }

export interface IpBan { ip: string; reason: string; failures: number; bannedUntil: number; createdAt: number }

/** Brute-force defence state. Every count is one atomic statement (no read-then-write race). */
export interface AuthGuardRepo {
  loginState(mailboxId: number): Promise<LoginState>;
  /**
   * The mailbox logged in successfully from this network at or after `since`, and fewer than
   * `maxFailures` logins from it failed since (a co-tenant on a shared network cannot guess forever).
   */
  isKnownIp(mailboxId: number, ip: string, since: number, maxFailures: number): Promise<boolean>;
  /** Counts a failed login from a known network. */
  recordKnownFailure(mailboxId: number, ip: string): Promise<void>;
  /** Counts a failed login; at maxFailures the mailbox is locked until now + lockMs (and the count starts again). */
  recordFailure(mailboxId: number, now: number, maxFailures: number, lockMs: number): Promise<LoginState>;
  /** A successful login: the failure count is reset (a lock stays), the address is remembered. */
  recordSuccess(mailboxId: number, ip: string, now: number): Promise<void>;
  unlock(mailboxId: number): Promise<boolean>;
  /** Counts a failure from an address in a fixed window; at `limit` it is banned until now + banMs. True when that ban starts now. */
  recordIpFailure(ip: string, now: number, windowMs: number, limit: number, banMs: number): Promise<boolean>;
  banOf(ip: string, now: number): Promise<IpBan | null>;
  bans(now: number): Promise<IpBan[]>;
  unban(ip: string): Promise<boolean>;
}

/** What a mailbox did in one clock hour (compromise signals). */
export interface MailboxHour {
  recipients: number;
  domains: number;
  networks: number;
  /** Delivery attempts of its mail in the hour that were delivered, or deferred / failed. */
  delivered: number;
  bad: number;
  /** Messages the content scanner held or refused as spam (or for a virus). */
  spam: number;
}

export interface ActivityRepo {
  /** Adds a login from a network (e.g. 192.0.2.0/24) to the hour (idempotent). */
  loginFrom(mailboxId: number, network: string, hourStart: number): Promise<void>;
  hour(mailboxId: number, hourStart: number): Promise<MailboxHour>;
  /** Counts a message the scanner held or refused as spam. */
  spam(mailboxId: number, hourStart: number): Promise<void>;
  /** Recipients per hour on average over [from, to). */
  averageRecipients(mailboxId: number, from: number, to: number): Promise<number>;
}

/** One administrative change: who, what, on what, and the state before and after (JSON). */
export interface AuditRecord { id: number; at: number; actor: string; action: string; target: string; before: unknown; after: unknown }

export interface AuditRepo {
  add(r: Omit<AuditRecord, 'id'>): Promise<void>;
  /** Newest first. */
  list(filter?: { target?: string; limit?: number }): Promise<AuditRecord[]>;
}

export interface MailboxRepo {
  add(input: { address: string; domainId: number; customerId: number; passwordHash: string; source?: MailboxSource; importedHash?: string | null }): Promise<Mailbox>;
  get(address: string): Promise<Mailbox | null>;
  /** Sets an imported hash as the password and as the imported hash (a password change: the version is bumped). */
  importHash(address: string, hash: string): Promise<Mailbox | null>;
  /** Replaces a verified hash by a new hash of the same password, only if it is still `expected` (no version bump); true when replaced. */
  rehash(id: number, expected: string, next: string): Promise<boolean>;
  /** Turns "app passwords only" on or off (bumps the credential version when it changes). */
  setAppPasswordsOnly(address: string, on: boolean): Promise<Mailbox | null>;
  list(filter?: { customerName?: string; domain?: string }): Promise<Mailbox[]>;
  setPassword(address: string, passwordHash: string): Promise<Mailbox | null>;
  setStatus(address: string, status: MailboxStatus): Promise<Mailbox | null>;
  /** Puts a mailbox on hold (no-op when it already is); true when it was not held before. */
  hold(id: number, reason: string, now: number): Promise<boolean>;
  unhold(id: number, now: number): Promise<boolean>;
  held(): Promise<Mailbox[]>;
  remove(address: string): Promise<boolean>;
}

export interface QueueDepthCounts {
  messages: Record<MessageState, number>;
  recipients: { queued: number; deferred: number };
}

export interface QueueRepo {
  /**
   * Commits all messages with their recipients in one synchronous transaction, or none. Each
   * message with a limit scope is checked against the sending limits in the same transaction
   * (no race between concurrent sessions): refused ones are not stored and use no quota, held
   * ones are stored held.
   */
  enqueueBatch(messages: NewMessage[]): Promise<EnqueueVerdict[]>;
  list(filter?: QueueFilter): Promise<QueuedMessage[]>;
  get(id: string): Promise<QueuedMessage | null>;
  count(): Promise<number>;
  /** Messages by state, and pending recipients (queued: never tried; deferred: waiting for a retry), counted cheaply. */
  depth(): Promise<QueueDepthCounts>;
  /** Every body path the queue refers to (for sweeping orphan spool files). */
  bodyPaths(): Promise<Set<string>>;
  /** The body of a message stored inline, or null (no such message, or a spool file). */
  inlineBody(id: string): Promise<Buffer | null>;
  /** The state of a message, or null when it is gone (delivered, deleted). */
  stateOf(id: string): Promise<MessageState | null>;
  /** Every attempt of a message, oldest first. */
  attempts(id: string): Promise<AttemptRecord[]>;

  /**
   * Takes up to `limit` due recipients of messages that are not held, leased to `owner` until
   * now + leaseMs (a crashed owner's recipients come back by themselves when the lease ends),
   * grouped by message and recipient domain.
   */
  claim(opts: { owner: string; now: number; leaseMs: number; limit: number; excludeDomains?: string[] }): Promise<DeliveryJob[]>;
  /**
   * Writes attempt results in one transaction; a message whose recipients are all final
   * (delivered or failed) is removed with it. Returns the removed messages' body paths.
   */
  record(updates: RecipientUpdate[]): Promise<{ finished: { id: string; bodyPath: string | null }[] }>;
  /** Makes every recipient leased to `owner` due now (the owner restarted: its old attempts are gone). */
  releaseLeases(owner: string, now: number): Promise<number>;

  /** Operator actions; each returns false / 0 when there was nothing to act on. */
  hold(id: string, reason?: 'postmaster' | 'customer'): Promise<boolean>;
  /** Holds every queued message of a customer (reason customer: its account is suspended), in one transaction; returns how many. */
  holdCustomer(customerId: number, now: number): Promise<number>;
  /** Releases the messages of a customer held for reason customer (and no other), in one transaction; returns how many. */
  releaseCustomer(customerId: number, now: number): Promise<number>;
  release(id: string, now: number): Promise<boolean>;
  /** Makes the pending recipients of one message (or of every message not held) due now. */
  retry(id: string | null, now: number): Promise<number>;
  /** Removes a message with its recipients; returns what it was, or null. */
  remove(id: string): Promise<QueuedMessage | null>;
  /**
   * Marks a message cancelled and its pending recipients due now: the delivering node fails
   * them without an attempt and bounces them to the sender (queue delete --bounce).
   */
  cancel(id: string, now: number): Promise<boolean>;
}

/** What happened to a tracked message: its events, oldest first. */
export type TrackEventType =
  | 'accepted' | 'held' | 'released' | 'retried' | 'attempt-deferred' | 'delivered' | 'failed' | 'expired'
  | 'bounced' | 'notified' | 'cancelled' | 'deleted' | 'refused';

/** Where a tracked message stands: its recipients' outcome once all are final (partial: some delivered, some failed). */
export type TrackStatus = 'queued' | 'held' | 'deferred' | 'delivered' | 'failed' | 'partial' | 'cancelled' | 'deleted' | 'refused';

export const TRACK_STATUSES: TrackStatus[] = ['queued', 'held', 'deferred', 'delivered', 'failed', 'partial', 'cancelled', 'deleted', 'refused'];

export interface TrackEvent {
  at: number;
  type: TrackEventType;
  /** The recipient it concerns (attempt outcomes, bounces), or null (the whole message). */
  recipient: string | null;
  remoteHost: string | null;
  /** The remote reply or what was done (at most 1000 characters), or null. */
  reply: string | null;
  /** The reply's category (delivery/classify), a hold reason, a refusal reason or a notice kind. */
  category: string | null;
  /** Another message it refers to: the queue id of the bounce (DSN) sent. */
  ref: string | null;
}

export interface TrackedMessage {
  queueId: string;
  customerId: number | null;
  customerName: string | null;
  /** The mailbox (login) or the site that sent it. */
  authUser: string | null;
  siteName: string | null;
  sender: string;
  messageId: string | null;
  subject: string | null;
  recipients: string[];
  size: number;
  clientIp: string;
  listener: string;
  createdAt: number;
  updatedAt: number;
  status: TrackStatus;
  /** Sent by a tenant removed since (`customer:NAME` or `domain:NAME`), kept for its retention time; else null. */
  removedTenant: string | null;
  /** Estimated storage of the message with its recipients and events (see store/tracking.ts). */
  bytes: number;
}

export interface TrackFilter {
  /** Tenant scope: only this customer's messages. */
  customerId?: number;
  queueId?: string;
  /** Only what this mailbox login sent (its address as stored, lower case). */
  authUser?: string;
  /** The Message-ID header, with its angle brackets. */
  messageId?: string;
  /** Envelope sender, any case ('' is the null sender). */
  sender?: string;
  recipient?: string;
  /** Arrived at or after. */
  from?: number;
  /** Arrived before. */
  to?: number;
  status?: TrackStatus;
  /** At most this many (default 50). */
  limit?: number;
  /** Cursor: only messages older than this one (the last of the previous page). */
  before?: { createdAt: number; queueId: string };
}

export interface TrackingStats { messages: number; events: number; bytes: number; oldest: number | null }

export interface TrackingRepo {
  /** Newest first. */
  search(filter: TrackFilter): Promise<TrackedMessage[]>;
  /** A message with its events, oldest first; with customerId, another customer's message is null. */
  get(queueId: string, customerId?: number): Promise<(TrackedMessage & { events: TrackEvent[] }) | null>;
  /** Deletes the oldest messages (with their events) until none arrived before olderThan and the total is at most maxBytes. */
  prune(bounds: { olderThan: number; maxBytes: number }): Promise<{ messages: number; bytes: number }>;
  stats(): Promise<TrackingStats>;
  /**
   * What happened since `since` (the console's dashboard and the customer's overview): the
   * events of each type, and the `top` senders (a login, or site:NAME) by messages accepted,
   * most first (ties by name). With customerId, that customer's only.
   */
  summary(since: number, top: number, customerId?: number): Promise<TrackingSummary>;
  /**
   * Senders (a login, site:NAME, else the envelope sender) whose deferred or failed attempts
   * since `since` got a remote reply containing one of `words` (case-insensitive), most first.
   */
  repliesMentioning(since: number, words: string[], top: number): Promise<{ sender: string; customerName: string | null; replies: number }[]>;
}

export interface TrackingSummary {
  /** Events at or after `since`, by type (types with none are left out). */
  events: Partial<Record<TrackEventType, number>>;
  /** Messages accepted at or after `since` by who sent them: the mailbox login, or `site:NAME` for a site; most first. */
  topSenders: { sender: string; customerName: string | null; messages: number; recipients: number }[];
}

/** What a customer's webhook endpoint may subscribe to (ping: `postern webhook test`, always sent). */
export type WebhookEventType = 'delivered' | 'deferred' | 'bounced' | 'held' | 'limit-reached' | 'ping'
  | 'customer.suspended' | 'customer.resumed' | 'customer.removed';

/** A customer's HTTPS endpoint that receives signed event notifications. */
export interface WebhookEndpoint {
  id: string;
  customerId: number;
  customerName: string;
  url: string;
  /** The signing secret, sealed by credentials' secret box; never stored in clear. */
  secret: string;
  events: WebhookEventType[];
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/** One event for the outbox: queued for every enabled endpoint of the customer subscribed to its type (or for endpointId only). */
export interface WebhookEventInput {
  /** Unique per event; the same id twice for one endpoint is stored once (coalescing, crash replays). */
  id: string;
  type: WebhookEventType;
  customerId: number;
  /** When it happened (ms). */
  at: number;
  data: Record<string, unknown>;
  /** Only this endpoint of the customer, whatever it subscribed to (ping). */
  endpointId?: string;
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed';

/** One event for one endpoint in the outbox, with the outcome of its last attempt. */
export interface WebhookDelivery {
  id: number;
  endpointId: string;
  customerName: string;
  eventId: string;
  eventType: WebhookEventType;
  eventAt: number;
  data: Record<string, unknown>;
  attempts: number;
  state: WebhookDeliveryState;
  /** When the next attempt is due; while an attempt runs, when its lease ends. */
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: number | null;
  createdAt: number;
  deliveredAt: number | null;
}

/** A claimed delivery with where and how to send it. */
export interface WebhookJob extends WebhookDelivery { url: string; secret: string; lease: Lease }

/** The outcome of one attempt, written only while the claim holds. */
export interface WebhookAttemptResult {
  id: number;
  lease: Lease;
  at: number;
  state: WebhookDeliveryState;
  /** The next attempt (pending only). */
  nextAttemptAt: number;
  status: number | null;
  error: string | null;
}

/** Restricts a read or change to one customer's endpoints (customer-facing callers). */
export interface CustomerScope { customerId?: number }

export interface WebhookRepo {
  addEndpoint(e: { id: string; customerId: number; url: string; secret: string; events: WebhookEventType[] }): Promise<WebhookEndpoint>;
  endpoint(id: string, scope?: CustomerScope): Promise<WebhookEndpoint | null>;
  /** Oldest first. */
  endpoints(scope?: CustomerScope): Promise<WebhookEndpoint[]>;
  updateEndpoint(id: string, change: { secret?: string; enabled?: boolean }, scope?: CustomerScope): Promise<WebhookEndpoint | null>;
  /** Removes an endpoint with its deliveries. */
  removeEndpoint(id: string, scope?: CustomerScope): Promise<boolean>;
  /** Adds the events to the outbox, due at `now`; returns how many deliveries were added. */
  enqueue(events: WebhookEventInput[], now: number): Promise<number>;
  /** Takes up to `limit` due deliveries of enabled endpoints, leased to `owner` until now + leaseMs (safe across nodes). */
  claim(opts: { owner: string; now: number; leaseMs: number; limit: number }): Promise<WebhookJob[]>;
  /** Writes an attempt's outcome; false when the claim no longer holds (nothing written). */
  record(r: WebhookAttemptResult): Promise<boolean>;
  /** Makes every pending delivery leased to `owner` due now (the owner restarted). */
  releaseLeases(owner: string, now: number): Promise<number>;
  /** Deliveries, newest first. */
  log(filter?: CustomerScope & { endpointId?: string; limit?: number }): Promise<WebhookDelivery[]>;
  /** Deletes delivered and failed deliveries created before `before`; returns how many. */
  prune(before: number): Promise<number>;
}

/**
 * A token of the admin HTTP API: an operator token (customerId null: every customer) or a
 * customer token (that customer only). Only the SHA-256 of the token is kept.
 */
export interface ApiToken {
  id: number;
  name: string;
  customerId: number | null;
  customerName: string | null;
  /** Its customer's status (null: an operator token): a customer token of a customer not active is refused. */
  customerStatus: CustomerStatus | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface ApiTokenRepo {
  /** Adds a token; a name already taken (revoked tokens keep theirs) is a conflict. */
  add(input: { name: string; customerId: number | null; tokenHash: string }): Promise<ApiToken>;
  get(name: string): Promise<ApiToken | null>;
  /** The token with this hash (revoked ones too: the caller refuses them), or null. */
  byHash(hash: string): Promise<ApiToken | null>;
  list(): Promise<ApiToken[]>;
  /** Revokes a token; false when there is none of that name or it already was. */
  revoke(name: string, now: number): Promise<boolean>;
  /** Stamps the last use, only when the stored stamp is older than `now - minIntervalMs` (one write a minute at most); true when it wrote. */
  touch(id: number, now: number, minIntervalMs: number): Promise<boolean>;
}

/**
 * A signed-in session of the web console. Only the SHA-256 of the cookie's value is stored
 * (like API tokens): a copy of the store does not sign anyone in.
 */
export interface ConsoleSession {
  idHash: string;
  /** How it signed in: an API token (subject: the token's name) or a mailbox login (subject: its address). */
  via: 'token' | 'mailbox';
  subject: string;
  /** null: an operator (every customer); else the one customer it may see. */
  customerId: number | null;
  customerName: string | null;
  /** The anti-CSRF token its forms carry. */
  csrf: string;
  createdAt: number;
  /** The last request (the idle timeout counts from here). */
  seenAt: number;
  /** The absolute end of the session. */
  expiresAt: number;
}

export interface ConsoleSessionRepo {
  add(s: Omit<ConsoleSession, 'customerName'>): Promise<ConsoleSession>;
  /** The session of this hash, or null; expired sessions are returned too (the caller decides). */
  get(idHash: string): Promise<ConsoleSession | null>;
  /** Stamps seenAt, only when the stored one is older than `now - minIntervalMs`; true when it wrote. */
  touch(idHash: string, now: number, minIntervalMs: number): Promise<boolean>;
  /** Ends a session (sign-out); false when there was none. */
  remove(idHash: string): Promise<boolean>;
  /** Ends every session of a subject (a changed password, a revoked token) except `keepHash`; returns how many. */
  removeSubject(via: ConsoleSession['via'], subject: string, keepHash?: string): Promise<number>;
  /** Deletes the sessions past expiresAt (<= now) or idle since before `idleBefore` (seenAt < idleBefore); returns how many. */
  prune(now: number, idleBefore: number): Promise<number>;
}

/**
 * The second factor (TOTP, RFC 6238) of a console sign-in subject (an API token's name or a
 * mailbox address, as sessions name it). The secret is sealed (credentials' SecretBox); the
 * recovery codes are kept as SHA-256 hashes, each usable once.
 */
export interface ConsoleTotp {
  via: 'token' | 'mailbox';
  subject: string;
  /** The sealed shared secret. */
  secret: string;
  /** null while enrolment waits for the first code; then when it was confirmed. */
  confirmedAt: number | null;
  /** The last time step a code was accepted for (a code is never accepted twice); 0 before any. */
  lastStep: number;
  recoveryHashes: string[];
  createdAt: number;
}

export interface ConsoleTotpRepo {
  get(via: ConsoleTotp['via'], subject: string): Promise<ConsoleTotp | null>;
  /** Starts (or restarts) an enrolment that is not confirmed: a new secret; refused (false) when one is confirmed. */
  begin(via: ConsoleTotp['via'], subject: string, secret: string, now: number): Promise<boolean>;
  /** Confirms the pending enrolment with its recovery hashes and the step of the code that confirmed it; false when none is pending. */
  confirm(via: ConsoleTotp['via'], subject: string, recoveryHashes: string[], step: number, now: number): Promise<boolean>;
  /** Accepts a code's time step once: true only when step is later than the last accepted (atomic). */
  useStep(via: ConsoleTotp['via'], subject: string, step: number): Promise<boolean>;
  /** Uses a recovery code up (atomic): true when the hash was one of them, and it is gone now. */
  useRecovery(via: ConsoleTotp['via'], subject: string, hash: string): Promise<boolean>;
  /** Removes the second factor (disable, or the subject is gone); false when there was none. */
  remove(via: ConsoleTotp['via'], subject: string): Promise<boolean>;
}

/** Why a recipient is suppressed: it hard-bounced, or an operator put it on the list. */
export type SuppressionSource = 'bounce' | 'operator';

/**
 * A recipient a customer's mail is not sent to until `until` (it hard-bounced: the mailbox does
 * not exist or is disabled). Per customer: the same address is not suppressed for another one.
 */
export interface Suppression {
  customerId: number;
  customerName: string;
  /** The address as it was last given (for display); compared through its lower-cased key. */
  address: string;
  /** The remote reply that caused it, or the operator's note. */
  reason: string;
  source: SuppressionSource;
  createdAt: number;
  /** When it was last suppressed (the latest bounce or operator entry). */
  updatedAt: number;
  until: number;
}

export interface SuppressionRepo {
  /**
   * Suppresses an address for a customer until `until`; an existing entry is refreshed (reason,
   * source, address as given, updatedAt = now) and its `until` only ever extended. One atomic upsert.
   */
  add(e: { customerId: number; address: string; reason: string; source: SuppressionSource; now: number; until: number }): Promise<Suppression>;
  /** The entry in force at `now` (an expired one does not count), or null. */
  find(customerId: number, address: string, now: number): Promise<Suppression | null>;
  /** Newest (updatedAt) first; with `now`, only the entries still in force. */
  list(filter?: { customerId?: number; address?: string; now?: number; limit?: number }): Promise<Suppression[]>;
  remove(customerId: number, address: string): Promise<boolean>;
  /** Deletes the entries that ended before `now`; returns how many. */
  prune(now: number): Promise<number>;
}

/** A store thrown error that callers map to 4xx / a clear CLI message. */
export class StoreError extends Error {
  readonly kind: 'conflict' | 'not-found' | 'unavailable' | 'invalid';
  constructor(kind: StoreError['kind'], message: string) {
    super(message);
    this.name = 'StoreError';
    this.kind = kind;
  }
}

/**
 * What kind of administrative data changed, for the caches of every node (PostgreSQL: LISTEN /
 * NOTIFY). mailboxes: a password, status or hold; dkim: a key's state; sites; routes; limits; bans.
 */
export type ChangeTopic = 'mailboxes' | 'dkim' | 'sites' | 'routes' | 'limits' | 'bans';

export interface Store {
  readonly kind: string;
  /**
   * Calls fn when another process (another node, the CLI) changed data of a topic; returns the
   * unsubscribe. PostgreSQL announces every topic (NOTIFY); SQLite (other processes write the
   * file directly) announces 'dkim' only, polling a version its triggers keep, so for the other
   * topics callers keep their time-bounded caches.
   */
  watch(fn: (topic: ChangeTopic) => void): () => void;
  customers: CustomerRepo;
  domains: DomainRepo;
  mailboxes: MailboxRepo;
  appPasswords: AppPasswordRepo;
  grants: GrantRepo;
  sites: SiteRepo;
  dkim: DkimKeyRepo;
  authGuard: AuthGuardRepo;
  limits: LimitRepo;
  audit: AuditRepo;
  activity: ActivityRepo;
  queue: QueueRepo;
  routes: RouteRepo;
  pools: PoolRepo;
  blocklists: BlocklistRepo;
  tracking: TrackingRepo;
  webhooks: WebhookRepo;
  apiTokens: ApiTokenRepo;
  suppressions: SuppressionRepo;
  consoleSessions: ConsoleSessionRepo;
  consoleTotp: ConsoleTotpRepo;
  close(): Promise<void>;
}
