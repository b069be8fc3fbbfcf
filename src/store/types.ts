/**
 * The store's interfaces: every persistent thing Postern keeps, reached only asynchronously. The
 * entity types they read and write are core's words (core/model/); this file keeps the
 * repositories, their inputs and filters, and StoreError.
 */
import type { EnqueueVerdict, LimitLevel, LimitMetric, LimitRule, LimitWindow } from '../limits/index.ts';
import type {
  ApiToken,
  AppPassword,
  AttemptRecord,
  AuditRecord,
  BlocklistResult,
  ConsoleSession,
  ConsoleTotp,
  Customer,
  CustomerStatus,
  DeliveryJob,
  DkimKey,
  DkimKeyState,
  Domain,
  GrantKind,
  IpBan,
  LoginState,
  Mailbox,
  MailboxHour,
  MailboxSource,
  MailboxStatus,
  MessageState,
  NewMessage,
  PoolAssignment,
  PoolTarget,
  QueueDepthCounts,
  QueuedMessage,
  RecipientState,
  RecipientUpdate,
  Route,
  RouteTls,
  SenderGrant,
  Site,
  SiteGrant,
  Suppression,
  SuppressionSource,
  TrackEvent,
  TrackStatus,
  TrackedMessage,
  TrackingStats,
  TrackingSummary,
  WebhookAttemptResult,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEventInput,
  WebhookEventType,
  WebhookJob,
} from '../core/index.ts';

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

export interface LimitUsage {
  level: LimitLevel;
  target: string;
  window: LimitWindow;
  start: number;
  messages: number;
  recipients: number;
}

export interface LimitRepo {
  /** Adds or replaces the rule of (level, target, window, metric). */
  set(rule: LimitRule): Promise<void>;
  list(filter?: { level?: LimitLevel; target?: string }): Promise<LimitRule[]>;
  /** Removes the matching rules; returns how many. */
  clear(filter: { level: LimitLevel; target: string; window?: LimitWindow; metric?: LimitMetric }): Promise<number>;
  /** The counter of a rule's window that contains `now`, for a concrete target. */
  usage(level: LimitLevel, target: string, window: LimitWindow, now: number): Promise<LimitUsage>;
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

export interface RouteRepo {
  /** Adds or replaces the route of a domain. */
  set(route: {
    domain: string;
    host: string;
    port: number;
    tls: RouteTls;
    authUser?: string | null;
    authSecret?: string | null;
  }): Promise<Route>;
  get(domain: string): Promise<Route | null>;
  list(): Promise<Route[]>;
  remove(domain: string): Promise<boolean>;
}

export interface PoolRepo {
  /**
   * Adds or replaces the pool of a target (keeping createdAt). domainId / siteId name the row
   * the assignment goes with: removing that domain or site (or the customer) removes it too.
   */
  assign(a: {
    kind: PoolTarget;
    name: string;
    customerId: number;
    domainId?: number | null;
    siteId?: number | null;
    pool: string;
  }): Promise<PoolAssignment>;
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
export interface GrantRef {
  holder: 'mailbox' | 'site';
  id: number;
  name: string;
  kind: GrantKind;
  value: string;
}

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

export interface GrantRepo {
  /** Adds a grant; false when the mailbox already has it. */
  add(grant: { mailboxId: number; kind: GrantKind; value: string }): Promise<boolean>;
  remove(grant: { mailboxId: number; kind: GrantKind; value: string }): Promise<boolean>;
  list(mailboxId: number): Promise<SenderGrant[]>;
}

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

export interface ActivityRepo {
  /** Adds a login from a network (e.g. 192.0.2.0/24) to the hour (idempotent). */
  loginFrom(mailboxId: number, network: string, hourStart: number): Promise<void>;
  hour(mailboxId: number, hourStart: number): Promise<MailboxHour>;
  /** Counts a message the scanner held or refused as spam. */
  spam(mailboxId: number, hourStart: number): Promise<void>;
  /** Recipients per hour on average over [from, to). */
  averageRecipients(mailboxId: number, from: number, to: number): Promise<number>;
}

export interface AuditRepo {
  add(r: Omit<AuditRecord, 'id'>): Promise<void>;
  /** Newest first. */
  list(filter?: { target?: string; limit?: number }): Promise<AuditRecord[]>;
}

export interface MailboxRepo {
  add(input: {
    address: string;
    domainId: number;
    customerId: number;
    passwordHash: string;
    source?: MailboxSource;
    importedHash?: string | null;
  }): Promise<Mailbox>;
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
  repliesMentioning(
    since: number,
    words: string[],
    top: number,
  ): Promise<{ sender: string; customerName: string | null; replies: number }[]>;
}

/** Restricts a read or change to one customer's endpoints (customer-facing callers). */
export interface CustomerScope {
  customerId?: number;
}

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

export interface SuppressionRepo {
  /**
   * Suppresses an address for a customer until `until`; an existing entry is refreshed (reason,
   * source, address as given, updatedAt = now) and its `until` only ever extended. One atomic upsert.
   */
  add(e: {
    customerId: number;
    address: string;
    reason: string;
    source: SuppressionSource;
    now: number;
    until: number;
  }): Promise<Suppression>;
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
