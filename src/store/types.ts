/** The store's interfaces: every persistent thing Postern keeps, reached only asynchronously. */

export interface Customer {
  id: number;
  name: string;
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

export interface Mailbox {
  id: number;
  address: string; // canonical key: lower-case
  domainId: number;
  customerId: number;
  customerName: string;
  passwordHash: string;
  credentialVersion: number; // bumped on every password change, suspension and resumption
  status: MailboxStatus;
  createdAt: number;
  updatedAt: number;
}

export type MessageState = 'queued' | 'held';
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
}

export interface QueuedRecipient {
  address: string;
  state: RecipientState;
  attempts: number;
  nextAttemptAt: number;
  lastReply: string | null;
}

export interface QueuedMessage {
  id: string;
  customerName: string | null;
  sender: string;
  size: number;
  state: MessageState;
  bodyPath: string | null; // null: the body is stored inline (see inlineBody)
  messageIdHeader: string | null;
  authUser: string | null;
  clientIp: string;
  listener: string;
  createdAt: number;
  recipients: QueuedRecipient[];
}

export interface QueueFilter {
  limit?: number;
}

export type RouteTls = 'none' | 'opportunistic' | 'required';

/** A per-domain next hop that overrides the MX lookup. */
export interface Route {
  domain: string; // lower-case A-label
  host: string; // name or IP address (no brackets)
  port: number;
  tls: RouteTls;
  createdAt: number;
  updatedAt: number;
}

export interface RouteRepo {
  /** Adds or replaces the route of a domain. */
  set(route: { domain: string; host: string; port: number; tls: RouteTls }): Promise<Route>;
  get(domain: string): Promise<Route | null>;
  list(): Promise<Route[]>;
  remove(domain: string): Promise<boolean>;
}

export interface CustomerRepo {
  add(name: string): Promise<Customer>;
  get(name: string): Promise<Customer | null>;
  list(): Promise<Customer[]>;
}

export interface DomainRepo {
  add(name: string, customerId: number): Promise<Domain>;
  get(name: string): Promise<Domain | null>;
  list(customerName?: string): Promise<Domain[]>;
}

export interface MailboxRepo {
  add(input: { address: string; domainId: number; customerId: number; passwordHash: string }): Promise<Mailbox>;
  get(address: string): Promise<Mailbox | null>;
  list(filter?: { customerName?: string; domain?: string }): Promise<Mailbox[]>;
  setPassword(address: string, passwordHash: string): Promise<Mailbox | null>;
  setStatus(address: string, status: MailboxStatus): Promise<Mailbox | null>;
  remove(address: string): Promise<boolean>;
}

export interface QueueRepo {
  /** Commits all messages with their recipients in one synchronous transaction, or none. */
  enqueueBatch(messages: NewMessage[]): Promise<void>;
  list(filter?: QueueFilter): Promise<QueuedMessage[]>;
  get(id: string): Promise<QueuedMessage | null>;
  count(): Promise<number>;
  /** Every body path the queue refers to (for sweeping orphan spool files). */
  bodyPaths(): Promise<Set<string>>;
  /** The body of a message stored inline, or null (no such message, or a spool file). */
  inlineBody(id: string): Promise<Buffer | null>;
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

export interface Store {
  readonly kind: string;
  customers: CustomerRepo;
  domains: DomainRepo;
  mailboxes: MailboxRepo;
  queue: QueueRepo;
  routes: RouteRepo;
  close(): Promise<void>;
}
